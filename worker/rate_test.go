package worker_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/worker"
)

// TestSetRate: a worker paced at 100/s moves to 1000/s live, then to
// 50/s: the schedule follows each rate from its next start, with no start
// lost or doubled and no burst at the change.
func TestSetRate(t *testing.T) { bothEngines(t, testSetRate) }

func testSetRate(t *testing.T, engine bool) {
	synctest.Test(t, func(t *testing.T) {
		conn := &sleepConnector{D: time.Millisecond, Engine: engine}
		w, err := worker.New(worker.Config{Connections: 4, Rate: 100, Seed: 1, Connector: conn, Workload: oneOp()})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := w.Open(ctx); err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- w.Run(runCtx, core.PhaseMeasurement) }()
		// 100/s: starts at 0, 10 ms … 990 ms (100). The change at 995 ms
		// takes effect from the next start the old schedule had, 1 s:
		// 1000/s at 1.000 … 1.995 s (996), when the next change comes;
		// then 50/s from 1.996 s to the stop at 4.005 s (101).
		time.Sleep(995 * time.Millisecond)
		if err := w.SetRate(1000); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if err := w.SetRate(50); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2*time.Second + 10*time.Millisecond)
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		tot, _, _ := w.Totals()
		m := tot[core.PhaseMeasurement]
		if want := int64(100 + 996 + 101); m.Open.Intended != want {
			t.Errorf("intended %d, want %d", m.Open.Intended, want)
		}
		// A start waiting in the backlog at a change is dropped (skipped):
		// at most one per change here, where a loop is almost always free.
		if m.Open.Skipped > 2 || m.Open.Late != 0 {
			t.Errorf("skipped %d, late %d; want at most 2 skipped (at the changes), none late", m.Open.Skipped, m.Open.Late)
		}
	})
}

func TestSetRateClosedLoop(t *testing.T) {
	w, err := worker.New(worker.Config{Connections: 1, Seed: 1, Connector: &sleepConnector{}, Workload: oneOp()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetRate(10); !errors.Is(err, worker.ErrClosedLoop) {
		t.Errorf("SetRate on a closed loop: %v, want ErrClosedLoop", err)
	}
}
