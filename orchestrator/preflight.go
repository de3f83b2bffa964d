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
// needs more than are free: the workers' connections, plus the meter's
// session when the run has a meter that holds one (MeterHoldsSession).
func preflight(ctx context.Context, runID string, c driver.Connector, wl workload.Workload, workers, connections int, meter bool) error {
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
		need, what := workers*connections, fmt.Sprintf("%d workers × %d", workers, connections)
		if meter && MeterHoldsSession(conn) {
			need++
			what += ", plus 1 for the run's meter: its own session reads the server's figures"
		}
		if need > s.Free() {
			return fmt.Errorf("%w: the run needs %d connections (%s) but the target has %d free: "+
				"max_connections %d, %d reserved for superusers, %d in use", ErrCapacity,
				need, what, s.Free(), s.Max, s.Reserved, s.InUse)
		}
		return nil
	})
}
