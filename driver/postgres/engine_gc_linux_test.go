//go:build linux

package postgres_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/driver/postgres"
	"github.com/unistore-bench/unistore/internal/testpg"
)

// sleepOnce runs one statement and releases; sent is closed once the
// request is handed to the engine, done set when its answer is recorded.
type sleepOnce struct {
	st   driver.Stmt
	sent chan struct{}
	ran  bool
	done atomic.Bool
	err  error
}

func (h *sleepOnce) Next() (driver.Stmt, []core.Value, driver.Step) {
	if h.ran {
		return nil, nil, driver.Release
	}
	h.ran = true
	close(h.sent)
	return h.st, nil, driver.Run
}

func (h *sleepOnce) Done(_ int64, err error) { h.err = err; h.done.Store(true) }

// openEpollEngine opens a prepared-mode epoll connector on a fresh database,
// with DSN parameters params (name, value, ...), and an engine of it that
// the test closes at its end.
func openEpollEngine(t *testing.T, params ...string) (*postgres.Connector, driver.Engine) {
	t.Helper()
	dsn := withParam(t, withMode(t, testpg.NewDatabase(t), postgres.ModePrepared), postgres.EngineParam, "epoll")
	dsn = withParam(t, dsn, "sslmode", "disable")
	for i := 0; i+1 < len(params); i += 2 {
		dsn = withParam(t, dsn, params[i], params[i+1])
	}
	c, err := postgres.NewConnector(dsn)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := c.NewEngine()
	if err != nil || eng == nil {
		t.Fatalf("engine %v, %v", eng, err)
	}
	t.Cleanup(func() { eng.Close() })
	return c, eng
}

// serveSleep connects, hands the engine one pg_sleep(secs) on the new
// connection and returns once its request is handed over; Serve's answer
// goes to served.
func serveSleep(t *testing.T, ctx context.Context, c *postgres.Connector, eng driver.Engine, secs string, served chan<- error) *sleepOnce {
	t.Helper()
	conn, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	st, err := conn.Prepare(ctx, "SELECT pg_sleep("+secs+")")
	if err != nil {
		t.Fatal(err)
	}
	h := &sleepOnce{st: st, sent: make(chan struct{})}
	go func() { served <- eng.Serve(ctx, conn, h) }()
	<-h.sent
	return h
}

// TestEpollLoopYieldsItsP: while an answer is in flight the event loop
// waits for it keeping its P (a raw epoll_pwait), which must never hold a
// collection up for as long as the query runs: a stop-the-world that
// starts while a 500 ms query is in flight ends before the query does.
// It fails if the wait cannot be interrupted by the runtime's preemption
// signal (tried: epoll_pwait with every signal masked).
func TestEpollLoopYieldsItsP(t *testing.T) {
	c, eng := openEpollEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	served := make(chan error, 1)
	h := serveSleep(t, ctx, c, eng, "0.5", served)
	runtime.GC() // stops the world twice
	if h.done.Load() {
		t.Error("the collection waited for the query in flight: the event loop held its P through the wait")
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if !h.done.Load() || h.err != nil {
		t.Errorf("query: done %v, err %v", h.done.Load(), h.err)
	}
}

// TestEngineProcsDedicated: an engine_procs=dedicated engine raises
// GOMAXPROCS to one more than its event loops while they run, says so in
// Settings, and sets it back when it closes.
func TestEngineProcsDedicated(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	c, eng := openEpollEngine(t, postgres.EngineProcsParam, string(postgres.ProcsDedicated), postgres.EngineLoopsParam, "3")
	if s := c.Settings(); s[postgres.EngineProcsParam] != "dedicated" || s[postgres.EngineLoopsParam] != "3" {
		t.Errorf("Settings %v: want engine_procs dedicated, engine_loops 3", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Three connections, a loop each, each with a query in flight.
	served := make(chan error, 3)
	var hs []*sleepOnce
	for range 3 {
		hs = append(hs, serveSleep(t, ctx, c, eng, "0.3", served))
	}
	if got, want := runtime.GOMAXPROCS(0), max(base, 4); got != want {
		t.Errorf("GOMAXPROCS with 3 dedicated loops running: %d, want %d (base %d)", got, want, base)
	}
	for range hs {
		if err := <-served; err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range hs {
		if h.err != nil {
			t.Errorf("query: %v", h.err)
		}
	}
	eng.Close()
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Errorf("GOMAXPROCS after Close: %d, want %d", got, base)
	}
}
