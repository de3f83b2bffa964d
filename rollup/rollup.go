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
	res.Warmup = core.PhaseStats{ConfiguredSeconds: spec.Warmup.D().Seconds()}
	if wu := totals[core.PhaseWarmup]; wu != nil {
		res.Warmup.Seconds, res.Warmup.Count, res.Warmup.Errors = wu.End.Sub(wu.Start).Seconds(), wu.Count(), wu.Errors()
	}
	meas := totals[core.PhaseMeasurement]
	if meas == nil {
		meas = metrics.NewSnapshot(names, open)
	}
	res.MeasuredSeconds = meas.End.Sub(meas.Start).Seconds()
	res.Total, res.Operations = meas.Stats(res.MeasuredSeconds)
	res.Open = nil
	if open {
		res.Open = openStats(totals, spec.Workers)
	}
	if res.ConnectionsTarget == nil {
		res.ConnectionsTarget = Targets(spec, nil)
	}
	// The objectives are checked on the measurement phase's figures, here,
	// so that the result a run reports and the one `runs show` recomputes
	// hold the same verdicts.
	res.SLO = core.CheckSLO(spec, &res)
	return &res, nil
}

// Targets replays a run's SET_WORKER_TARGET events over its spec's
// connections: the connection targets at the start, at the end and at
// most, per worker and in all, and every change. Events after the first
// STOP are left out: workers act on nothing after it.
func Targets(spec core.Spec, events []store.Event) *core.ConnectionTargets {
	workers := max(spec.Workers, 1)
	per := make([]int, workers)
	for g := range per {
		per[g] = spec.Connections
	}
	t := &core.ConnectionTargets{Start: spec.Connections, TotalStart: spec.Connections * workers}
	sum := func() (total, most int) {
		for _, c := range per {
			total, most = total+c, max(most, c)
		}
		return total, most
	}
	t.TotalFinal, t.Final = sum()
	t.TotalMax, t.Max = t.TotalFinal, t.Final
	for _, e := range events {
		if e.Kind == control.EventStop {
			break
		}
		if e.Kind != control.EventSetWorkerTarget {
			continue
		}
		var p control.TargetPayload
		if json.Unmarshal(e.Payload, &p) != nil || p.Connections < 1 {
			continue
		}
		for g := range per {
			if c, ok := control.TargetFor(e.Payload, g); ok {
				per[g] = c
			}
		}
		t.TotalFinal, t.Final = sum()
		t.TotalMax, t.Max = max(t.TotalMax, t.TotalFinal), max(t.Max, t.Final)
		t.Changes = append(t.Changes, core.ConnectionChange{At: e.CreatedAt, Connections: p.Connections, Groups: p.Groups, Total: t.TotalFinal})
	}
	return t
}

// eventReader is the store method Result uses, when the store has it, to
// replay a running run's scales (Targets).
type eventReader interface {
	EventsSince(ctx context.Context, runID string, afterSeq int64) ([]store.Event, error)
}

// openStats accounts for every intended start of the measurement. A
// worker counts a start as intended when its pacer makes it due, as
// started when a loop takes it and as skipped when the backlog is full,
// each exactly once, in the interval (and so the phase) where that
// happened. Summed over every phase, intended − started − skipped is
// what was still queued when the workers stopped (Pending); summed over
// the phases before measurement, it is what warm-up left queued
// (CarriedIn), which measurement then served. So the measurement's
// Intended, its own due starts plus CarriedIn, equals Started + Skipped +
// Pending.
func openStats(totals map[core.Phase]*metrics.Snapshot, workers int) *core.OpenStats {
	o := &core.OpenStats{LateThresholdMS: control.LateThresholdMS()}
	var pending int64
	for p, t := range totals {
		left := t.Open.Intended - t.Open.Started - t.Open.Skipped
		pending += left
		if p == core.PhaseMeasurement {
			o.Intended, o.Started, o.Late, o.Skipped = t.Open.Intended, t.Open.Started, t.Open.Late, t.Open.Skipped
		} else {
			o.CarriedIn += left
		}
	}
	o.Intended += o.CarriedIn
	o.Pending = max(pending, 0)
	missed := o.Skipped + o.Pending
	o.Behind = missed > 0 && float64(missed) > max(0.01*float64(o.Intended), float64(workers))
	return o
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
	if er, ok := st.(eventReader); ok && base.ConnectionsTarget == nil {
		events, err := er.EventsSince(ctx, runID, 0)
		if err != nil {
			return nil, err
		}
		base.ConnectionsTarget = Targets(run.Spec, events)
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
