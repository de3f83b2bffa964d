package unistore

import (
	"context"

	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
)

// Run validates spec, checks the target (it connects once and prepares
// every statement), then runs the warm-up and measurement phases and
// returns the result. It blocks; every goroutine it starts has ended when
// it returns.
//
// A bad spec, an unknown driver, an unreachable target or a statement that
// fails to prepare is an error before any load, with a nil Result and no
// row in the store. Once load has started, failed queries are counted, not
// returned: Run returns a Result, and an error only if the run itself
// broke. Cancelling ctx stops the run promptly; the Result then has
// StatusCancelled and the figures measured until then.
//
// Run goes through the same orchestrator, control tables and worker path
// as a multi-worker run of the CLI, with spec.Workers in-process workers;
// without WithStore the tables live in memory for the run's length.
func Run(ctx context.Context, spec Spec, opts ...Option) (*Result, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	st := o.store
	if st == nil {
		st = store.NewMemory()
	}
	var launcher orchestrator.Launcher = orchestrator.InProcess{Store: st, Connector: o.connector, Workload: o.workload,
		Target: spec.Target.DSN, Logger: o.logger, Interval: o.interval, Writer: o.writer, FlushTimeout: o.flush}
	if o.launcher != nil {
		launcher = o.launcher
	}
	svc := &orchestrator.Service{Store: st, Launcher: launcher, Logger: o.logger}
	return start(ctx, svc, spec, o)
}

// start starts spec on svc and waits for its result.
func start(ctx context.Context, svc *orchestrator.Service, spec Spec, o options) (*Result, error) {
	r, err := svc.Start(ctx, spec, orchestrator.Options{Template: o.template, Connector: o.connector, DriverName: o.driver,
		Workload: o.workload, OnProgress: o.progress})
	if err != nil {
		return nil, err
	}
	return r.Wait()
}

// ResultFromStore recomputes a stored run's result from its snapshots:
// every worker's interval histograms merged exactly, per phase and
// operation. For a finished run whose rows were all stored it is identical
// to the Result the run returned; for a run in progress it is the rollup
// so far.
func ResultFromStore(ctx context.Context, st store.Store, runID string) (*Result, error) {
	return rollup.Result(ctx, st, runID)
}

// NewRunID returns a new run id (orchestrator.NewRunID).
func NewRunID() string { return orchestrator.NewRunID() }
