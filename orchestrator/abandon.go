package orchestrator

// This file finishes runs whose orchestrator died: whoever reads such a
// run first — runs list or show, stop, scale, the controller, the next
// orchestrator on the store — marks it FAILED ("orchestrator lost").

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
)

// OutcomeOrchestratorLost begins the outcome (RUN_STATUS.OUTCOME, the
// result's error) of a run marked FAILED because its orchestrator stopped
// renewing it for longer than its lease.
const OutcomeOrchestratorLost = "orchestrator lost"

// ErrOrchestratorLost is matched by the error of Stop and Scale on a run
// whose orchestrator is gone: they mark the run FAILED and say so.
var ErrOrchestratorLost = errors.New("orchestrator: the run's orchestrator is gone")

// lease is run's lease: its stored spec's, or core's default for a row
// without one.
func lease(run store.Run) time.Duration {
	if l := run.Spec.Control.Lease.D(); l > 0 {
		return l
	}
	return core.DefaultLease.D()
}

// Abandoned reports whether run is unfinished and has not been renewed —
// RUN_STATUS's updated_at, which its orchestrator rewrites every lease/5
// while the run lasts — for longer than its lease at now: its
// orchestrator is gone, and its workers, which stop on their own when the
// renewals stop for a lease, have stopped. now is compared with a time the
// orchestrator's clock wrote: clocks skewed by more than a lease misjudge.
func Abandoned(run store.Run, now time.Time) bool {
	return !run.Status.Terminal() && !run.UpdatedAt.IsZero() && now.Sub(run.UpdatedAt) > lease(run)
}

// LostByOrchestrator reports whether run was marked FAILED by
// MarkAbandoned.
func LostByOrchestrator(run store.Run) bool {
	return run.Status == core.StatusFailed && strings.HasPrefix(run.Outcome, OutcomeOrchestratorLost)
}

// MarkAbandoned makes an Abandoned run final: FAILED, phase DONE, the
// outcome "orchestrator lost: …" naming its last renewal and by (who
// marked it), ended at its last sign of life (the later of its last
// renewal and its workers' last snapshot), the workers' dropped rows from
// their last heartbeats, and as its summary the rollup of every snapshot
// its workers stored — so runs list shows its figures and runs show
// recomputes the same result. It returns the run's row as it is
// afterwards and whether this call marked it. A run that is not
// Abandoned is returned as it is.
//
// The write is a compare-and-set on updated_at (store.RunUpdaterIf) when
// the store has it: if the orchestrator renews the run in between — it
// was slow, not gone — the renewal wins and nothing is marked; if two
// readers race, one marks. An orchestrator that was cut off from the
// store for a lease and comes back writes its own final outcome over the
// mark at its end: the mark is a reader's conclusion, the outcome the
// orchestrator's fact.
func MarkAbandoned(ctx context.Context, st store.Store, run store.Run, by string) (store.Run, bool, error) {
	if !Abandoned(run, time.Now()) {
		return run, false, nil
	}
	rows, err := st.Snapshots(ctx, run.ID)
	if err != nil {
		return run, false, err
	}
	hbs, err := st.ListHeartbeats(ctx, run.ID)
	if err != nil {
		return run, false, err
	}
	ended := run.UpdatedAt
	for _, r := range rows {
		if r.IntervalEnd.After(ended) {
			ended = r.IntervalEnd
		}
	}
	dropped := run.RowsDropped
	if len(hbs) > 0 {
		dropped = 0
		for _, h := range hbs {
			dropped += h.RowsDropped
		}
	}
	status, phase, live := core.StatusFailed, core.PhaseDone, 0
	reason := fmt.Sprintf("%s: RUN_STATUS not renewed since %s, for more than its lease (%s); marked by %s",
		OutcomeOrchestratorLost, run.UpdatedAt.UTC().Format(time.RFC3339), lease(run), by)
	marked := run
	marked.Status, marked.Phase, marked.Outcome, marked.EndedAt, marked.RowsDropped = status, phase, reason, ended, dropped
	u := store.RunUpdate{Status: &status, Phase: &phase, EndedAt: &ended, WorkersLive: &live, Outcome: &reason, RowsDropped: &dropped}
	base := core.Result{Target: run.Spec.Target.DSN, Workers: core.WorkerStats{Lost: run.WorkersLost}}
	if events, err := st.EventsSince(ctx, run.ID, 0); err == nil {
		base.ConnectionsTarget = rollup.Targets(run.Spec, events)
	}
	if res, err := rollup.Rollup(marked, base, rows); err == nil {
		u.Summary, _ = json.Marshal(res)
	} // else: marked without a summary; runs show says what is wrong with the rows
	var ok bool
	if c, can := st.(store.RunUpdaterIf); can {
		ok, err = c.UpdateRunIf(ctx, run.ID, run.UpdatedAt, u)
	} else {
		err = st.UpdateRun(ctx, run.ID, u)
		ok = err == nil
	}
	if err != nil {
		return run, false, err
	}
	cur, err := st.GetRun(ctx, run.ID)
	if err != nil {
		return run, ok, err
	}
	return cur, ok, nil
}

// SweepAbandoned marks every Abandoned run of st (MarkAbandoned), saying
// by whom, and returns how many it marked. The orchestrator sweeps before
// it creates a run.
func SweepAbandoned(ctx context.Context, st store.Store, by string) (int, error) {
	n := 0
	for _, s := range []core.Status{core.StatusPrepared, core.StatusRunning, core.StatusStopping} {
		runs, err := st.ListRuns(ctx, store.RunFilter{Status: s})
		if err != nil {
			return n, err
		}
		for _, r := range runs {
			if _, ok, err := MarkAbandoned(ctx, st, r, by); err != nil {
				return n, err
			} else if ok {
				n++
			}
		}
	}
	return n, nil
}
