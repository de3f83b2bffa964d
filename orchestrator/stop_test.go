package orchestrator_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/orchestrator"
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
