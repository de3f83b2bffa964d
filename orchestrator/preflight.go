package orchestrator

// This file and inprocess.go are the places the orchestrator imports
// package worker (TestOnlyInProcessImportsWorker): the preflight is a
// worker's own connect-and-prepare, so it is the worker's function, called
// here, not a copy of it.

import (
	"context"

	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/worker"
	"github.com/unistore-bench/unistore/workload"
)

// preflight connects once, prepares every statement under the worker's
// labels and lets the workload sample the target (worker.Preflight).
func preflight(ctx context.Context, runID string, c driver.Connector, wl workload.Workload) error {
	return worker.Preflight(ctx, runID, c, wl)
}
