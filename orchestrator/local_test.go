package orchestrator_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
)

// TestStoreDownAtEnd: the store fails every call from 2 s into a 4 s run
// until after its end. STOP and the result do not need it: the run ends
// on time — the workers stop at the end of the duration and Wait returns
// within the flush timeout — with its whole figures, computed from the
// snapshots the workers sent over their local channels; what the store
// did not take is in the spool, the final status too. Once the store is
// back, Recover loads the spool and the store's rollup is the result the
// run returned.
func TestStoreDownAtEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := store.NewMemory()
		st := &outageStore{Store: mem}
		r := newRig(st)
		spool := t.TempDir()
		const flush = 2 * time.Second
		svc := &orchestrator.Service{Store: st, Logger: quiet, StopGrace: 2 * time.Second, FlushTimeout: flush, SpoolDir: spool,
			Launcher: orchestrator.InProcess{Store: st, Logger: quiet, FlushTimeout: flush}}
		start := time.Now()
		run, err := svc.Start(context.Background(), testSpec(2, time.Second, 4*time.Second),
			orchestrator.Options{Connector: r.conn, DriverName: "sleep", Workload: r.wl})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		st.down.Store(true)
		res, err := run.Wait()
		took := time.Since(start)
		if err != nil {
			t.Fatalf("Wait: %v (result %+v)", err, res)
		}
		if limit := 5*time.Second + 2*poll + flush + time.Second; took > limit {
			t.Errorf("the run took %v, want within warm-up + duration + flush timeout (%v)", took, limit)
		}
		if res.Status != core.StatusCompleted || res.Name != "t" || res.Connections != 2 || res.Total.Count == 0 || res.Warmup.Count == 0 {
			t.Errorf("result: %s %q connections %d, %d measured, %d warm-up; want the whole run", res.Status, res.Name,
				res.Connections, res.Total.Count, res.Warmup.Count)
		}
		if got := res.MeasuredSeconds; got < (4*time.Second-2*poll).Seconds() || got > (4*time.Second+2*poll).Seconds() {
			t.Errorf("measured %vs, want 4 ± two polls: the load stopped on time", got)
		}
		// 2 workers × 2 connections × 100 ops/s (10 ms each) over 4 s.
		if res.Total.Count < 1500 {
			t.Errorf("%d measured operations, want about 1600: the figures after the outage began are in", res.Total.Count)
		}
		if res.Store == nil || res.RowsSpooled == 0 || res.RowsDropped != 0 || !res.Store.StatusSpooled || res.FullyRecorded() {
			t.Fatalf("spooled %d, dropped %d, store %+v: want rows and status spooled, none dropped", res.RowsSpooled, res.RowsDropped, res.Store)
		}
		if row, _ := mem.GetRun(context.Background(), run.ID); row.Status.Terminal() {
			t.Errorf("RUN_STATUS %s while the store was down", row.Status)
		}

		st.down.Store(false)
		rs, err := store.Recover(context.Background(), mem, spool)
		if err != nil || len(rs) != 1 || rs[0].Status != core.StatusCompleted {
			t.Fatalf("Recover: %+v, %v", rs, err)
		}
		// The STOP the store could not take was spooled with the status,
		// and is in the record now, once, after the others.
		evs, err := mem.EventsSince(context.Background(), run.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []control.EventKind
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
		}
		if d := cmp.Diff([]control.EventKind{control.EventStart, control.EventSetPhase, control.EventStop}, kinds); d != "" {
			t.Errorf("control events after Recover (-want +got):\n%s", d)
		}
		if _, err := store.Recover(context.Background(), mem, spool); err != nil {
			t.Fatal(err)
		}
		if evs2, _ := mem.EventsSince(context.Background(), run.ID, 0); len(evs2) != len(evs) {
			t.Errorf("%d events after a second Recover, %d before", len(evs2), len(evs))
		}
		got, err := rollup.Result(context.Background(), mem, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Store == nil || got.Store.RecoveredAt == nil {
			t.Fatalf("stored summary: %+v, want recovered_at", got.Store)
		}
		got.Store.RecoveredAt = nil
		if d := cmp.Diff(res, got); d != "" {
			t.Errorf("the store's rollup after Recover differs from the run's result (-run +store):\n%s", d)
		}
	})
}

// TestStopFitsTheFlushWindow: a run stopped with the store down, or
// hanging (every call blocks until its context ends), returns its result
// within the flush timeout of the Stop — the workers' flush, the final
// status's try and the spool all come out of that one window — although
// the workers were given a far longer flush timeout of their own: those
// still flushing at the window's last fifth are told to spool. Nothing is
// dropped: the rows and the status are in the spool.
func TestStopFitsTheFlushWindow(t *testing.T) {
	for _, mode := range []string{"down", "hanging"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := &outageStore{Store: store.NewMemory()}
				r := newRig(st)
				spool := t.TempDir()
				const flush = 2 * time.Second
				svc := &orchestrator.Service{Store: st, Logger: quiet, FlushTimeout: flush, SpoolDir: spool,
					Launcher: orchestrator.InProcess{Store: st, Logger: quiet, FlushTimeout: time.Hour}}
				run, err := svc.Start(context.Background(), testSpec(2, time.Second, time.Hour),
					orchestrator.Options{Connector: r.conn, DriverName: "sleep", Workload: r.wl})
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(3 * time.Second)
				if mode == "down" {
					st.down.Store(true)
				} else {
					st.hang.Store(true)
				}
				time.Sleep(2 * time.Second)
				stopped := time.Now()
				run.Stop()
				res, err := run.Wait()
				took := time.Since(stopped)
				if err != nil {
					t.Fatalf("Wait: %v", err)
				}
				if took > flush {
					t.Errorf("the result came %v after Stop, want within the flush timeout (%v)", took, flush)
				}
				if res.Status != core.StatusCancelled || res.Total.Count == 0 {
					t.Errorf("result: %s, %d operations; want CANCELLED with its figures", res.Status, res.Total.Count)
				}
				if res.Store == nil || !res.Store.StatusSpooled || res.RowsSpooled == 0 || res.RowsDropped != 0 {
					t.Errorf("spooled %d, dropped %d, store %+v: want rows and the status spooled, none dropped",
						res.RowsSpooled, res.RowsDropped, res.Store)
				}
				st.hang.Store(false) // the test's cleanup reads nothing, but let nothing block
			})
		})
	}
}

// TestSubprocessPassesFlushTimeout: a worker process gets the run's flush
// timeout on its command line (`worker --flush-timeout`); the process
// launcher says it passes it on, the external one does not.
func TestSubprocessPassesFlushTimeout(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		flush time.Duration
		want  string
	}{
		{2 * time.Second, "worker --run-id r1 --group 1 --attempt 2 --flush-timeout 2s"},
		{0, "worker --run-id r1 --group 1 --attempt 2"},
	} {
		out := filepath.Join(dir, "args")
		bin := filepath.Join(dir, "worker.sh")
		if err := os.WriteFile(bin, []byte("#!/bin/sh\necho \"$@\" > "+out+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		h, err := orchestrator.Subprocess{Binary: bin}.Launch(context.Background(), orchestrator.Assignment{RunID: "r1", Group: 1, Attempt: 2,
			WorkerID: control.WorkerID(1, 2), FlushTimeout: tc.flush})
		if err != nil {
			t.Fatal(err)
		}
		<-h.Done()
		if err := h.Err(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(b)); got != tc.want {
			t.Errorf("flush timeout %v: the worker was started with %q, want %q", tc.flush, got, tc.want)
		}
	}
	var l orchestrator.Launcher = orchestrator.Subprocess{}
	if _, ok := l.(orchestrator.FlushTimeoutPasser); !ok {
		t.Error("Subprocess is not a FlushTimeoutPasser")
	}
	l = orchestrator.External{}
	if _, ok := l.(orchestrator.FlushTimeoutPasser); ok {
		t.Error("External says it passes the flush timeout on")
	}
}
