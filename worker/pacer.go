package worker

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// pacer issues open-model starts on a fixed schedule, apart from the loops:
// start n is due at t0 + n/rate whether or not a loop is free. A due start
// waits in a bounded backlog (the tokens channel, carrying its intended
// time) for a free loop; one due while the backlog is full is skipped and
// counted. Loops measure response time from the intended time, so a stall
// shows in full (no coordinated omission).
type pacer struct {
	rate     float64
	t0       time.Time
	tokens   chan time.Duration // intended start, as an offset from t0
	intended atomic.Int64       // since the last drain
	skipped  atomic.Int64
	// notify, if set, is called after each batch of due starts (the
	// engine's Wake, for its idle connections).
	notify func()
	// rate changes, live (SetRate): the newest one wins.
	rates rateBox
}

func (p *pacer) init(rate float64, t0 time.Time) {
	backlog := int(math.Min(MaxBacklog, math.Max(1024, rate*10)))
	p.rate, p.t0, p.tokens = rate, t0, make(chan time.Duration, backlog)
}

// drain returns the counts since the last drain.
func (p *pacer) drain() (intended, skipped int64) {
	return p.intended.Swap(0), p.skipped.Swap(0)
}

func (p *pacer) run(ctx context.Context) {
	period := float64(time.Second) / p.rate
	// Start n of the current rate is due at base + n·period: a new rate
	// begins where the old schedule's next start was (rate.go).
	var base time.Duration
	var n int64 // starts issued at the current rate
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-p.rates.changed():
		}
		now := time.Since(p.t0)
		// Every start due at or before now; due and the timer below use
		// the one rounding of at, so the timer never wakes to find
		// nothing due (a spin on a virtual clock).
		for ; at(base, n, period) <= now; n++ {
			due := at(base, n, period)
			p.intended.Add(1)
			select {
			case p.tokens <- due:
			default:
				p.skipped.Add(1)
			}
		}
		if p.notify != nil {
			p.notify()
		}
		if r, ok := p.rates.take(); ok {
			base, n, period = at(base, n, period), 0, float64(time.Second)/r
			p.dropBacklog()
		}
		next := at(base, n, period)
		// Woken by a rate change, the timer may still be set: Reset (Go
		// 1.23 timers) delivers no stale tick either way.
		timer.Reset(max(next-time.Since(p.t0), 0))
	}
}

// at is when start n of a schedule beginning at base is due.
func at(base time.Duration, n int64, period float64) time.Duration {
	return base + time.Duration(float64(n)*period)
}

// dropBacklog drops the starts still waiting for a loop, counting them
// skipped: a new rate starts with an empty backlog, so the queue one rate
// built (an overload) does not slow the next rate's starts.
func (p *pacer) dropBacklog() {
	for {
		select {
		case <-p.tokens:
			p.skipped.Add(1)
		default:
			return
		}
	}
}
