package cost

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/store"
)

// Writes counts a run's control-plane writes to its results store.
type Writes struct {
	RunStatus    int64 // RUN_STATUS inserts and updates
	Events       int64 // RUN_CONTROL_EVENTS appends
	Heartbeats   int64 // WORKER_HEARTBEATS upserts
	SnapshotRows int64 // WORKER_METRICS_SNAPSHOTS rows
	// HeartbeatsEstimated: some heartbeats were derived from the cadence,
	// those of EstimatedWorkers.
	HeartbeatsEstimated bool
	EstimatedWorkers    []string
}

// Total is the sum of the counts.
func (w Writes) Total() int64 { return w.RunStatus + w.Events + w.Heartbeats + w.SnapshotRows }

// DefaultAutoSuspend is a Snowflake warehouse's auto-suspend when SHOW
// WAREHOUSES could not tell it (Snowflake's default for a new warehouse).
const DefaultAutoSuspend = 600 * time.Second

// StoreWarehouse is what the control-plane model knows of the store's
// warehouse: the Snowflake store implements WarehouseSampler.
type StoreWarehouse interface {
	driver.WarehouseSampler
	// WarehouseName is the warehouse the store's sessions use.
	WarehouseName() string
}

// ControlPlaneModel describes the Snowflake store's control-plane credits.
const ControlPlaneModel = "keep-alive: control writes (≥ 1/s) keep the store's warehouse from suspending for the whole run, so the control plane costs one cluster of the store warehouse's size for the run's wall time plus its auto-suspend tail (60 s minimum); nothing extra when the store shares the target's warehouse, which the load keeps running anyway; hybrid-table requests themselves are not billed"

// ControlPlane turns w into the result's control-plane section. On a
// Snowflake store (scheme "snowflake") the credits follow
// ControlPlaneModel with the store's warehouse as sampled (wh; an unknown
// size is taken as X-Small and said so); other stores cost no credits.
func ControlPlane(w Writes, scheme string, workerMinutes float64, wh *driver.Warehouse, sharesTarget bool, wall time.Duration, price float64) core.ControlPlaneCost {
	c := core.ControlPlaneCost{Store: scheme, Writes: w.Total(), RunStatus: w.RunStatus, Events: w.Events,
		Heartbeats: w.Heartbeats, SnapshotRows: w.SnapshotRows, HeartbeatsEstimated: w.HeartbeatsEstimated,
		EstimatedWorkers: w.EstimatedWorkers, WorkerMinutes: round2(workerMinutes)}
	if workerMinutes > 0 {
		c.WritesPerWorkerMin = round2(float64(w.Total()) / workerMinutes)
	}
	if scheme != "snowflake" {
		return c
	}
	c.Model = ControlPlaneModel
	if sharesTarget {
		c.Model = "shares the target's warehouse: " + c.Model
		return c
	}
	size, tail := "X-Small", DefaultAutoSuspend
	if wh != nil {
		if _, ok := CreditsPerHour(wh.Size); ok {
			size = wh.Size
		}
		if wh.AutoSuspend > 0 {
			tail = wh.AutoSuspend
		}
	}
	rate, _ := CreditsPerHour(size)
	c.Credits = round(rate * billed(wall+tail) / 3600)
	c.Dollars = round(c.Credits * price)
	c.Model = fmt.Sprintf("%s (store warehouse %s, auto-suspend %s)", c.Model, size, tail)
	return c
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// Counter is a store.Store that counts the control-plane writes made
// through it, for the workers and orchestrator of this process. The
// optional store capabilities the run uses (store.ControlDefaulter) pass
// through.
type Counter struct {
	store.Store
	runStatus, events, heartbeats, snapshotRows atomic.Int64
}

// Count wraps st.
func Count(st store.Store) *Counter { return &Counter{Store: st} }

// Unwrap returns the wrapped store.
func (c *Counter) Unwrap() store.Store { return c.Store }

// Writes returns the counts so far.
func (c *Counter) Writes() Writes {
	return Writes{RunStatus: c.runStatus.Load(), Events: c.events.Load(), Heartbeats: c.heartbeats.Load(), SnapshotRows: c.snapshotRows.Load()}
}

// ControlDefaults implements store.ControlDefaulter with the wrapped
// store's (zero, i.e. core's defaults, if it has none).
func (c *Counter) ControlDefaults() core.ControlSpec {
	if d, ok := c.Store.(store.ControlDefaulter); ok {
		return d.ControlDefaults()
	}
	return core.ControlSpec{}
}

func (c *Counter) CreateRun(ctx context.Context, r store.Run) error {
	c.runStatus.Add(1)
	return c.Store.CreateRun(ctx, r)
}

func (c *Counter) UpdateRun(ctx context.Context, runID string, u store.RunUpdate) error {
	c.runStatus.Add(1)
	return c.Store.UpdateRun(ctx, runID, u)
}

func (c *Counter) AppendEvent(ctx context.Context, e store.Event) (store.Event, error) {
	c.events.Add(1)
	return c.Store.AppendEvent(ctx, e)
}

func (c *Counter) PutHeartbeat(ctx context.Context, h store.Heartbeat) error {
	c.heartbeats.Add(1)
	return c.Store.PutHeartbeat(ctx, h)
}

func (c *Counter) WriteSnapshots(ctx context.Context, rows []store.Snapshot) error {
	c.snapshotRows.Add(int64(len(rows)))
	return c.Store.WriteSnapshots(ctx, rows)
}

// WriteSnapshotBatch implements store.BatchWriter: the wrapped store's,
// or its plain WriteSnapshots when it has none (as a writer does).
func (c *Counter) WriteSnapshotBatch(ctx context.Context, batchID string, rows []store.Snapshot) error {
	c.snapshotRows.Add(int64(len(rows)))
	if bw, ok := c.Store.(store.BatchWriter); ok {
		return bw.WriteSnapshotBatch(ctx, batchID, rows)
	}
	return c.Store.WriteSnapshots(ctx, rows)
}

// WriteExecutionBatch implements store.BatchWriter (see
// WriteSnapshotBatch). Executions are data, not control-plane writes: not
// counted.
func (c *Counter) WriteExecutionBatch(ctx context.Context, batchID string, rows []store.Execution) error {
	if bw, ok := c.Store.(store.BatchWriter); ok {
		return bw.WriteExecutionBatch(ctx, batchID, rows)
	}
	return c.Store.WriteExecutions(ctx, rows)
}

// UpdateRunIf implements store.RunUpdaterIf: the wrapped store's
// compare-and-set, or a plain UpdateRun when it has none (what callers do
// without the capability).
func (c *Counter) UpdateRunIf(ctx context.Context, runID string, updatedAt time.Time, u store.RunUpdate) (bool, error) {
	c.runStatus.Add(1)
	if ui, ok := c.Store.(store.RunUpdaterIf); ok {
		return ui.UpdateRunIf(ctx, runID, updatedAt, u)
	}
	err := c.Store.UpdateRun(ctx, runID, u)
	return err == nil, err
}

var (
	_ store.Store            = (*Counter)(nil)
	_ store.ControlDefaulter = (*Counter)(nil)
	_ store.BatchWriter      = (*Counter)(nil)
	_ store.RunUpdaterIf     = (*Counter)(nil)
)
