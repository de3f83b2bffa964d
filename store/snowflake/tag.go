package snowflake

// Query tags naming the run and the kind of each store statement, so
// that a run's control-plane traffic can be counted (and costed) from
// QUERY_HISTORY / AGGREGATE_QUERY_HISTORY, or the emulator's log:
// "unistore:store:run=RUN_ID:op=KIND". Statements not about one run
// (templates, listing runs) carry the bare QueryTag.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/store"
)

type tagKey struct{}

// Kinds of store statements in a run's tag.
const (
	OpCreateRun      = "create_run"
	OpUpdateRun      = "update_run"
	OpGetRun         = "get_run"
	OpAppendEvent    = "append_event"
	OpEventsSince    = "events_since"
	OpPutHeartbeat   = "put_heartbeat"
	OpListHeartbeats = "list_heartbeats"
	OpWriteSnapshots = "write_snapshots"
	OpReadSnapshots  = "read_snapshots"
	OpWriteExecs     = "write_executions"
	OpReadExecs      = "read_executions"
)

// RunTag is the query tag of the store's statements of kind op for run.
func RunTag(runID, op string) string { return QueryTag + ":run=" + runID + ":op=" + op }

func withRun(ctx context.Context, runID, op string) context.Context {
	return context.WithValue(ctx, tagKey{}, RunTag(runID, op))
}

// tagged returns ctx carrying the store's query tag: the run's, if the
// statement is about one run, else QueryTag.
func tagged(ctx context.Context) context.Context {
	if t, ok := ctx.Value(tagKey{}).(string); ok {
		return gosnowflake.WithQueryTag(ctx, t)
	}
	return gosnowflake.WithQueryTag(ctx, QueryTag)
}

func (s *Store) CreateRun(ctx context.Context, r store.Run) error {
	return s.Store.CreateRun(withRun(ctx, r.ID, OpCreateRun), r)
}

func (s *Store) UpdateRun(ctx context.Context, runID string, u store.RunUpdate) error {
	return s.Store.UpdateRun(withRun(ctx, runID, OpUpdateRun), runID, u)
}

func (s *Store) GetRun(ctx context.Context, runID string) (store.Run, error) {
	return s.Store.GetRun(withRun(ctx, runID, OpGetRun), runID)
}

func (s *Store) AppendEvent(ctx context.Context, e store.Event) (store.Event, error) {
	return s.Store.AppendEvent(withRun(ctx, e.RunID, OpAppendEvent), e)
}

func (s *Store) EventsSince(ctx context.Context, runID string, afterSeq int64) ([]store.Event, error) {
	return s.Store.EventsSince(withRun(ctx, runID, OpEventsSince), runID, afterSeq)
}

func (s *Store) PutHeartbeat(ctx context.Context, h store.Heartbeat) error {
	return s.Store.PutHeartbeat(withRun(ctx, h.RunID, OpPutHeartbeat), h)
}

func (s *Store) ListHeartbeats(ctx context.Context, runID string) ([]store.Heartbeat, error) {
	return s.Store.ListHeartbeats(withRun(ctx, runID, OpListHeartbeats), runID)
}

func (s *Store) WriteSnapshots(ctx context.Context, rows []store.Snapshot) error {
	if len(rows) > 0 {
		ctx = withRun(ctx, rows[0].RunID, OpWriteSnapshots)
	}
	return s.Store.WriteSnapshots(ctx, rows)
}

func (s *Store) Snapshots(ctx context.Context, runID string) ([]store.Snapshot, error) {
	return s.Store.Snapshots(withRun(ctx, runID, OpReadSnapshots), runID)
}

func (s *Store) SnapshotsSince(ctx context.Context, runID string, since time.Time) ([]store.Snapshot, error) {
	return s.Store.SnapshotsSince(withRun(ctx, runID, OpReadSnapshots), runID, since)
}

func (s *Store) WriteExecutions(ctx context.Context, rows []store.Execution) error {
	if len(rows) > 0 {
		ctx = withRun(ctx, rows[0].RunID, OpWriteExecs)
	}
	return s.Store.WriteExecutions(ctx, rows)
}

func (s *Store) CountExecutions(ctx context.Context, runID string) (int64, error) {
	return s.Store.CountExecutions(withRun(ctx, runID, OpReadExecs), runID)
}

func (s *Store) Executions(ctx context.Context, f store.ExecutionFilter) ([]store.Execution, error) {
	return s.Store.Executions(withRun(ctx, f.RunID, OpReadExecs), f)
}

// WarehouseName returns the warehouse the store's sessions use.
func (s *Store) WarehouseName() string { return s.warehouse }

var _ driver.WarehouseSampler = (*Store)(nil)

// SampleWarehouse reads the store's warehouse with SHOW WAREHOUSES (for
// the control plane's cost): size, started clusters, auto-suspend.
func (s *Store) SampleWarehouse(ctx context.Context) (driver.Warehouse, error) {
	if s.warehouse == "" {
		return driver.Warehouse{}, fmt.Errorf("store: the store DSN names no warehouse")
	}
	rows, err := s.db.QueryContext(gosnowflake.WithQueryTag(ctx, QueryTag+":cost"), "SHOW WAREHOUSES LIKE '"+strings.ReplaceAll(s.warehouse, "'", "''")+"'")
	if err != nil {
		return driver.Warehouse{}, fmt.Errorf("store: show warehouses: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return driver.Warehouse{}, err
	}
	vals := make([]any, len(cols))
	strs := make([]*string, len(cols))
	for i := range vals {
		vals[i] = &strs[i]
	}
	if !rows.Next() {
		return driver.Warehouse{}, fmt.Errorf("store: show warehouses: warehouse %s not visible to this role", s.warehouse)
	}
	if err := rows.Scan(vals...); err != nil {
		return driver.Warehouse{}, fmt.Errorf("store: show warehouses: %w", err)
	}
	get := func(name string) string {
		for i, c := range cols {
			if strings.EqualFold(c, name) && strs[i] != nil {
				return *strs[i]
			}
		}
		return ""
	}
	w := driver.Warehouse{Name: get("name"), Size: get("size")}
	w.Running, _ = strconv.Atoi(get("started_clusters"))
	w.MaxClusters, _ = strconv.Atoi(get("max_cluster_count"))
	if sec, err := strconv.Atoi(get("auto_suspend")); err == nil {
		w.AutoSuspend = time.Duration(sec) * time.Second
	}
	return w, rows.Err()
}
