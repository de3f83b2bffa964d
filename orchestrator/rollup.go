package orchestrator

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

// Rollup computes a run's result from its workers' stored snapshots: every
// worker's interval histograms merged exactly (never averaged), per phase
// and operation. base supplies what snapshots do not hold (driver, target,
// worker counts); the run row supplies status and times. The measured
// length of a phase is the span its snapshots cover, so the QPS divisor is
// what the workers measured, not the control plane's clock.
//
// The orchestrator computes a run's final result with it, and `runs show`
// recomputes the same result from the same rows: the two are identical.
func Rollup(run store.Run, base core.Result, rows []store.Snapshot) (*core.Result, error) {
	res := base
	res.RunID, res.Name, res.Status, res.Error = run.ID, run.Name, run.Status, run.Outcome
	spec := run.Spec.WithDefaults()
	res.Connections, res.Rate, res.Seed = spec.Connections, spec.Rate, spec.Seed
	res.Workers.Target = spec.Workers
	res.RowsDropped = run.RowsDropped
	res.StartedAt, res.EndedAt = run.StartedAt, run.EndedAt
	open := spec.Rate > 0

	var names []string
	index := map[string]int{}
	addName := func(n string) {
		if _, ok := index[n]; !ok {
			index[n] = len(names)
			names = append(names, n)
		}
	}
	for _, op := range spec.Workload.Operations {
		addName(op.Name)
	}
	for _, r := range rows {
		addName(r.Operation)
	}
	totals := map[core.Phase]*metrics.Snapshot{}
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
			var err error
			if *h.dst, err = metrics.Decode(h.text); err != nil {
				return nil, fmt.Errorf("orchestrator: run %s: snapshot of %s at %s: %w", run.ID, r.WorkerID, r.IntervalStart, err)
			}
		}
		if err := tot.Ops[index[r.Operation]].Merge(&op); err != nil {
			return nil, err
		}
		tot.Open.Intended += r.OpenIntended
		tot.Open.Started += r.OpenStarted
		tot.Open.Late += r.OpenLate
		tot.Open.Skipped += r.OpenSkipped
		if tot.Start.IsZero() || r.IntervalStart.Before(tot.Start) {
			tot.Start = r.IntervalStart
		}
		if r.IntervalEnd.After(tot.End) {
			tot.End = r.IntervalEnd
		}
	}
	res.Warmup = core.PhaseStats{}
	if wu := totals[core.PhaseWarmup]; wu != nil {
		res.Warmup = core.PhaseStats{Seconds: wu.End.Sub(wu.Start).Seconds(), Count: wu.Count(), Errors: wu.Errors()}
	}
	meas := totals[core.PhaseMeasurement]
	if meas == nil {
		meas = metrics.NewSnapshot(names, open)
	}
	res.MeasuredSeconds = meas.End.Sub(meas.Start).Seconds()
	res.Total, res.Operations = meas.Stats(res.MeasuredSeconds)
	res.Open = nil
	if open {
		res.Open = &core.OpenStats{Intended: meas.Open.Intended, Started: meas.Open.Started, Late: meas.Open.Late,
			Skipped: meas.Open.Skipped, LateThresholdMS: float64(worker.LateThreshold) / float64(time.Millisecond)}
	}
	return &res, nil
}

// Result reads a run and its snapshots from st and rolls them up. For a
// finished run it is the result the run reported; for a run in progress,
// the rollup so far.
func Result(ctx context.Context, st store.Store, runID string) (*core.Result, error) {
	run, err := st.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	rows, err := st.Snapshots(ctx, runID)
	if err != nil {
		return nil, err
	}
	var base core.Result
	if len(run.Summary) > 0 {
		if err := json.Unmarshal(run.Summary, &base); err != nil {
			return nil, fmt.Errorf("orchestrator: run %s: bad stored summary: %w", runID, err)
		}
	}
	return Rollup(run, base, rows)
}
