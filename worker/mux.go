package worker

// This file drives loops on a driver's engine (driver.Multiplexer): the
// loop's goroutine hands its connection to the engine and sleeps until the
// engine hands it back; meanwhile the engine's event loops call the loop's
// handler, which runs the same steps as once.

import (
	"context"
	"errors"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// serve runs loop l on the engine until the run stops or the loop is
// retired (true), reconnecting when the connection breaks; false if the
// engine cannot drive this connection, which then runs in the loop's own
// goroutine.
func (w *Worker) serve(ctx context.Context, l *loop) bool {
	h := &muxLoop{w: w, l: l, ctx: ctx, open: w.cfg.Rate > 0}
	for {
		h.broken = false
		err := w.engine.Serve(ctx, l.conn, h)
		switch {
		case errors.Is(err, driver.ErrNotMultiplexed):
			return false
		case w.stopped.Load() || l.retiring() || ctx.Err() != nil:
			return true
		case err == nil && !h.broken:
			return true // released for no reason of ours: not expected
		}
		// The connection broke (the failed execution was recorded) or
		// could not be handed over: replace it, as once does.
		if !w.reconnect(ctx, l) {
			return true
		}
	}
}

// muxLoop is loop l's driver.Handler while the engine serves its
// connection. Its methods run on an engine event loop, one at a time,
// while l's goroutine waits in Serve: they own l as that goroutine would.
type muxLoop struct {
	w    *Worker
	l    *loop
	ctx  context.Context
	open bool
	// The execution in flight.
	op              int
	start, intended time.Duration
	broken          bool // an execution failed with a connection error
}

var _ driver.Handler = (*muxLoop)(nil)

// Next implements driver.Handler: release the connection when the run
// stops, the loop is retired or the connection broke; in the open model,
// wait (Idle) until the pacer has a start; else begin the next operation.
func (h *muxLoop) Next() (driver.Stmt, []core.Value, driver.Step) {
	w, l := h.w, h.l
	if h.broken || w.stopped.Load() || l.retiring() || h.ctx.Err() != nil {
		return nil, nil, driver.Release
	}
	intended := closedLoop
	if h.open {
		select {
		case intended = <-w.pacer.tokens:
		default:
			return nil, nil, driver.Idle
		}
	}
	h.op, h.start, h.intended = w.begin(l, intended)
	return l.stmts[h.op], l.args, driver.Run
}

// Done implements driver.Handler: record the execution, as once does.
func (h *muxLoop) Done(rows int64, err error) {
	end := time.Since(h.w.started)
	if h.w.stopped.Load() {
		return // in flight at the stop: not counted
	}
	if h.w.record(h.l, h.op, h.start, end, h.intended, rows, err) == core.ErrConnection {
		h.broken = true
	}
}
