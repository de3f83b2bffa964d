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
	h, err := Start(ctx, spec, opts...)
	if err != nil {
		return nil, err
	}
	return h.Wait()
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
