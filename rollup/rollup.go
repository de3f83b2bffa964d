package rollup

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/store"
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
	spec := run.Spec // stored with its defaults (orchestrator.Service.Start)
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
		op, err := Decode(r)
		if err != nil {
			return nil, fmt.Errorf("rollup: run %s: %w", run.ID, err)
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
			Skipped: meas.Open.Skipped, LateThresholdMS: control.LateThresholdMS()}
	}
	// The objectives are checked on the measurement phase's figures, here,
	// so that the result a run reports and the one `runs show` recomputes
	// hold the same verdicts.
	res.SLO = core.CheckSLO(spec, &res)
	return &res, nil
}

// Result reads a run and its snapshots from st and rolls them up. For a
// finished run it is the result the run reported; for a run in progress,
// the rollup so far.
func Result(ctx context.Context, st Reader, runID string) (*core.Result, error) {
	run, rows, err := Load(ctx, st, runID)
	if err != nil {
		return nil, err
	}
	var base core.Result
	if len(run.Summary) > 0 {
		if err := json.Unmarshal(run.Summary, &base); err != nil {
			return nil, fmt.Errorf("rollup: run %s: bad stored summary: %w", runID, err)
		}
	}
	return Rollup(run, base, rows)
}

// Interval is the rollup of one time bucket: every worker's snapshots whose
// interval ended in [Start, End), merged exactly.
type Interval struct {
	Start      time.Time               `json:"start"`
	End        time.Time               `json:"end"`
	Phase      core.Phase              `json:"phase"`
	Workers    int                     `json:"workers"`
	Total      core.OpStats            `json:"total"`
	Operations map[string]core.OpStats `json:"operations"`
}

// Intervals merges every worker's snapshots into buckets of width, aligned
// on the run's first snapshot: a worker's row counts in
// the bucket holding its interval's midpoint. Workers cut their intervals on
// their own clocks, so a bucket is where their rows meet; QPS is over the
// bucket's width. Readable while the run goes on, like Rollup.
func Intervals(run store.Run, rows []store.Snapshot, width time.Duration) ([]Interval, error) {
	if width <= 0 {
		width = time.Second
	}
	if len(rows) == 0 {
		return nil, nil
	}
	// Aligned on the first snapshot, not on RUN_STATUS's start: workers
	// start their interval clocks when they join, before the run is marked
	// running, and a bucket should hold one interval of each.
	var base time.Time
	for _, r := range rows {
		if base.IsZero() || r.IntervalStart.Before(base) {
			base = r.IntervalStart
		}
	}
	type bucket struct {
		snap    *metrics.Snapshot
		index   map[string]int
		workers map[string]bool
		phase   core.Phase
	}
	buckets := map[int64]*bucket{}
	var keys []int64
	for _, r := range rows {
		// By the interval's midpoint: a worker's ticks end a little after
		// each boundary, so its ends would straddle buckets.
		mid := r.IntervalStart.Add(r.IntervalEnd.Sub(r.IntervalStart) / 2)
		k := int64(mid.Sub(base) / width)
		b := buckets[k]
		if b == nil {
			b = &bucket{snap: &metrics.Snapshot{}, index: map[string]int{}, workers: map[string]bool{}}
			buckets[k] = b
			keys = append(keys, k)
		}
		i, ok := b.index[r.Operation]
		if !ok {
			i = len(b.snap.Names)
			b.index[r.Operation] = i
			b.snap.Names = append(b.snap.Names, r.Operation)
			b.snap.Ops = append(b.snap.Ops, metrics.Op{Service: metrics.NewHistogram()})
		}
		op, err := Decode(r)
		if err != nil {
			return nil, fmt.Errorf("rollup: run %s: %w", run.ID, err)
		}
		if err := b.snap.Ops[i].Merge(&op); err != nil {
			return nil, err
		}
		b.workers[r.WorkerID] = true
		if b.phase == "" || r.Phase == core.PhaseMeasurement {
			b.phase = r.Phase
		}
	}
	slices.Sort(keys)
	out := make([]Interval, 0, len(keys))
	for _, k := range keys {
		b := buckets[k]
		total, ops := b.snap.Stats(width.Seconds())
		start := base.Add(time.Duration(k) * width)
		out = append(out, Interval{Start: start, End: start.Add(width), Phase: b.phase, Workers: len(b.workers),
			Total: total, Operations: ops})
	}
	return out, nil
}

// Load reads a run's RUN_STATUS row and its snapshots, what Rollup and
// Intervals work from.
func Load(ctx context.Context, st Reader, runID string) (store.Run, []store.Snapshot, error) {
	run, err := st.GetRun(ctx, runID)
	if err != nil {
		return run, nil, err
	}
	rows, err := st.Snapshots(ctx, runID)
	return run, rows, err
}

// Reader is what the read side needs of a store.
type Reader interface {
	GetRun(ctx context.Context, runID string) (store.Run, error)
	Snapshots(ctx context.Context, runID string) ([]store.Snapshot, error)
}

// Decode turns one stored snapshot row into the metrics it holds: its
// counts and its three histograms (service, response, failed; an empty
// one is nil). It is the one decoder of stored snapshots: Rollup,
// Intervals and Live merge what it returns, and report.Stats (the
// exports) reads it.
func Decode(r store.Snapshot) (metrics.Op, error) {
	op := metrics.Op{Count: r.Count, Errors: r.Errors}
	for _, h := range []struct {
		dst  **hdr.Histogram
		text string
	}{{&op.Service, r.Histogram}, {&op.Response, r.ResponseHistogram}, {&op.Failed, r.ErrorHistogram}} {
		var err error
		if *h.dst, err = metrics.Decode(h.text); err != nil {
			return metrics.Op{}, fmt.Errorf("snapshot of %s at %s: %w", r.WorkerID, r.IntervalStart, err)
		}
	}
	return op, nil
}
