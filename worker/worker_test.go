package worker_test

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/sleepdriver"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/worker"
	"github.com/unistore-bench/unistore/workload"
)

// sleepConnector: statements of a fixed (virtual, in synctest) time.
type sleepConnector = sleepdriver.Connector

func oneOp() workload.Workload {
	lo, hi := int64(1), int64(100)
	w, err := workload.Compile(core.WorkloadSpec{Operations: []core.OperationSpec{{
		Name: "op", SQL: "SELECT ?", Params: []core.ParamSpec{{Gen: "uniform", Min: &lo, Max: &hi}},
	}}})
	if err != nil {
		panic(err)
	}
	return w
}

// bothEngines runs test on loops of their own goroutines and on an engine
// (sleepdriver's, under synctest: the worker's driver.Handler path).
func bothEngines(t *testing.T, test func(t *testing.T, engine bool)) {
	for _, engine := range []bool{false, true} {
		name := "goroutines"
		if engine {
			name = "engine"
		}
		t.Run(name, func(t *testing.T) { test(t, engine) })
	}
}

func run(t *testing.T, cfg worker.Config, warmup, measure time.Duration) (map[core.Phase]*metrics.Snapshot, map[core.Phase]time.Time, time.Time) {
	t.Helper()
	w, err := worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Open(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- w.Run(runCtx, core.PhaseWarmup) }()
	time.Sleep(warmup)
	w.SetPhase(ctx, core.PhaseMeasurement)
	time.Sleep(measure)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return w.Totals()
}

// TestClosedLoopPhases: with a 10 ms statement and 4 loops, 1 s of warm-up
// and 2 s of measurement are exactly 400 and 800 operations of virtual time.
// The phase change and the stop fall 5 ms after a statement end, never on
// one: goroutines woken at one virtual instant run in no defined order, so
// a statement ending at the cut could land on either side of it.
func TestClosedLoopPhases(t *testing.T) { bothEngines(t, testClosedLoopPhases) }

func testClosedLoopPhases(t *testing.T, engine bool) {
	synctest.Test(t, func(t *testing.T) {
		conn := &sleepConnector{D: 10 * time.Millisecond, Engine: engine}
		var intervals int
		tot, at, end := run(t, worker.Config{Connections: 4, Seed: 1, Connector: conn, Workload: oneOp(),
			OnInterval: func(*metrics.Snapshot) { intervals++ }}, time.Second+5*time.Millisecond, 2*time.Second)
		if got := tot[core.PhaseWarmup].Count(); got != 400 {
			t.Errorf("warm-up count %d, want 400", got)
		}
		if got := tot[core.PhaseMeasurement].Count(); got != 800 {
			t.Errorf("measurement count %d, want 800", got)
		}
		if got := end.Sub(at[core.PhaseMeasurement]); got != 2*time.Second {
			t.Errorf("measurement lasted %v", got)
		}
		if lat := metrics.Latency(tot[core.PhaseMeasurement].Ops[0].Service); lat.P50 < 9.9 || lat.P50 > 10.1 {
			t.Errorf("p50 %v ms, want 10", lat.P50)
		}
		// 3 ticks, the phase cut and the final cut.
		if intervals != 5 {
			t.Errorf("%d interval callbacks, want 5", intervals)
		}
		// The 4 queries in flight at the stop ran but are not counted.
		if got := conn.Execs.Load(); got != 1200+4 {
			t.Errorf("%d executions, want 1204", got)
		}
	})
}

// TestOpenModelPacing: at 500/s with an idle server, every intended start
// begins on time; response time equals service time. Starts are due every
// 2 ms; the phase change and the stop fall between two.
func TestOpenModelPacing(t *testing.T) { bothEngines(t, testOpenModelPacing) }

func testOpenModelPacing(t *testing.T, engine bool) {
	synctest.Test(t, func(t *testing.T) {
		conn := &sleepConnector{D: time.Millisecond, Engine: engine}
		tot, _, _ := run(t, worker.Config{Connections: 2, Rate: 500, Seed: 1, Connector: conn, Workload: oneOp()},
			time.Second+time.Millisecond, 4*time.Second)
		m := tot[core.PhaseMeasurement]
		if m.Open.Intended != 2000 || m.Open.Started != 2000 {
			t.Errorf("intended %d, started %d; want 2000 each", m.Open.Intended, m.Open.Started)
		}
		if m.Open.Late != 0 || m.Open.Skipped != 0 {
			t.Errorf("late %d, skipped %d; want none", m.Open.Late, m.Open.Skipped)
		}
		if r := metrics.Latency(m.Ops[0].Response); r.P99 != 1 {
			t.Errorf("response p99 %v ms, want 1", r.P99)
		}
	})
}

// TestOpenModelOverload: the server can do 100/s (1 loop, 10 ms) but the
// schedule asks 200/s: half the starts queue, response time grows with the
// backlog while service time stays 10 ms, and queued starts are late.
func TestOpenModelOverload(t *testing.T) { bothEngines(t, testOpenModelOverload) }

func testOpenModelOverload(t *testing.T, engine bool) {
	synctest.Test(t, func(t *testing.T) {
		conn := &sleepConnector{D: 10 * time.Millisecond, Engine: engine}
		tot, _, _ := run(t, worker.Config{Connections: 1, Rate: 200, Seed: 1, Connector: conn, Workload: oneOp()},
			2500*time.Microsecond, 2*time.Second)
		m := tot[core.PhaseMeasurement]
		// Measurement runs from 2.5 ms to 2.0025 s, off the 5 ms schedule and
		// the 10 ms statement ends: starts due at 5 ms…2 s (400); the loop
		// starts at 10 ms…2 s (200, the last in flight at the stop) and ends
		// at 10 ms…2 s (200, the first begun in warm-up).
		if m.Open.Intended != 400 || m.Open.Started != 200 || m.Count() != 200 {
			t.Errorf("intended %d, started %d, executed %d; want 400, 200, 200", m.Open.Intended, m.Open.Started, m.Count())
		}
		svc, resp := metrics.Latency(m.Ops[0].Service), metrics.Latency(m.Ops[0].Response)
		if svc.Max < 10 || svc.Max > 10.01 {
			t.Errorf("service max %v ms, want 10", svc.Max)
		}
		// The last start began ~1 s after its intended time.
		if math.Abs(resp.Max-1000) > 20 {
			t.Errorf("response max %v ms, want about 1000", resp.Max)
		}
		if m.Open.Late < 190 {
			t.Errorf("late %d, want nearly every start", m.Open.Late)
		}
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []worker.Config{
		{Connections: 0, Connector: &sleepConnector{}, Workload: oneOp()},
		{Connections: 1, Workload: oneOp()},
		{Connections: 1, Connector: &sleepConnector{}},
		{Connections: 1, Group: 3, Groups: 2, Connector: &sleepConnector{}, Workload: oneOp()},
	} {
		if _, err := worker.New(cfg); err == nil {
			t.Errorf("New(%+v): want an error", cfg)
		}
	}
}
