package worker

// This file changes the open-model rate of a running worker (SetRate).

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// ErrClosedLoop is SetRate's error on a closed-loop worker (Rate 0): it
// has no schedule to change.
var ErrClosedLoop = errors.New("worker: the worker runs a closed loop: no rate to set")

// SetRate changes the open-model rate of the worker to rate starts per
// second, live: the schedule goes on from its next start at the new
// period, so no start is lost or doubled at the change. It may be called
// before Run (the schedule then starts at rate). Starts still waiting in
// the backlog for a loop when the rate changes are dropped and counted
// skipped, so the queue an overload built does not slow the next rate's
// starts (find-max steps down after a breach). The backlog keeps the size
// the first rate gave it.
func (w *Worker) SetRate(rate float64) error {
	if w.cfg.Rate <= 0 {
		return ErrClosedLoop
	}
	if !(rate > 0) || math.IsInf(rate, 0) {
		return fmt.Errorf("worker: rate must be a positive number of starts per second, got %v", rate)
	}
	w.pacer.rates.set(rate)
	return nil
}

// rateBox hands the newest rate to the pacer's goroutine.
type rateBox struct {
	mu      sync.Mutex
	pending float64 // 0: none
	ch      chan struct{}
}

func (b *rateBox) wake() chan struct{} {
	if b.ch == nil {
		b.ch = make(chan struct{}, 1)
	}
	return b.ch
}

// changed is ready after set, until the pacer takes the rate.
func (b *rateBox) changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.wake()
}

func (b *rateBox) set(rate float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = rate
	select {
	case b.wake() <- struct{}{}:
	default:
	}
}

func (b *rateBox) take() (float64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.pending
	b.pending = 0
	return r, r > 0
}
