package unistore_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/store"
)

// TestServerStatsPostgres: with pg_stat_statements in the target
// database, a run's server section has, per operation, the calls the
// server counted over the measurement, and they match the client's
// successful executions within the run's connections (a query in flight
// when the loops stop is the client's boundary, not the server's) — in
// every statement mode, since each sends the statements differently.
func TestServerStatsPostgres(t *testing.T) {
	modes := []string{"prepared", "extended", "simple"}
	if runtime.GOOS == "linux" {
		modes = append(modes, "raw")
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			dsn := pgTable(t, 1000)
			testpg.Exec(t, dsn, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
			spec := selectSpec(dsn+"&statement_mode="+mode, 1000)
			spec.Connections = 4
			spec.Warmup = 0 // the counters are read before the first load statement
			spec.Duration = core.Duration(1500 * time.Millisecond)
			spec.Workload.Operations = append(spec.Workload.Operations, unistore.OperationSpec{
				Name: "hit", Weight: f64(1), SQL: "INSERT INTO hits (v) VALUES (?)",
				Params: []unistore.ParamSpec{{Gen: "uniform", Min: i64(1), Max: i64(9)}}})
			spec.Workload.Operations[0].Weight = f64(3)
			base := runtime.NumGoroutine()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			res, err := unistore.Run(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			s := res.Server
			if s == nil || s.Source != "pg_stat_statements" || s.Status != core.EnrichCompleted {
				t.Fatalf("server section %+v", s)
			}
			for _, name := range []string{"select", "hit"} {
				op, c := s.Operations[name], res.Operations[name]
				ok := c.Count - c.Errors
				if ok == 0 || op.ClientCalls != ok {
					t.Fatalf("%s: client calls %d, result %d", name, op.ClientCalls, ok)
				}
				if d := op.Calls - ok; d < -int64(spec.Connections) || d > int64(spec.Connections) {
					t.Errorf("%s: server calls %d, client %d: differ by %d, more than the %d connections", name, op.Calls, ok, d, spec.Connections)
				}
				if op.MeanMS <= 0 || op.MaxMS < op.MeanMS {
					t.Errorf("%s: server mean %v ms, max %v ms", name, op.MeanMS, op.MaxMS)
				}
				t.Logf("%s mode %s: server calls %d, client %d (diff %+d); server mean %.3f ms, client mean %.3f ms: app overhead %.3f ms",
					mode, name, op.Calls, ok, op.CallsDiff, op.MeanMS, op.ClientMeanMS, op.AppOverheadMeanMS)
			}
			cp := res.Cost.ControlPlane
			if res.Cost.Source != "none" || cp.Heartbeats == 0 || cp.HeartbeatsEstimated || cp.RunStatus < 3 || cp.Events < 2 || cp.SnapshotRows == 0 ||
				cp.Writes != cp.RunStatus+cp.Events+cp.Heartbeats+cp.SnapshotRows || cp.Credits != 0 {
				t.Errorf("cost %+v", res.Cost)
			}
			checkNoLeak(t, base)
		})
	}
}

// TestServerStatsSkipped: without the extension the section says
// SKIPPED and why; the run is unaffected.
func TestServerStatsSkipped(t *testing.T) {
	dsn := pgTable(t, 100)
	testpg.Exec(t, dsn, `DROP EXTENSION IF EXISTS pg_stat_statements`)
	spec := selectSpec(dsn, 100)
	spec.Warmup = 0
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st := store.NewMemory()
	res, err := unistore.Run(ctx, spec, unistore.WithStore(st))
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Server; s == nil || s.Status != core.EnrichSkipped || s.Reason == "" || res.Total.Count == 0 {
		t.Fatalf("server %+v, total %+v", s, res.Total)
	}
	// Nothing to enrich later on PostgreSQL: SKIPPED, stored.
	if _, err := unistore.Enrich(ctx, st, res.RunID, ""); err != nil {
		t.Fatal(err)
	}
	shown, err := unistore.Show(ctx, st, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if e := shown.Cost.Enrichment; e == nil || e.Status != core.EnrichSkipped || e.Reason == "" {
		t.Errorf("enrichment %+v", e)
	}
}
