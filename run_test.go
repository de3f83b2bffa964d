package unistore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	_ "github.com/unistore-bench/unistore/driver/postgres"
	_ "github.com/unistore-bench/unistore/driver/sqlite"
	"github.com/unistore-bench/unistore/examples"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/store"
)

func i64(v int64) *int64 { return &v }

// pgTable makes a fresh database with a table t(id, v) of n rows and an
// empty hits(id bigserial, v) and returns its DSN.
func pgTable(t *testing.T, n int) string {
	t.Helper()
	dsn := testpg.NewDatabase(t)
	testpg.Exec(t, dsn,
		`CREATE TABLE t (id bigint PRIMARY KEY, v bigint NOT NULL)`,
		fmt.Sprintf(`INSERT INTO t SELECT g, g * 7 FROM generate_series(1, %d) g`, n),
		`CREATE TABLE hits (id bigserial PRIMARY KEY, v bigint NOT NULL)`,
		`ANALYZE t`)
	return dsn
}

func selectSpec(dsn string, n int64) unistore.Spec {
	return unistore.Spec{
		Name:        "select",
		Target:      unistore.Target{DSN: dsn},
		Connections: 2,
		Warmup:      core.Duration(300 * time.Millisecond),
		Duration:    core.Duration(time.Second),
		Seed:        1,
		Workload: unistore.WorkloadSpec{Operations: []unistore.OperationSpec{{
			Name: "select", SQL: "SELECT v FROM t WHERE id = ?",
			Params: []unistore.ParamSpec{{Gen: "uniform", Min: i64(1), Max: i64(n)}},
		}}},
	}
}

// checkNoLeak fails if goroutines started after base outlive the run. There
// is no signal for a goroutine's exit, so it polls, bounded.
func checkNoLeak(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after the run, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPostgresHoldsExactlyNConnections(t *testing.T) {
	dsn := pgTable(t, 1000)
	const n = 5
	app := "unistore_conn_test"
	spec := selectSpec(dsn+"&application_name="+app, 1000)
	if !strings.Contains(dsn, "?") {
		spec.Target.DSN = dsn + "?application_name=" + app
	}
	spec.Connections = n
	spec.Duration = core.Duration(2 * time.Second)
	var once sync.Once
	seen := make(chan int64, 1)
	_, err := unistore.Run(context.Background(), spec, unistore.WithInterval(200*time.Millisecond),
		unistore.WithProgress(func(p unistore.Progress) {
			if p.Phase != core.PhaseMeasurement {
				return
			}
			once.Do(func() {
				seen <- testpg.QueryInt(t, testpg.DSN(t), `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app)
			})
		}))
	if err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != n {
		t.Errorf("server-side connections during measurement = %d, want %d", got, n)
	}
	if got := testpg.QueryInt(t, testpg.DSN(t), `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app); got != 0 {
		t.Errorf("%d connections left open after the run", got)
	}
}

// TestWarmupExcluded: the server's own count of executions (rows inserted)
// equals warm-up + measurement, allowing for the queries in flight at the
// stop, which are executed but not counted.
func TestWarmupExcluded(t *testing.T) {
	dsn := pgTable(t, 10)
	spec := selectSpec(dsn, 10)
	spec.Connections = 3
	spec.Warmup = core.Duration(700 * time.Millisecond)
	spec.Workload.Operations = []unistore.OperationSpec{{
		Name: "hit", SQL: "INSERT INTO hits (v) VALUES (?)",
		Params: []unistore.ParamSpec{{Gen: "uniform", Min: i64(1), Max: i64(100)}},
	}}
	res, err := unistore.Run(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	server := testpg.QueryInt(t, dsn, `SELECT count(*) FROM hits`)
	counted := res.Warmup.Count + res.Total.Count
	if res.Warmup.Count == 0 || res.Total.Count == 0 {
		t.Fatalf("warm-up %d, measurement %d: want both > 0", res.Warmup.Count, res.Total.Count)
	}
	if server < counted || server > counted+int64(spec.Connections) {
		t.Errorf("server executed %d; warm-up %d + measurement %d = %d (in flight at stop may add up to %d)",
			server, res.Warmup.Count, res.Total.Count, counted, spec.Connections)
	}
	if got := res.Operations["hit"].Count; got != res.Total.Count {
		t.Errorf("operation count %d != total %d", got, res.Total.Count)
	}
	if res.Total.Errors != 0 {
		t.Errorf("errors: %v", res.Total.ErrorsByClass)
	}
	if res.TargetSettings["statement_mode"] != "prepared" {
		t.Errorf("statement mode %q recorded, want prepared", res.TargetSettings["statement_mode"])
	}
}

// TestOpenModelRate: at rate R the run starts R × duration operations, within 2%.
func TestOpenModelRate(t *testing.T) {
	dsn := pgTable(t, 1000)
	spec := selectSpec(dsn, 1000)
	spec.Warmup = 0
	spec.Rate = 400
	spec.Duration = core.Duration(3 * time.Second)
	res, err := unistore.Run(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	want := spec.Rate * res.MeasuredSeconds
	if got := float64(res.Open.Started); math.Abs(got-want)/want > 0.02 {
		t.Errorf("started %v, want %.0f ± 2%% (rate %v × %.3fs)", got, want, spec.Rate, res.MeasuredSeconds)
	}
	if res.Open.Skipped != 0 {
		t.Errorf("skipped %d starts with an idle server", res.Open.Skipped)
	}
	if res.Total.Response == nil {
		t.Fatal("no response-time figures in an open-model run")
	}
}

// TestOpenModelStall: a server stall shows in response time (measured from
// the intended start) but not in service time.
func TestOpenModelStall(t *testing.T) {
	dsn := pgTable(t, 1000)
	spec := selectSpec(dsn, 1000)
	spec.Warmup = 0
	spec.Rate = 200
	spec.Connections = 2
	spec.Duration = core.Duration(4 * time.Second)
	stalled := make(chan error, 1)
	var once sync.Once
	res, err := unistore.Run(context.Background(), spec, unistore.WithInterval(250*time.Millisecond),
		unistore.WithProgress(func(p unistore.Progress) {
			if p.Elapsed < time.Second {
				return
			}
			once.Do(func() {
				// Block the table for 1.5 s with a lock held across pg_sleep.
				go func() {
					defer func() { recover() }()
					testpg.Exec(t, dsn, `BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(1.5); COMMIT`)
					stalled <- nil
				}()
			})
		}))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-stalled; err != nil {
		t.Fatal(err)
	}
	resp, svc := res.Total.Response, res.Total.Latency
	t.Logf("service p99 %.3f ms max %.3f ms; response p99 %.3f ms max %.3f ms; late %d",
		svc.P99, svc.Max, resp.P99, resp.Max, res.Open.Late)
	if resp.P99 < 500 {
		t.Errorf("response p99 %.3f ms: a 1.5 s stall should show", resp.P99)
	}
	if svc.P99 > 200 {
		t.Errorf("service p99 %.3f ms: the stall leaked into service time beyond the few queries caught in it", svc.P99)
	}
	if res.Open.Late == 0 {
		t.Error("no late starts counted across a 1.5 s stall")
	}
}

func TestCancelSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	if err := examples.SetupQuickstart(context.Background(), path, 1000); err != nil {
		t.Fatal(err)
	}
	spec := unistore.Spec{
		Name: "cancel", Target: unistore.Target{DSN: "sqlite://" + path}, Connections: 3,
		Duration: core.Duration(time.Hour), Seed: 3,
		Workload: unistore.WorkloadSpec{Operations: []unistore.OperationSpec{{
			Name: "get", SQL: "SELECT balance FROM accounts WHERE id = ?",
			Params: []unistore.ParamSpec{{Gen: "uniform", Min: i64(1), Max: i64(1000)}},
		}}},
	}
	testCancel(t, spec)
}

func TestCancelPostgresInFlight(t *testing.T) {
	dsn := pgTable(t, 10)
	spec := selectSpec(dsn, 10)
	spec.Warmup = 0
	spec.Duration = core.Duration(time.Hour)
	spec.Workload.Operations[0].SQL = "SELECT pg_sleep(5) WHERE 1 = ?"
	spec.Workload.Operations[0].Params = []unistore.ParamSpec{{Gen: "uniform", Min: i64(1), Max: i64(1)}}
	testCancel(t, spec)
}

func testCancel(t *testing.T, spec unistore.Spec) {
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	cancelled := make(chan time.Time, 1)
	res, err := unistore.Run(ctx, spec, unistore.WithInterval(100*time.Millisecond),
		unistore.WithProgress(func(p unistore.Progress) {
			if p.Phase == core.PhaseMeasurement && p.Elapsed >= 300*time.Millisecond {
				once.Do(func() { cancelled <- time.Now(); cancel() })
			}
		}))
	took := time.Since(<-cancelled)
	if err != nil {
		t.Fatal(err)
	}
	if took > time.Second {
		t.Errorf("run ended %v after cancel, want within 1s", took)
	}
	if res.Status != core.StatusCancelled {
		t.Errorf("status %s, want CANCELLED", res.Status)
	}
	if res.MeasuredSeconds <= 0 {
		t.Errorf("measured %v s: the summary should cover the time until cancel", res.MeasuredSeconds)
	}
	checkNoLeak(t, base)
}

// TestBadInputBeforeLoad: each bad input is one clear error before any
// load, and leaves nothing running.
func TestBadInputBeforeLoad(t *testing.T) {
	base := runtime.NumGoroutine()
	// A loopback port with nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().String()
	l.Close()
	// Only the missing-table case needs a server (it must get as far as
	// preparing); the others fail before any connection, so they run
	// without PostgreSQL too.
	for _, tc := range []struct {
		name    string
		needsPG bool
		edit    func(*unistore.Spec)
		want    string
	}{
		{"unknown driver", false, func(s *unistore.Spec) { s.Target.DSN = "oracle://scott:tiger@127.0.0.1/x" }, `unknown driver "oracle" (forgotten import?)`},
		{"unreachable", false, func(s *unistore.Spec) { s.Target.DSN = "postgres://u:s3cret@" + closedPort + "/db?sslmode=disable" }, closedPort},
		{"missing table", true, func(s *unistore.Spec) { s.Workload.Operations[0].SQL = "SELECT v FROM nope WHERE id = ?" }, `"nope"`},
		// Key sampling is part of the preflight, as it is of a worker's open.
		{"missing sampled table", true, func(s *unistore.Spec) {
			s.Workload.Operations[0].Params = []unistore.ParamSpec{{Gen: "sample", Table: "nope", Column: "id"}}
		}, `sample nope.id`},
		{"bad spec", false, func(s *unistore.Spec) { s.Connections = -1; s.Workload.Operations[0].Params = nil }, "connections"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := "postgres://u@" + closedPort + "/db?sslmode=disable"
			if tc.needsPG {
				dsn = pgTable(t, 10)
			}
			spec := selectSpec(dsn, 10)
			tc.edit(&spec)
			st := store.NewMemory()
			res, err := unistore.Run(context.Background(), spec, unistore.WithStore(st))
			if err == nil || res != nil {
				t.Fatalf("Run = %v, %v; want an error and no result", res, err)
			}
			if runs, _ := st.ListRuns(context.Background(), store.RunFilter{}); len(runs) != 0 {
				t.Errorf("the failed start left %d run rows", len(runs))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "tiger") {
				t.Errorf("error leaks a password: %q", err)
			}
			if tc.name == "bad spec" && !errors.Is(err, core.ErrInvalidSpec) {
				t.Errorf("bad spec error is not ErrInvalidSpec: %v", err)
			}
		})
	}
	checkNoLeak(t, base)
}
