package worker

import (
	"context"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// PhasePrepare labels the statements a worker runs before the load: the
// describe-only checks of Prepare and the workload's key sampling.
const PhasePrepare = core.PhasePrepare

// labels holds the contexts under which a Labeler connection's statements
// carry their label (a Snowflake query tag): one per operation for each
// load phase. They are made when the loop gets its connection, never per
// query, so labelling costs the hot path one slice index.
type labels struct {
	warmup, measurement []context.Context
}

// label returns the context Labeler c tags with (run, worker, phase, op),
// or ctx itself when c does not label statements.
func (w *Worker) label(ctx context.Context, c driver.Conn, phase core.Phase, op string) context.Context {
	lb, ok := c.(driver.Labeler)
	if !ok {
		return ctx
	}
	return lb.Label(ctx, driver.Label{Run: w.cfg.RunID, Worker: w.cfg.WorkerID, Phase: phase, Operation: op})
}

// labelLoop gives loop l the labelled contexts of its connection, derived
// from the loop's ctx, or none when the connection does not label.
func (w *Worker) labelLoop(ctx context.Context, l *loop) {
	l.labels = nil
	if _, ok := l.conn.(driver.Labeler); !ok {
		return
	}
	lb := &labels{warmup: make([]context.Context, len(w.names)), measurement: make([]context.Context, len(w.names))}
	for i, name := range w.names {
		lb.warmup[i] = w.label(ctx, l.conn, core.PhaseWarmup, name)
		lb.measurement[i] = w.label(ctx, l.conn, core.PhaseMeasurement, name)
	}
	l.labels = lb
}

// execContext is the context operation op runs under: ctx, or its label's.
func (w *Worker) execContext(ctx context.Context, l *loop, op int) context.Context {
	if l.labels == nil {
		return ctx
	}
	// The recorder's phase, not the worker's: a cut retags each loop's
	// recorder before the worker's phase changes, and the server's tag
	// must name the phase the client counts the statement in.
	if l.rec.Phase() == core.PhaseWarmup {
		return l.labels.warmup[op]
	}
	return l.labels.measurement[op]
}
