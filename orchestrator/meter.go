package orchestrator

import (
	"time"

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
	// releases what it holds. It bounds its own time.
	Finish(res *core.Result)
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
