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

// TestEpollLoopYieldsItsP: while an answer is in flight the event loop
// waits for it keeping its P (a raw epoll_pwait), which must never hold a
// collection up for as long as the query runs: a stop-the-world that
// starts while a 500 ms query is in flight ends before the query does.
// It fails if the wait cannot be interrupted by the runtime's preemption
// signal (tried: epoll_pwait with every signal masked).
func TestEpollLoopYieldsItsP(t *testing.T) {
	dsn := withParam(t, withMode(t, testpg.NewDatabase(t), postgres.ModePrepared), postgres.EngineParam, "epoll")
	dsn = withParam(t, dsn, "sslmode", "disable")
	c, err := postgres.NewConnector(dsn)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := c.NewEngine()
	if err != nil || eng == nil {
		t.Fatalf("engine %v, %v", eng, err)
	}
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st, err := conn.Prepare(ctx, "SELECT pg_sleep(0.5)")
	if err != nil {
		t.Fatal(err)
	}
	h := &sleepOnce{st: st, sent: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- eng.Serve(ctx, conn, h) }()
	<-h.sent
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
