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
