package unistore_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// TestRunsMarkOrchestratorLost: Runs and Show — what `runs list`, `runs
// show` and the controller call — mark a run nobody renewed for its lease
// FAILED (orchestrator lost), keep its figures readable, and leave a
// renewed run alone; a status filter drops the runs it marked.
func TestRunsMarkOrchestratorLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := store.NewMemory()
		spec := core.Spec{Name: "gone", Workers: 1, Connections: 2, Control: core.ControlSpec{Lease: core.Duration(2 * time.Second)}}
		for _, id := range []string{"listed", "shown", "fresh"} {
			if err := st.CreateRun(ctx, store.Run{ID: id, Name: id, Spec: spec, Status: core.StatusRunning}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(3 * time.Second)
		if err := st.UpdateRun(ctx, "fresh", store.RunUpdate{}); err != nil {
			t.Fatal(err)
		}
		res, err := unistore.Show(ctx, st, "shown")
		if err != nil || res.Status != core.StatusFailed || !strings.HasPrefix(res.Error, unistore.OutcomeOrchestratorLost+": ") ||
			!strings.Contains(res.Error, "marked by runs show") {
			t.Fatalf("Show: %v, %+v; want FAILED, orchestrator lost, marked by runs show", err, res)
		}
		running, err := unistore.Runs(ctx, st, unistore.RunFilter{Status: core.StatusRunning})
		if err != nil || len(running) != 1 || running[0].RunID != "fresh" || running[0].Stale {
			t.Fatalf("Runs(RUNNING): %v, %+v; want only fresh", err, running)
		}
		all, err := unistore.Runs(ctx, st, unistore.RunFilter{})
		if err != nil || len(all) != 3 {
			t.Fatalf("Runs: %v, %+v", err, all)
		}
		for _, l := range all {
			switch l.RunID {
			case "fresh":
				if l.Status != core.StatusRunning {
					t.Errorf("fresh: %s %q", l.Status, l.Outcome)
				}
			default:
				if l.Status != core.StatusFailed || !strings.HasPrefix(l.Outcome, unistore.OutcomeOrchestratorLost) || l.Stale || l.EndedAt == nil {
					t.Errorf("%s: %+v; want FAILED, orchestrator lost, ended", l.RunID, l)
				}
			}
		}
		if err := unistore.Stop(ctx, st, "fresh"); err != nil {
			t.Errorf("Stop of a renewed run: %v", err)
		}
	})
}
