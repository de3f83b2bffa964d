package worker_test

// The worker on a real PostgreSQL, on the postgres driver's epoll engine
// and on goroutines: counts the server agrees with, stop promptness,
// reconnects, the open model, and no goroutine left behind.

import (
	"runtime"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/driver/postgres"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/worker"
	"github.com/unistore-bench/unistore/workload"
)

// pgEngines are the postgres engines this platform has.
func pgEngines() []string {
	if runtime.GOOS == "linux" {
		return []string{string(postgres.EngineEpoll), string(postgres.EngineGoroutine)}
	}
	return []string{string(postgres.EngineGoroutine)}
}

// pgConnector opens a connector on dsn with engine and checks it is the
// one that runs.
func pgConnector(t *testing.T, dsn, engine string, params ...string) driver.Connector {
	t.Helper()
	target := dsn + "&engine=" + engine
	for _, p := range params {
		target += "&" + p
	}
	_, c, err := driver.Open("", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if got := c.(driver.Describer).Settings()["engine"]; got != engine {
		t.Fatalf("engine %q runs, want %q", got, engine)
	}
	return c
}

func pgWorkload(t *testing.T, sql string, params ...core.ParamSpec) workload.Workload {
	t.Helper()
	wl, err := workload.Compile(core.WorkloadSpec{Operations: []core.OperationSpec{{Name: "op", SQL: sql, Params: params}}})
	if err != nil {
		t.Fatal(err)
	}
	return wl
}

func uniform(lo, hi int64) core.ParamSpec { return core.ParamSpec{Gen: "uniform", Min: &lo, Max: &hi} }

// noLeaks fails the test if the process has more goroutines than before
// (baseline) once they have had 2 s to end.
func noLeaks(t *testing.T, baseline int) {
	t.Helper()
	var n int
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if n = runtime.NumGoroutine(); n <= baseline || time.Now().After(deadline) {
			break
		}
	}
	if n > baseline {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("%d goroutines after the run, %d before:\n%s", n, baseline, buf)
	}
}

// TestPostgresStatementCalls: what the worker counts is what the server
// ran. pg_stat_statements' calls for the workload's statement equal the
// worker's warm-up and measurement counts plus the executions in flight
// at the stop (not counted by the worker, at most one per connection).
func TestPostgresStatementCalls(t *testing.T) {
	for _, engine := range pgEngines() {
		t.Run(engine, func(t *testing.T) {
			dsn := testpg.NewDatabase(t)
			testpg.Exec(t, dsn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
				"CREATE TABLE calls_kv (k int PRIMARY KEY, v int)",
				"INSERT INTO calls_kv SELECT g, g FROM generate_series(1, 1000) g")
			conn := pgConnector(t, dsn, engine)
			const conns = 8
			baseline := runtime.NumGoroutine()
			tot, _, _ := run(t, worker.Config{Connections: conns, Seed: 1, Connector: conn,
				Workload: pgWorkload(t, "SELECT v FROM calls_kv WHERE k = ?", uniform(1, 1000))},
				300*time.Millisecond, 700*time.Millisecond)
			conn.Close()
			noLeaks(t, baseline)
			warm, meas := tot[core.PhaseWarmup], tot[core.PhaseMeasurement]
			if warm.Count() == 0 || meas.Count() == 0 {
				t.Fatalf("counted %d warm-up and %d measured executions, want some of each", warm.Count(), meas.Count())
			}
			if e := warm.Ops[0].Errors.Total() + meas.Ops[0].Errors.Total(); e != 0 {
				t.Fatalf("%d executions failed", e)
			}
			calls := testpg.QueryInt(t, dsn, `SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
				WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE '%FROM calls_kv WHERE k = $1%'`)
			counted := warm.Count() + meas.Count()
			if calls < counted || calls > counted+conns {
				t.Errorf("pg_stat_statements calls %d, worker counted %d (+ up to %d in flight): they disagree", calls, counted, conns)
			}
			t.Logf("%s: counted %d + %d, server calls %d", engine, warm.Count(), meas.Count(), calls)
		})
	}
}

// TestPostgresStopPromptness: a run stopped while every connection is in a
// 10 s statement ends within a couple of seconds (the cancel requests end
// the statements), counts none of them, and leaves no session behind.
func TestPostgresStopPromptness(t *testing.T) {
	for _, engine := range pgEngines() {
		t.Run(engine, func(t *testing.T) {
			dsn := testpg.NewDatabase(t)
			const app = "unistore_worker_stop_test"
			conn := pgConnector(t, dsn, engine, "application_name="+app)
			baseline := runtime.NumGoroutine()
			w, stop := started(t, worker.Config{Connections: 4, Seed: 1, Connector: conn,
				Workload: pgWorkload(t, "SELECT pg_sleep(10)")}, core.PhaseMeasurement)
			time.Sleep(300 * time.Millisecond) // the statements reach the server
			begin := time.Now()
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(begin); d > 3*time.Second {
				t.Errorf("Run took %v to stop, want a prompt stop", d)
			}
			tot, _, _ := w.Totals()
			if n := tot[core.PhaseMeasurement].Count(); n != 0 {
				t.Errorf("counted %d executions cut by the stop, want 0", n)
			}
			conn.Close()
			noLeaks(t, baseline)
			var left int64
			for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				left = testpg.QueryInt(t, dsn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app)
				if left == 0 || time.Now().After(deadline) {
					break
				}
			}
			if left != 0 {
				t.Errorf("%d sessions left after the run", left)
			}
		})
	}
}

// TestPostgresReconnect: sessions killed by the server
// (pg_terminate_backend) are counted as connection errors and replaced; the
// run goes on with as many connections as before.
func TestPostgresReconnect(t *testing.T) {
	for _, engine := range pgEngines() {
		t.Run(engine, func(t *testing.T) {
			dsn := testpg.NewDatabase(t)
			testpg.Exec(t, dsn, "CREATE TABLE re_kv (k int PRIMARY KEY, v int)",
				"INSERT INTO re_kv SELECT g, g FROM generate_series(1, 100) g")
			const app = "unistore_worker_reconnect_test"
			conn := pgConnector(t, dsn, engine, "application_name="+app)
			baseline := runtime.NumGoroutine()
			w, stop := started(t, worker.Config{Connections: 4, Seed: 1, Connector: conn,
				Workload: pgWorkload(t, "SELECT v FROM re_kv WHERE k = ?", uniform(1, 100))}, core.PhaseMeasurement)
			time.Sleep(200 * time.Millisecond)
			killed := testpg.QueryInt(t, dsn, "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) x", app)
			if killed != 4 {
				t.Errorf("terminated %d sessions, want 4", killed)
			}
			var sessions int64
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				sessions = testpg.QueryInt(t, dsn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app)
				if (sessions == 4 && w.Reconnects() >= 4) || time.Now().After(deadline) {
					break
				}
			}
			if sessions != 4 || w.Reconnects() < 4 {
				t.Errorf("%d sessions and %d reconnects after killing 4, want 4 and at least 4", sessions, w.Reconnects())
			}
			before := snapshotCount(w)
			time.Sleep(300 * time.Millisecond)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			tot, _, _ := w.Totals()
			m := tot[core.PhaseMeasurement]
			if m.Count() <= before {
				t.Errorf("no execution after the reconnects (%d before, %d at the end)", before, m.Count())
			}
			errs := m.Ops[0].Errors
			if errs[core.ErrConnection] < 1 || errs.Total() != errs[core.ErrConnection] {
				t.Errorf("errors %v, want connection errors only (at least one)", errs)
			}
			conn.Close()
			noLeaks(t, baseline)
		})
	}
}

// snapshotCount is the measurement count so far.
func snapshotCount(w *worker.Worker) int64 {
	tot, _, _ := w.Totals()
	if m := tot[core.PhaseMeasurement]; m != nil {
		return m.Count()
	}
	return 0
}

// TestPostgresOpenModel: at 400/s on 4 connections every start runs, and
// the server ran each once.
func TestPostgresOpenModel(t *testing.T) {
	for _, engine := range pgEngines() {
		t.Run(engine, func(t *testing.T) {
			dsn := testpg.NewDatabase(t)
			testpg.Exec(t, dsn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
				"CREATE TABLE open_kv (k int PRIMARY KEY, v int)",
				"INSERT INTO open_kv SELECT g, g FROM generate_series(1, 100) g")
			conn := pgConnector(t, dsn, engine)
			baseline := runtime.NumGoroutine()
			tot, _, _ := run(t, worker.Config{Connections: 4, Rate: 400, Seed: 1, Connector: conn,
				Workload: pgWorkload(t, "SELECT v FROM open_kv WHERE k = ?", uniform(1, 100))},
				100*time.Millisecond, time.Second)
			conn.Close()
			noLeaks(t, baseline)
			m := tot[core.PhaseMeasurement]
			if m.Open.Intended < 300 || m.Open.Skipped != 0 || m.Open.Started < m.Open.Intended-4 {
				t.Errorf("intended %d, started %d, skipped %d: want about 400 intended, all started", m.Open.Intended, m.Open.Started, m.Open.Skipped)
			}
			if m.Count() < m.Open.Started-4 || m.Ops[0].Errors.Total() != 0 {
				t.Errorf("executed %d with errors %v for %d starts", m.Count(), m.Ops[0].Errors, m.Open.Started)
			}
			// Lateness is not checked: on a shared 2-core machine under the
			// race detector a start is often late on either engine.
			calls := testpg.QueryInt(t, dsn, `SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
				WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE '%FROM open_kv WHERE k = $1%'`)
			counted := tot[core.PhaseWarmup].Count() + m.Count()
			if calls < counted || calls > counted+4 {
				t.Errorf("pg_stat_statements calls %d, worker counted %d", calls, counted)
			}
		})
	}
}

// TestPostgresAutoEngine: under engine=auto the worker tells the connector
// its plan before connecting: one event loop keeps epoll for
// AutoEpollConnsPerLoop connections and gives way to goroutines past them;
// either way the run's statements succeed.
func TestPostgresAutoEngine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the epoll engine is Linux only")
	}
	dsn := testpg.NewDatabase(t)
	testpg.Exec(t, dsn, "CREATE TABLE auto_kv (k int PRIMARY KEY, v int)", "INSERT INTO auto_kv SELECT g, g FROM generate_series(1, 100) g")
	per := postgres.AutoEpollConnsPerLoop
	for _, tc := range []struct {
		conns int
		want  postgres.Engine
	}{{per, postgres.EngineEpoll}, {per + 1, postgres.EngineGoroutine}} {
		_, c, err := driver.Open("", dsn+"&engine_loops=1")
		if err != nil {
			t.Fatal(err)
		}
		tot, _, _ := run(t, worker.Config{Connections: tc.conns, Seed: 1, Connector: c,
			Workload: pgWorkload(t, "SELECT v FROM auto_kv WHERE k = ?", uniform(1, 100))}, 50*time.Millisecond, 200*time.Millisecond)
		if got := c.(driver.Describer).Settings()["engine"]; got != string(tc.want) {
			t.Errorf("%d connections on one loop: engine %q ran, want %q", tc.conns, got, tc.want)
		}
		meas := tot[core.PhaseMeasurement]
		if meas.Count() == 0 || meas.Ops[0].Errors.Total() != 0 {
			t.Errorf("%d connections: %d measured, %d failed", tc.conns, meas.Count(), meas.Ops[0].Errors.Total())
		}
		c.Close()
	}
}
