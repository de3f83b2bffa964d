package worker

// This file changes the number of loops of a running worker (SetTarget).

import (
	"context"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"
)

// Connections returns the number of active loops (one connection each):
// Config.Connections until SetTarget changes it. Loops still finishing
// their last operation after a shrink are not counted.
func (w *Worker) Connections() int {
	w.loopsMu.Lock()
	defer w.loopsMu.Unlock()
	return len(w.loops)
}

// SetTarget changes the number of loops of a running worker to n without
// stopping it or dropping a query in flight.
//
// To grow, it connects and prepares the new connections (on the caller's
// goroutine, at most 16 at a time) and starts one loop on each, with the
// next connection indexes; if one fails, it closes those it opened and
// returns the error, and the worker keeps its loops. To shrink, it asks
// the loops of the highest indexes to exit: each finishes the operation it
// is in (recorded as usual), closes its connection and exits, and
// SetTarget returns once all have exited. What they recorded is drained
// into the next interval. A loop added at an index used before gets a
// fresh connection and a fresh generator from the same seed, so it
// replays that index's parameter sequence from its start.
//
// It returns an error, changing nothing, if n < 1 or the worker is not
// running (ErrNotRunning: before Run started its loops, or once Run is
// stopping). Calls are serialized. ctx bounds the wait for an earlier
// call, the connecting and the wait for retiring loops; if it ends during
// that wait, the count is already n and the loops still exit on their own.
func (w *Worker) SetTarget(ctx context.Context, n int) error {
	if n < 1 {
		return fmt.Errorf("worker: target of %d connections: must be at least 1", n)
	}
	select {
	case w.scale <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	defer func() { <-w.scale }()

	w.loopsMu.Lock()
	if !w.running {
		w.loopsMu.Unlock()
		return ErrNotRunning
	}
	cur := len(w.loops)
	if n >= cur {
		w.loopsMu.Unlock()
		if n == cur {
			return nil
		}
		return w.grow(ctx, cur, n)
	}
	gone := slices.Clone(w.loops[n:])
	clear(w.loops[n:])
	w.loops = w.loops[:n]
	w.retired = append(w.retired, gone...)
	for _, l := range gone {
		close(l.quit)
	}
	w.loopsMu.Unlock()
	if w.engine != nil {
		w.engine.Wake() // retired connections idle on the engine
	}
	for _, l := range gone {
		select {
		case <-l.exited:
		case <-ctx.Done():
			return fmt.Errorf("worker: shrink to %d connections: %w", n, context.Cause(ctx))
		}
	}
	return nil
}

// grow connects loops from..to-1 and starts them in Run's group.
func (w *Worker) grow(ctx context.Context, from, to int) error {
	added := make([]*loop, to-from)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range added {
		g.Go(func() error {
			c, stmts, err := w.connect(gctx)
			if err != nil {
				return err
			}
			added[i] = &loop{idx: from + i, conn: c, stmts: stmts}
			return nil
		})
	}
	err := g.Wait()
	if err == nil {
		for _, l := range added {
			w.ready(l)
		}
		w.loopsMu.Lock()
		if w.running {
			w.loops = append(w.loops, added...)
			ctx := w.liveCtx
			for _, l := range added {
				w.live.Go(func() error { w.loop(ctx, l); return nil })
			}
		} else {
			err = ErrNotRunning
		}
		w.loopsMu.Unlock()
	}
	if err != nil {
		for _, l := range added {
			if l != nil {
				l.closeConn()
			}
		}
		return fmt.Errorf("worker: grow to %d connections: %w", to, err)
	}
	return nil
}
