package orchestrator

// This file and inprocess.go are the places the orchestrator imports
// package worker (TestOnlyInProcessImportsWorker): the preflight is a
// worker's own connect-and-prepare, so it is the worker's function, called
// here, not a copy of it.

import (
	"context"
	"errors"
	"fmt"

	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/worker"
	"github.com/unistore-bench/unistore/workload"
)

// ErrCapacity is matched by Start's error when the target has fewer free
// connection slots than the run needs.
var ErrCapacity = errors.New("not enough connection slots")

// preflight connects once, prepares every statement under the worker's
// labels, lets the workload sample the target (worker.Preflight) and,
// where the server limits connections (driver.Capacity), refuses a run that
// needs more than are free.
func preflight(ctx context.Context, runID string, c driver.Connector, wl workload.Workload, workers, connections int) error {
	return worker.Preflight(ctx, runID, c, wl, func(ctx context.Context, conn driver.Conn) error {
		cp, ok := conn.(driver.Capacity)
		if !ok {
			return nil
		}
		s, err := cp.Capacity(ctx)
		if err != nil {
			return err
		}
		// This connection closes before the workers connect, so its slot is free.
		if need := workers * connections; need > s.Free() {
			return fmt.Errorf("%w: the run needs %d connections (%d workers × %d) but the target has %d free: "+
				"max_connections %d, %d reserved for superusers, %d in use", ErrCapacity,
				need, workers, connections, s.Free(), s.Max, s.Reserved, s.InUse)
		}
		return nil
	})
}
