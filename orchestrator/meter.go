package orchestrator

import (
	"context"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/store"
)

// Meter watches a run beside the orchestrator — its cost and the target
// server's own view of it — never on a worker's loop. Options.Meter makes
// one per run; the root package's meter (packages cost and serverstats)
// is the implementation. Calls come from the run's goroutine, in order:
// Measure (when warm-up ends; not at all for a run without warm-up), then
// Finish once.
type Meter interface {
	// Measure marks the start of the measurement phase.
	Measure(at time.Time)
	// Finish is called once every worker has stopped, with the run's
	// rolled-up result: it adds its sections (Cost, Server) to res and
	// releases what it holds. ctx ends with the stop's window (the flush
	// timeout): a section it could not read by then says so.
	Finish(ctx context.Context, res *core.Result)
}

// MeterWorkerWrites is implemented by meters that count the workers' own
// control-plane writes. The orchestrator calls WorkerWrites once, just
// before Finish, with what it knows of them.
type MeterWorkerWrites interface {
	WorkerWrites(WorkerWrites)
}

// WorkerWrites is what the orchestrator knows at a run's end of its
// workers' own control-plane writes (heartbeats, snapshot rows).
type WorkerWrites struct {
	// Reported sums the writes that worker processes reported over their
	// local channels (WritesReporter).
	Reported control.Writes
	// Counted lists the workers whose writes are counted exactly: those
	// that reported them, and those that ran in this process
	// (InProcess), whose writes went through the orchestrator's own
	// store (the meter counts those there). Any other worker — started
	// elsewhere, or killed before it could report — wrote uncounted.
	Counted []string
}

// MeterRun is what a Meter is made for. The factory is called before any
// worker is launched (so a meter can read the server's counters before
// the first load statement) and may return nil: nothing to watch.
type MeterRun struct {
	RunID     string
	Spec      core.Spec
	Driver    string
	Connector driver.Connector
	Store     store.Store
}

// MeterHoldsSession reports whether a Meter holds a session of its own on
// the target for the whole run, given one of the target's connections:
// when they have server figures to read (driver.StatementStatser,
// driver.WarehouseSampler, driver.ServerHistory). The preflight counts
// that session in the connections a run needs (driver.Capacity), so a run
// that fits the server's limit exactly, meter included, is the largest
// one it lets start; a meter must close its session at once when this is
// false.
func MeterHoldsSession(conn driver.Conn) bool {
	switch conn.(type) {
	case driver.StatementStatser, driver.WarehouseSampler, driver.ServerHistory:
		return true
	}
	return false
}
