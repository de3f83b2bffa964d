package orchestrator_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
)

// TestStopBeforeJoin: Stop of a run whose workers have not all joined yet
// (here: to be started by hand, and nobody starts them) cancels it within
// two polls, with one STOP event — the user's; the orchestrator appends
// none of its own. (Moved from cmd/unistore, where it ran `unistore stop`,
// which calls the same Stop.)
func TestStopBeforeJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(store.NewMemory())
		run := r.start(t, testSpec(2, 0, time.Hour), orchestrator.External{})
		time.Sleep(poll)
		if err := orchestrator.Stop(context.Background(), r.st, run.ID); err != nil {
			t.Fatal(err)
		}
		stopped := time.Now()
		res, err := run.Wait()
		if d := time.Since(stopped); d > 2*poll {
			t.Errorf("run ended %v after Stop, want within two polls", d)
		}
		if err != nil || res.Status != core.StatusCancelled {
			t.Errorf("run: %v, status %s; want CANCELLED", err, res.Status)
		}
		var kinds []control.EventKind
		for _, e := range r.events(t, run.ID) {
			kinds = append(kinds, e.Kind)
		}
		if !slices.Equal(kinds, []control.EventKind{control.EventStop}) {
			t.Errorf("events %v, want one STOP", kinds)
		}
		if row := r.getRun(t, run.ID); row.Status != core.StatusCancelled {
			t.Errorf("RUN_STATUS %s, want CANCELLED", row.Status)
		}
	})
}

// TestOrchestratorGone: a run whose orchestrator stopped renewing it for
// longer than its lease is marked FAILED (orchestrator lost) by whoever
// sees it first — Stop and Scale (which say so and append nothing), or the
// next orchestrator on the store — with its snapshots rolled up; a renewal
// racing the mark wins; a live run is never marked.
func TestOrchestratorGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := store.NewMemory()
		// The first orchestrator loses the store for good (it died, as far
		// as the store can tell); its workers keep the store and stop on
		// their own when the renewals stop.
		cut := &outageStore{Store: mem}
		r := newRig(mem)
		spec := testSpec(1, 0, 20*time.Second)
		svc := &orchestrator.Service{Store: cut, Launcher: r.inProcess(), Logger: quiet, StopGrace: 2 * time.Second, SpoolDir: t.TempDir()}
		run, err := svc.Start(ctx, spec, orchestrator.Options{Connector: r.conn, DriverName: "sleep", Workload: r.wl})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		cut.down.Store(true)
		lease := spec.Control.Lease.D()
		time.Sleep(lease / 2)
		if err := orchestrator.Scale(ctx, mem, run.ID, 3); err != nil {
			t.Fatalf("Scale within the lease: %v", err) // not abandoned yet
		}
		time.Sleep(lease)
		before := len(r.events(t, run.ID))

		err = orchestrator.Stop(ctx, mem, run.ID)
		if !errors.Is(err, orchestrator.ErrOrchestratorLost) || !strings.Contains(err.Error(), "marked FAILED (orchestrator lost)") {
			t.Fatalf("Stop: %v; want ErrOrchestratorLost saying the run was marked", err)
		}
		row := r.getRun(t, run.ID)
		if row.Status != core.StatusFailed || row.Phase != core.PhaseDone || !orchestrator.LostByOrchestrator(row) ||
			!strings.Contains(row.Outcome, "marked by stop") || len(row.Summary) == 0 || row.WorkersLive != 0 {
			t.Fatalf("row after Stop: %s %s %q live %d, summary %d bytes", row.Status, row.Phase, row.Outcome, row.WorkersLive, len(row.Summary))
		}
		if n := len(r.events(t, run.ID)); n != before {
			t.Errorf("Stop appended %d events to a run nobody runs", n-before)
		}
		res, err := rollup.Result(ctx, mem, run.ID)
		if err != nil || res.Status != core.StatusFailed || res.Total.Count == 0 || res.Error != row.Outcome {
			t.Fatalf("rollup of the marked run: %v, %+v", err, res)
		}
		if err := orchestrator.Stop(ctx, mem, run.ID); err == nil || errors.Is(err, orchestrator.ErrOrchestratorLost) ||
			!strings.Contains(err.Error(), "already FAILED") {
			t.Errorf("second Stop: %v, want: already FAILED", err)
		}

		// Scale marks too; the next orchestrator sweeps; a renewal wins.
		for _, id := range []string{"scaled", "swept", "renewed", "live"} {
			if err := mem.CreateRun(ctx, store.Run{ID: id, Spec: spec, Status: core.StatusRunning}); err != nil {
				t.Fatal(err)
			}
		}
		renewed, _ := mem.GetRun(ctx, "renewed")
		time.Sleep(lease + time.Second)
		if err := mem.UpdateRun(ctx, "live", store.RunUpdate{}); err != nil {
			t.Fatal(err)
		}
		stale, _ := mem.GetRun(ctx, "renewed")
		if !orchestrator.Abandoned(stale, time.Now()) || stale.UpdatedAt != renewed.UpdatedAt {
			t.Fatalf("run renewed at %v not abandoned at %v", stale.UpdatedAt, time.Now())
		}
		if err := mem.UpdateRun(ctx, "renewed", store.RunUpdate{}); err != nil { // the orchestrator was slow, not gone
			t.Fatal(err)
		}
		if got, marked, err := orchestrator.MarkAbandoned(ctx, mem, stale, "a reader"); err != nil || marked || got.Status != core.StatusRunning {
			t.Errorf("MarkAbandoned after a renewal: %s, marked %v, %v; want RUNNING, not marked", got.Status, marked, err)
		}
		if err := orchestrator.Scale(ctx, mem, "scaled", 3); !errors.Is(err, orchestrator.ErrOrchestratorLost) {
			t.Errorf("Scale: %v, want ErrOrchestratorLost", err)
		}
		next := r.start(t, testSpec(1, 0, time.Second), nil)
		want := map[string]string{"scaled": "marked by scale", "swept": "marked by the next orchestrator on the store", "renewed": "", "live": ""}
		for id, by := range want {
			row := r.getRun(t, id)
			if by == "" {
				if row.Status != core.StatusRunning {
					t.Errorf("%s: %s %q, want RUNNING: it was renewed", id, row.Status, row.Outcome)
				}
			} else if !orchestrator.LostByOrchestrator(row) || !strings.Contains(row.Outcome, by) {
				t.Errorf("%s: %s %q, want FAILED, orchestrator lost, %s", id, row.Status, row.Outcome, by)
			}
		}
		if res, err := next.Wait(); err != nil || res.Status != core.StatusCompleted {
			t.Errorf("the next run: %v, %+v", err, res)
		}
		// Cut off, it could not record its outcome: it spooled it, and its
		// result says so (not fully recorded: exit 4 in the CLI).
		if res, err := run.Wait(); err == nil && res.FullyRecorded() {
			t.Errorf("the cut-off orchestrator says it recorded its outcome through a dead store")
		} else if err == nil && (res.Store == nil || !res.Store.StatusSpooled) {
			t.Errorf("the cut-off orchestrator's result: store %+v, want its status spooled", res.Store)
		}
		if row := r.getRun(t, run.ID); !orchestrator.LostByOrchestrator(row) {
			t.Errorf("first run after its orchestrator gave up: %s %q", row.Status, row.Outcome)
		}
	})
}
