package worker_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	_ "github.com/unistore-bench/unistore/driver/postgres"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/worker"
	"github.com/unistore-bench/unistore/workload"
)

// started opens w and runs it in phase start on a goroutine; stop ends the
// run and returns Run's error.
func started(t *testing.T, cfg worker.Config, start core.Phase) (w *worker.Worker, stop func() error) {
	t.Helper()
	w, err := worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, start) }()
	return w, func() error { cancel(); return <-done }
}

// TestSetTargetClosedLoop scales 4 → 8 → 2 loops of a 10 ms statement, a
// phase per step, and counts exactly.
//
// The steps fall between statement ends, never on one: in virtual time a
// statement ending at the very instant SetTarget or SetPhase runs may be
// recorded before or after it (the goroutines woken at one instant run in
// no defined order). The first 4 loops end statements at multiples of
// 10 ms; the 4 loops added at 1.005 s end theirs at 1.005 s + k·10 ms; so
// the steps are at 1.005 s (grow), 2.0075 s (shrink) and 3.0075 s (stop).
//
//   - WARMUP, [0, 1.005 s), 4 loops: 4×100 = 400.
//   - MEASUREMENT, [1.005 s, 2.0075 s), 8 loops: loops 0–3 end 1.01…2.00 s
//     (4×100) and loops 4–7 end 1.015…2.005 s (4×100): 800. The 4
//     statements in flight at the grow are counted here, none dropped.
//   - COOLDOWN, from 2.0075 s: loops 0–1 end 2.01…3.00 s (2×100 = 200),
//     plus the statement each retiring loop was in at the shrink — loops 2–3
//     end theirs at 2.01 s, loops 4–7 at 2.015 s, when SetTarget returns:
//     206. The retired loops' recorders are drained after they exited.
//   - In flight at the stop (3.0075 s): loops 0–1, 2 statements, not
//     counted: executed = 400 + 800 + 206 + 2.
func TestSetTargetClosedLoop(t *testing.T) { bothEngines(t, testSetTargetClosedLoop) }

func testSetTargetClosedLoop(t *testing.T, engine bool) {
	synctest.Test(t, func(t *testing.T) {
		conn := &sleepConnector{D: 10 * time.Millisecond, Engine: engine}
		t0 := time.Now()
		w, stop := started(t, worker.Config{Connections: 4, Seed: 1, Connector: conn, Workload: oneOp()}, core.PhaseWarmup)
		ctx := context.Background()
		check := func(when string, want int) {
			t.Helper()
			if got := w.Connections(); got != want {
				t.Errorf("%s: Connections() = %d, want %d", when, got, want)
			}
			if got := conn.Open.Load(); got != int64(want) {
				t.Errorf("%s: %d connections open, want %d", when, got, want)
			}
		}
		at := func(d time.Duration) { time.Sleep(time.Until(t0.Add(d))) }
		check("start", 4)

		at(1005 * time.Millisecond)
		if err := w.SetTarget(ctx, 8); err != nil {
			t.Fatal(err)
		}
		w.SetPhase(ctx, core.PhaseMeasurement)
		check("grown", 8)

		at(2007500 * time.Microsecond)
		w.SetPhase(ctx, core.PhaseCooldown)
		if err := w.SetTarget(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if got, want := time.Since(t0), 2015*time.Millisecond; got != want {
			t.Errorf("shrink returned at %v, want %v (when the last retiring statement ended)", got, want)
		}
		check("shrunk", 2)

		at(3007500 * time.Microsecond)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if got := w.Connections(); got != 2 {
			t.Errorf("stopped: Connections() = %d, want 2 (the count stays)", got)
		}
		if n := conn.Open.Load(); n != 0 {
			t.Errorf("%d connections open after Run, want 0", n)
		}

		tot, _, _ := w.Totals()
		for _, c := range []struct {
			phase core.Phase
			want  int64
		}{{core.PhaseWarmup, 400}, {core.PhaseMeasurement, 800}, {core.PhaseCooldown, 206}} {
			if got := tot[c.phase].Count(); got != c.want {
				t.Errorf("%s count %d, want %d", c.phase, got, c.want)
			}
		}
		if got, want := conn.Execs.Load(), int64(400+800+206+2); got != want {
			t.Errorf("%d executions, want %d (recorded + 2 in flight at the stop)", got, want)
		}
	})
}

// TestSetTargetOpenModel: the pacer is the worker's, so the number of loops
// changes who serves the starts, not how many there are. At 200/s with a
// 1 ms statement every loop count keeps up: starts are due at multiples of
// 5 ms and the steps fall between them.
func TestSetTargetOpenModel(t *testing.T) { bothEngines(t, testSetTargetOpenModel) }

func testSetTargetOpenModel(t *testing.T, engine bool) {
	synctest.Test(t, func(t *testing.T) {
		conn := &sleepConnector{D: time.Millisecond, Engine: engine}
		t0 := time.Now()
		w, stop := started(t, worker.Config{Connections: 2, Rate: 200, Seed: 1, Connector: conn, Workload: oneOp()}, core.PhaseWarmup)
		ctx := context.Background()
		at := func(d time.Duration) { time.Sleep(time.Until(t0.Add(d))) }

		at(1002500 * time.Microsecond)
		w.SetPhase(ctx, core.PhaseMeasurement)
		if err := w.SetTarget(ctx, 6); err != nil {
			t.Fatal(err)
		}
		at(3002500 * time.Microsecond)
		w.SetPhase(ctx, core.PhaseCooldown)
		if err := w.SetTarget(ctx, 1); err != nil { // every loop is idle: returns at once
			t.Fatal(err)
		}
		at(4002500 * time.Microsecond)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		tot, _, _ := w.Totals()
		for _, c := range []struct {
			phase core.Phase
			want  int64
		}{{core.PhaseMeasurement, 400}, {core.PhaseCooldown, 200}} {
			m := tot[c.phase]
			if m.Open.Intended != c.want || m.Open.Started != c.want || m.Count() != c.want {
				t.Errorf("%s: intended %d, started %d, executed %d; want %d each", c.phase, m.Open.Intended, m.Open.Started, m.Count(), c.want)
			}
			if m.Open.Late != 0 || m.Open.Skipped != 0 {
				t.Errorf("%s: late %d, skipped %d; want none", c.phase, m.Open.Late, m.Open.Skipped)
			}
		}
		if n := conn.Open.Load(); n != 0 {
			t.Errorf("%d connections open after Run, want 0", n)
		}
	})
}

// TestSetTargetRegrow: indexes freed by a shrink are reused by a later
// grow, each on a new connection.
func TestSetTargetRegrow(t *testing.T) { bothEngines(t, testSetTargetRegrow) }

func testSetTargetRegrow(t *testing.T, engine bool) {
	synctest.Test(t, func(t *testing.T) {
		conn := &sleepConnector{D: 10 * time.Millisecond, Engine: engine}
		w, stop := started(t, worker.Config{Connections: 3, Seed: 1, Connector: conn, Workload: oneOp()}, core.PhaseMeasurement)
		ctx := context.Background()
		for _, n := range []int{1, 4, 4, 2, 5} {
			time.Sleep(105 * time.Millisecond)
			if err := w.SetTarget(ctx, n); err != nil {
				t.Fatal(err)
			}
			if got, open := w.Connections(), conn.Open.Load(); got != n || open != int64(n) {
				t.Errorf("SetTarget(%d): Connections() = %d, %d open", n, got, open)
			}
		}
		time.Sleep(105 * time.Millisecond)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		tot, _, _ := w.Totals()
		// At most one execution per connection is in flight at the stop,
		// uncounted. Not exactly one: the connection grown at 420 ms ends
		// an execution at the stop's instant, 630 ms, and whether it starts
		// another before it sees the stop is the bubble's choice.
		if got, executed := tot[core.PhaseMeasurement].Count(), conn.Execs.Load(); executed < got || executed > got+5 {
			t.Errorf("recorded %d, executed %d: want 0 to 5 (one per connection) in flight at the stop", got, executed)
		}
		if n := conn.Open.Load(); n != 0 {
			t.Errorf("%d connections open after Run, want 0", n)
		}
	})
}

func TestSetTargetErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := &sleepConnector{D: 10 * time.Millisecond}
		ctx := context.Background()
		w, err := worker.New(worker.Config{Connections: 2, Seed: 1, Connector: conn, Workload: oneOp()})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.SetTarget(ctx, 3); !errors.Is(err, worker.ErrNotRunning) {
			t.Errorf("SetTarget before Open: %v, want ErrNotRunning", err)
		}
		if err := w.Open(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.SetTarget(ctx, 3); !errors.Is(err, worker.ErrNotRunning) {
			t.Errorf("SetTarget before Run: %v, want ErrNotRunning", err)
		}
		w.Close()

		w, stop := started(t, worker.Config{Connections: 2, Seed: 1, Connector: conn, Workload: oneOp()}, core.PhaseMeasurement)
		time.Sleep(time.Second)
		for _, n := range []int{0, -1} {
			if err := w.SetTarget(ctx, n); err == nil {
				t.Errorf("SetTarget(%d): want an error", n)
			}
		}
		if got := w.Connections(); got != 2 {
			t.Errorf("Connections() = %d after refused targets, want 2", got)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if err := w.SetTarget(ctx, 3); !errors.Is(err, worker.ErrNotRunning) {
			t.Errorf("SetTarget after Run: %v, want ErrNotRunning", err)
		}
		if n := conn.Open.Load(); n != 0 {
			t.Errorf("%d connections open, want 0", n)
		}
	})
}

// TestSetTargetGrowFails: a connection that cannot be made fails the grow;
// the worker keeps its loops and nothing stays open.
func TestSetTargetGrowFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := &failingConnector{sleepConnector: sleepConnector{D: 10 * time.Millisecond}, okConnects: 5}
		w, stop := started(t, worker.Config{Connections: 2, Seed: 1, Connector: conn, Workload: oneOp()}, core.PhaseMeasurement)
		time.Sleep(100 * time.Millisecond)
		if err := w.SetTarget(context.Background(), 8); !errors.Is(err, errRefused) {
			t.Errorf("SetTarget(8): %v, want %v", err, errRefused)
		}
		if got, open := w.Connections(), conn.Open.Load(); got != 2 || open != 2 {
			t.Errorf("after a failed grow: Connections() = %d, %d open; want 2, 2", got, open)
		}
		time.Sleep(100 * time.Millisecond)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if n := conn.Open.Load(); n != 0 {
			t.Errorf("%d connections open after Run, want 0", n)
		}
	})
}

var errRefused = errors.New("connection refused by the test")

// failingConnector refuses every connection after the first okConnects.
type failingConnector struct {
	sleepConnector
	okConnects int64
	connects   atomic.Int64
}

func (c *failingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.connects.Add(1) > c.okConnects {
		return nil, errRefused
	}
	return c.sleepConnector.Connect(ctx)
}

// TestSetTargetPostgres: the scaling is real connections, seen by the
// server in pg_stat_activity, on the epoll engine and on goroutines.
func TestSetTargetPostgres(t *testing.T) {
	for _, engine := range pgEngines() {
		t.Run(engine, func(t *testing.T) { testSetTargetPostgres(t, engine) })
	}
}

func testSetTargetPostgres(t *testing.T, engine string) {
	dsn := testpg.NewDatabase(t)
	testpg.Exec(t, dsn, "CREATE TABLE kv (k int PRIMARY KEY, v int)",
		"INSERT INTO kv SELECT g, g FROM generate_series(1, 100) g")
	const app = "unistore_worker_scale_test"
	_, conn, err := driver.Open("", dsn+"&application_name="+app+"&engine="+engine)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lo, hi := int64(1), int64(100)
	wl, err := workload.Compile(core.WorkloadSpec{Operations: []core.OperationSpec{{
		Name: "get", SQL: "SELECT v FROM kv WHERE k = ?", Params: []core.ParamSpec{{Gen: "uniform", Min: &lo, Max: &hi}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	// Each poll is a new session without the application name: it never
	// counts itself.
	sessions := func() int64 {
		return testpg.QueryInt(t, dsn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()", app)
	}
	// SetTarget returning is the signal; a closed session may take a
	// moment to leave pg_stat_activity, so poll for up to 2 s.
	expect := func(when string, want int64) {
		t.Helper()
		var got int64
		for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if got = sessions(); got == want || time.Now().After(deadline) {
				break
			}
		}
		if got != want {
			t.Errorf("%s: %d sessions in pg_stat_activity, want %d", when, got, want)
		}
	}

	w, stop := started(t, worker.Config{Connections: 4, Seed: 1, Connector: conn, Workload: wl}, core.PhaseMeasurement)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	expect("start", 4)
	time.Sleep(200 * time.Millisecond)
	if err := w.SetTarget(ctx, 8); err != nil {
		t.Fatal(err)
	}
	expect("grown", 8)
	time.Sleep(200 * time.Millisecond)
	if err := w.SetTarget(ctx, 2); err != nil {
		t.Fatal(err)
	}
	expect("shrunk", 2)
	time.Sleep(200 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	expect("stopped", 0)
	m, _, _ := w.Totals()
	tot := m[core.PhaseMeasurement]
	if tot.Count() == 0 || tot.Ops[0].Errors.Total() != 0 {
		t.Errorf("executed %d with errors %v; want some, none failed", tot.Count(), tot.Ops[0].Errors)
	}
}
