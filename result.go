package unistore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/worker"
)

// fillResult computes a result's figures from per-phase snapshots and the
// phase times. Times are truncated to the microsecond, as the store keeps
// them, so a result recomputed from the store (ResultFromStore) is
// identical to the one the run returned.
func fillResult(res *Result, totals map[Phase]*metrics.Snapshot, phaseAt map[Phase]time.Time, ended time.Time, open bool, names []string) error {
	us := func(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
	end := us(ended)
	start, ok := phaseAt[PhaseWarmup]
	if !ok {
		start = phaseAt[PhaseMeasurement]
	}
	res.StartedAt, res.EndedAt = us(start), end
	measAt, measured := phaseAt[PhaseMeasurement]
	if wu := totals[PhaseWarmup]; wu != nil {
		wuEnd := end
		if measured {
			wuEnd = us(measAt)
		}
		res.Warmup = core.PhaseStats{Seconds: secondsBetween(us(start), wuEnd), Count: wu.Count(), Errors: wu.Errors()}
	}
	meas := totals[PhaseMeasurement]
	if meas == nil {
		meas = metrics.NewSnapshot(names, open)
	}
	res.MeasuredSeconds = 0
	if measured {
		res.MeasuredSeconds = secondsBetween(us(measAt), end)
	}
	res.Total, res.Operations = meas.Stats(res.MeasuredSeconds)
	res.Open = nil
	if open {
		res.Open = &core.OpenStats{Intended: meas.Open.Intended, Started: meas.Open.Started, Late: meas.Open.Late,
			Skipped: meas.Open.Skipped, LateThresholdMS: float64(worker.LateThreshold) / float64(time.Millisecond)}
	}
	return nil
}

// ResultFromStore recomputes a stored run's result from its snapshots:
// every worker's interval histograms merged exactly, per phase and
// operation. For a finished run whose rows were all stored it is identical
// to the Result the run returned; for a run in progress it is the rollup
// so far.
func ResultFromStore(ctx context.Context, st store.Store, runID string) (*Result, error) {
	run, err := st.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	rows, err := st.Snapshots(ctx, runID)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	if len(run.Summary) > 0 {
		if err := json.Unmarshal(run.Summary, res); err != nil {
			return nil, fmt.Errorf("unistore: run %s: bad stored summary: %w", runID, err)
		}
	}
	res.RunID, res.Name, res.Status, res.Error = run.ID, run.Name, run.Status, run.Outcome
	res.Connections, res.Rate, res.Seed = run.Spec.Connections, run.Spec.Rate, run.Spec.Seed
	res.RowsDropped = run.RowsDropped
	open := run.Spec.Rate > 0

	var names []string
	index := map[string]int{}
	addName := func(n string) {
		if _, ok := index[n]; !ok {
			index[n] = len(names)
			names = append(names, n)
		}
	}
	for _, op := range run.Spec.Workload.Operations {
		addName(op.Name)
	}
	for _, r := range rows {
		addName(r.Operation)
	}
	totals := map[Phase]*metrics.Snapshot{}
	for _, r := range rows {
		tot := totals[r.Phase]
		if tot == nil {
			tot = metrics.NewSnapshot(names, open)
			totals[r.Phase] = tot
		}
		op := metrics.Op{Count: r.Count, Errors: r.Errors}
		for _, h := range []struct {
			dst  **hdr.Histogram
			text string
		}{{&op.Service, r.Histogram}, {&op.Response, r.ResponseHistogram}, {&op.Failed, r.ErrorHistogram}} {
			if *h.dst, err = metrics.Decode(h.text); err != nil {
				return nil, fmt.Errorf("unistore: run %s: snapshot of %s at %s: %w", runID, r.WorkerID, r.IntervalStart, err)
			}
		}
		if err := tot.Ops[index[r.Operation]].Merge(&op); err != nil {
			return nil, err
		}
		tot.Open.Intended += r.OpenIntended
		tot.Open.Started += r.OpenStarted
		tot.Open.Late += r.OpenLate
		tot.Open.Skipped += r.OpenSkipped
	}
	phaseAt := map[Phase]time.Time{}
	if run.Spec.Warmup > 0 && !run.StartedAt.IsZero() {
		phaseAt[PhaseWarmup] = run.StartedAt
	}
	if !run.WarmupEndedAt.IsZero() {
		phaseAt[PhaseMeasurement] = run.WarmupEndedAt
	} else if run.Spec.Warmup == 0 && !run.StartedAt.IsZero() {
		phaseAt[PhaseMeasurement] = run.StartedAt
	}
	ended := run.EndedAt
	if ended.IsZero() {
		ended = time.Now() // in progress: the rollup so far
	}
	if err := fillResult(res, totals, phaseAt, ended, open, names); err != nil {
		return nil, err
	}
	return res, nil
}
