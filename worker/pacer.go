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
	// precise: wait for the last preciseWait before a start in a
	// nanosleep(2) instead of on a Go timer (see run). Set for an engine
	// whose loops sleep in the kernel (driver.KernelSleeper): real time
	// only, never on a test's virtual clock.
	precise bool
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
		for {
			now := time.Since(p.t0)
			// Every start due at or before now; due and the timer below
			// use the one rounding of at, so the timer never wakes to find
			// nothing due (a spin on a virtual clock).
			issued := false
			for ; at(base, n, period) <= now; n++ {
				due := at(base, n, period)
				p.intended.Add(1)
				issued = true
				select {
				case p.tokens <- due:
				default:
					p.skipped.Add(1)
				}
			}
			if issued && p.notify != nil {
				p.notify()
			}
			if r, ok := p.rates.take(); ok {
				base, n, period = at(base, n, period), 0, float64(time.Second)/r
				p.dropBacklog()
			}
			wait := at(base, n, period) - time.Since(p.t0)
			if !p.precise || wait > preciseWait {
				// Woken by a rate change, the timer may still be set:
				// Reset (Go 1.23 timers) delivers no stale tick either way.
				// A precise pacer wakes preciseWait early and sleeps the
				// rest below.
				if p.precise {
					wait -= preciseWait
				}
				timer.Reset(max(wait, 0))
				break
			}
			// A Go timer fires at the runtime's netpoller granularity,
			// 1 ms, when the process is otherwise idle — which it is on
			// the epoll engine, whose loops sleep in the kernel: every
			// start would be up to 1 ms late (measured: response time p50
			// 0.92 ms against 0.10 ms of service time at 30k starts/s).
			// nanosleep(2) wakes within the kernel's timer slack (50 µs),
			// so it sleeps at least preciseStep, that slack: a shorter
			// sleep buys no precision. Each wake costs a system call, an
			// Engine.Wake and the loops' wake-ups: at 30k starts/s on 8
			// connections, 18.2–18.5 µs of client CPU per query against
			// 9.0–9.8 on Go timers, for a response time p50 of 0.20 ms
			// against 0.90 (service time 0.10 ms); the goroutine engine
			// spent 20.2 µs for 0.13 ms.
			if wait > 0 {
				sleepPrecise(max(wait, preciseStep))
			}
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// preciseWait is how long before a start a precise pacer stops waiting on
// a Go timer and sleeps in nanosleep(2) instead.
const preciseWait = 2 * time.Millisecond

// preciseStep is the shortest sleep of a precise pacer, the kernel's
// default timer slack: starts due closer together go out in batches.
const preciseStep = 50 * time.Microsecond

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
