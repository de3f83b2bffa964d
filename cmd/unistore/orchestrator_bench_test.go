package main_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/unistore-bench/unistore/control"
)

// BenchmarkControlPlane measures what the control plane costs the results
// store: a 30 s measurement (2 s warm-up) with 2 worker processes at the
// default control timings, and the rows each control table took, counted
// by PostgreSQL itself (pg_stat_user_tables n_tup_ins + n_tup_upd on the
// store database, before and after). It also times the end: from the STOP
// event to the last worker's "worker: stopped" and to the run's exit.
// store-xacts counts every committed transaction on the store database,
// reads (the polls) included, per worker-minute.
// One iteration is one run:
//
//	UNISTORE_TEST_PG_DSN=… go test -run '^$' -bench ControlPlane -benchtime 1x ./cmd/unistore/
func BenchmarkControlPlane(b *testing.B) {
	const workers = 2
	for b.Loop() {
		f := newFixture(b)
		before := tableWrites(b, f.store)
		p := f.start(b, "run", f.template(b, tmpl{Warmup: "2s", Duration: "30s", DefaultControl: true}),
			"--workers", fmt.Sprint(workers), "--store", f.store, "--quiet")
		if code := p.wait(b, 2*time.Minute); code != 0 {
			b.Fatalf("run exited %d", code)
		}
		id := f.runID(b)
		run := f.getRun(b, id)
		// Backends flush their statistics when they end: wait until the
		// counts stop moving.
		var after map[string]int64
		eventually(b, 15*time.Second, "store statistics settled", func() bool {
			prev := after
			time.Sleep(500 * time.Millisecond)
			after = tableWrites(b, f.store)
			if prev == nil {
				return false
			}
			for k, v := range after {
				if k != "xact_commit" && prev[k] != v { // our own polls commit too
					return false
				}
			}
			return true
		})
		delta := func(table string) int64 { return after[table] - before[table] }
		minutes := run.EndedAt.Sub(run.StartedAt).Minutes()
		workerMinutes := workers * minutes

		var stopAt time.Time
		for _, e := range f.events(b, id) {
			if e.Kind == control.EventStop {
				stopAt = e.CreatedAt
			}
		}
		var lastWorker time.Time
		for _, l := range strings.Split(p.stderr(), "\n") {
			if m := workerStopped.FindStringSubmatch(l); m != nil {
				if at, err := time.Parse(time.RFC3339Nano, m[2]); err == nil && at.After(lastWorker) {
					lastWorker = at
				}
			}
		}
		b.ReportMetric(float64(delta("worker_heartbeats"))/workerMinutes, "heartbeats/worker-min")
		b.ReportMetric(float64(delta("run_status"))/minutes, "run_status-writes/min")
		b.ReportMetric(float64(delta("run_control_events")), "events/run")
		b.ReportMetric(float64(delta("worker_metrics_snapshots"))/workerMinutes, "snapshot-rows/worker-min")
		b.ReportMetric(float64(delta("xact_commit"))/workerMinutes, "store-xacts/worker-min")
		b.ReportMetric(float64(lastWorker.Sub(stopAt).Milliseconds()), "stop-to-last-worker-ms")
		b.ReportMetric(float64(p.exited.Sub(stopAt).Milliseconds()), "stop-to-run-exit-ms")
		b.Logf("run %s: %.2f min × %d workers; rows written: %v (before %v); STOP %s, last worker stopped %s, run exited %s",
			id, minutes, workers, after, before, stopAt.Format("15:04:05.000"), lastWorker.Format("15:04:05.000"),
			p.exited.UTC().Format("15:04:05.000"))
	}
}

var controlTables = regexp.MustCompile(`^(run_status|run_control_events|worker_heartbeats|worker_metrics_snapshots)$`)

// tableWrites returns n_tup_ins + n_tup_upd of the store's result tables.
func tableWrites(tb testing.TB, dsn string) map[string]int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT relname, n_tup_ins + n_tup_upd FROM pg_stat_user_tables WHERE schemaname = 'test_results'`)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			tb.Fatal(err)
		}
		if controlTables.MatchString(name) {
			out[name] = n
		}
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	// Every statement of the run's store connections, reads included (the
	// polls), and the few of this benchmark.
	var xacts int64
	if err := conn.QueryRow(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&xacts); err != nil {
		tb.Fatal(err)
	}
	out["xact_commit"] = xacts
	return out
}
