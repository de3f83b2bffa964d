package orchestrator

// This file holds what anyone may ask of a running run through the
// store (Stop, Scale), and run ids.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/store"
)

// NewRunID returns a new run id: a UTC timestamp and 6 random hex digits,
// so ids sort by creation time.
func NewRunID() string {
	return time.Now().UTC().Format("20060102-150405") + fmt.Sprintf("-%06x", rand.Uint32()&0xffffff)
}

// Stop appends a STOP event to a running run: its orchestrator and its
// workers stop it. A run that does not exist or has finished is an error.
//
// A run whose orchestrator is gone (Abandoned) is marked FAILED
// (MarkAbandoned) instead, and the error, matching ErrOrchestratorLost,
// says so.
func Stop(ctx context.Context, st store.Store, runID string) error {
	if _, err := liveRun(ctx, st, runID, "stop"); err != nil {
		return err
	}
	return appendCommand(ctx, st, runID, control.Stop())
}

// Scale appends SET_WORKER_TARGET: every worker of the run (or of groups,
// if given) moves to connections connections, live.
func Scale(ctx context.Context, st store.Store, runID string, connections int, groups ...int) error {
	if _, err := control.Scale(connections, 1); err != nil {
		return err // before reading the run: a bad count is the caller's error whatever the run
	}
	run, err := liveRun(ctx, st, runID, "scale")
	if err != nil {
		return err
	}
	c, err := control.Scale(connections, run.Spec.Workers, groups...)
	if err != nil {
		return err
	}
	return appendCommand(ctx, st, runID, c)
}

// appendCommand appends a control command to a run's events.
func appendCommand(ctx context.Context, st store.Store, runID string, c control.Command) error {
	_, err := st.AppendEvent(ctx, store.Event{RunID: runID, Kind: c.Kind, Payload: c.Payload})
	return err
}

// liveRun reads a run that is going on. A missing run's error matches
// store.ErrNotFound; a finished one is an error; one whose orchestrator is
// gone is marked (by by) and its error matches ErrOrchestratorLost.
func liveRun(ctx context.Context, st store.Store, runID, by string) (store.Run, error) {
	run, err := st.GetRun(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return run, fmt.Errorf("orchestrator: run %q does not exist: %w", runID, store.ErrNotFound)
	}
	if err != nil {
		return run, err
	}
	if Abandoned(run, time.Now()) {
		cur, _, err := MarkAbandoned(ctx, st, run, by)
		if err != nil {
			return run, err
		}
		if LostByOrchestrator(cur) {
			return cur, fmt.Errorf("%w: run %s was not renewed since %s, for more than its lease (%s): marked %s (%s)",
				ErrOrchestratorLost, runID, run.UpdatedAt.UTC().Format(time.RFC3339), lease(run), cur.Status, OutcomeOrchestratorLost)
		}
		run = cur
	}
	if run.Status.Terminal() {
		return run, fmt.Errorf("orchestrator: run %s is already %s", runID, run.Status)
	}
	return run, nil
}
