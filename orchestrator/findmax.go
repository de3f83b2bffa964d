package orchestrator

// This file is find-max: one run whose steps change the open-model rate
// (SET_RATE) or the connections (SET_WORKER_TARGET) live, each step with
// its own warm-up and measured window, climbing until an SLO is breached,
// then bisecting between the last good and the first bad step.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
)

// What find-max steps.
const (
	FindMaxByRate        = "rate"
	FindMaxByConnections = "connections"
)

// Find-max defaults; the CLI's flags reuse them.
const (
	DefaultFindMaxStartRate   = 100.0
	DefaultFindMaxFactor      = 2.0
	DefaultFindMaxResolution  = 0.05
	DefaultFindMaxStepWarmup  = core.Duration(2 * time.Second)
	DefaultFindMaxStepMeasure = core.Duration(10 * time.Second)
	DefaultFindMaxMaxSteps    = 20
	// FindMaxAchievedMin is the share of the intended starts a passing
	// step must have started, skipping none: below it the client, not the
	// target, set the pace.
	FindMaxAchievedMin = 0.95
)

// Step verdicts.
const (
	StepPass        = "PASS"
	StepBreach      = "BREACH"
	StepClientBound = "CLIENT-BOUND"
)

// Find-max answers.
const (
	// AnswerFound: a step met the SLO and a higher one did not; the
	// maximum is the best good one. The two are within the resolution
	// unless the steps ran out first (FirstBad says how close).
	AnswerFound = "found"
	// AnswerLowerBound: no step breached within the steps (or the cap):
	// the maximum is at least the last good one.
	AnswerLowerBound = "lower-bound"
	// AnswerClientBound: a step met the SLO but the client could not
	// start what the schedule asked: the figure is the client's, not the
	// target's.
	AnswerClientBound = "client-bound"
	// AnswerNone: even the smallest step breached the SLO.
	AnswerNone = "none"
	// AnswerStopped: the run was stopped or cancelled before an answer.
	AnswerStopped = "stopped"
)

// FindMaxConfig says how find-max steps. Zero fields take the defaults.
type FindMaxConfig struct {
	// By is FindMaxByRate (default; open model) or FindMaxByConnections
	// (per worker, the spec's load model).
	By string `json:"by"`
	// SLO is what each step must meet, checked on the step's total.
	SLO core.SLO `json:"slo"`
	// Start is the first step's rate (default 100/s) or connections
	// (default 1).
	Start float64 `json:"start"`
	// Factor multiplies the value while no step has breached (default 2).
	Factor float64 `json:"factor"`
	// Resolution ends the bisection once (bad−good)/good is at most it
	// (default 5%); by connections, once they differ by one.
	Resolution float64 `json:"resolution"`
	// Max, if positive, caps the value.
	Max float64 `json:"max,omitempty"`
	// StepWarmup is each step's unmeasured start; StepDuration its
	// measured window.
	StepWarmup   core.Duration `json:"step_warmup"`
	StepDuration core.Duration `json:"step_duration"`
	// MaxSteps bounds the steps (default 20).
	MaxSteps int `json:"max_steps"`
	// OnStep, if set, gets each step once it is judged.
	OnStep func(FindMaxStep) `json:"-"`
}

// WithDefaults fills c's zero fields.
func (c FindMaxConfig) WithDefaults() FindMaxConfig {
	if c.By == "" {
		c.By = FindMaxByRate
	}
	if c.Start == 0 {
		c.Start = DefaultFindMaxStartRate
		if c.By == FindMaxByConnections {
			c.Start = 1
		}
	}
	if c.Factor == 0 {
		c.Factor = DefaultFindMaxFactor
	}
	if c.Resolution == 0 {
		c.Resolution = DefaultFindMaxResolution
	}
	if c.StepWarmup == 0 {
		c.StepWarmup = DefaultFindMaxStepWarmup
	}
	if c.StepDuration == 0 {
		c.StepDuration = DefaultFindMaxStepMeasure
	}
	if c.MaxSteps == 0 {
		c.MaxSteps = DefaultFindMaxMaxSteps
	}
	return c
}

// Validate reports every problem of a defaulted c, by field (the CLI's
// flag names: by, slo, start, factor, resolution, max, step-warmup,
// step-duration, max-steps).
func (c FindMaxConfig) Validate() error {
	var errs core.FieldErrors
	switch c.By {
	case FindMaxByRate, FindMaxByConnections:
	default:
		errs.Add("by", fmt.Sprintf("want %s or %s, got %q", FindMaxByRate, FindMaxByConnections, c.By))
	}
	if c.SLO.Empty() {
		errs.Add("slo", "no objective: give one like p99<20ms,errors<0.1% (or an slo: in the template)")
	} else if c.SLO.MinQPS != nil {
		errs.Add("slo", "a qps objective makes no sense for find-max: it looks for the QPS")
	}
	if !(c.Start > 0) || math.IsInf(c.Start, 0) {
		errs.Add("start", fmt.Sprintf("must be positive, got %v", c.Start))
	} else if c.By == FindMaxByConnections && c.Start != math.Trunc(c.Start) {
		errs.Add("start", fmt.Sprintf("connections are whole: got %v", c.Start))
	}
	if !(c.Factor > 1) || math.IsInf(c.Factor, 0) {
		errs.Add("factor", fmt.Sprintf("must be above 1, got %v", c.Factor))
	}
	if !(c.Resolution > 0 && c.Resolution < 1) {
		errs.Add("resolution", fmt.Sprintf("must be between 0%% and 100%%, got %v", c.Resolution))
	}
	if c.Max < 0 || math.IsNaN(c.Max) || c.Max > 0 && c.Max < c.Start {
		errs.Add("max", fmt.Sprintf("must be at least the start (%v), got %v", c.Start, c.Max))
	}
	if c.StepWarmup < 0 {
		errs.Add("step-warmup", "must not be negative")
	}
	if c.StepDuration < core.Duration(2*time.Second) {
		errs.Add("step-duration", "must be at least 2s (a step needs a few per-second snapshots), got "+c.StepDuration.String())
	}
	if c.MaxSteps < 1 {
		errs.Add("max-steps", fmt.Sprintf("must be at least 1, got %d", c.MaxSteps))
	}
	return errs.Err()
}

// FindMaxStep is one step of a find-max run: the value it set, its
// measured window (after its warm-up) and what it measured there.
// Latency is response time (from the intended start) in the open model,
// service time in the closed loop: what the SLO is checked on.
type FindMaxStep struct {
	Step int `json:"step"`
	// Rate is the step's intended rate (by rate, or the spec's fixed
	// rate); Connections the connections each worker held.
	Rate            float64      `json:"rate,omitempty"`
	Connections     int          `json:"connections"`
	StartedAt       time.Time    `json:"started_at"`
	MeasuredFrom    time.Time    `json:"measured_from"`
	EndedAt         time.Time    `json:"ended_at"`
	MeasuredSeconds float64      `json:"measured_seconds"`
	Count           int64        `json:"count"`
	Errors          int64        `json:"errors"`
	QPS             float64      `json:"qps"`
	Latency         core.Latency `json:"latency_ms"`
	// Achieved is the share of the intended starts that started (open
	// model); Skipped counts those dropped with the backlog full.
	Achieved float64           `json:"achieved,omitempty"`
	Skipped  int64             `json:"skipped,omitempty"`
	SLO      []core.SLOVerdict `json:"slo"`
	Verdict  string            `json:"verdict"`
	Note     string            `json:"note,omitempty"`
}

// FindMaxResult is find-max's answer with its step history.
type FindMaxResult struct {
	RunID  string   `json:"run_id"`
	By     string   `json:"by"`
	SLO    core.SLO `json:"slo"`
	Answer string   `json:"answer"`
	// MaxQPS is the QPS measured at the best step that met the SLO;
	// MaxRate (by rate) and MaxConnections (by connections) that step's
	// value. Zero when no step met it.
	MaxQPS         float64 `json:"max_qps"`
	MaxRate        float64 `json:"max_rate,omitempty"`
	MaxConnections int     `json:"max_connections,omitempty"`
	// FirstBad is the smallest value that breached (0 if none did).
	FirstBad   float64       `json:"first_bad,omitempty"`
	Resolution float64       `json:"resolution"`
	Steps      []FindMaxStep `json:"steps"`
	// Result is the whole run's result (every step's measurement merged).
	Result *core.Result `json:"result,omitempty"`
	// StepsDropped is set when the store could not keep the step history.
	StepsDropped bool `json:"steps_dropped,omitempty"`
}

// FindMax runs find-max: one run of spec whose steps set the rate (or the
// connections) live, as c says, and returns the answer with every step.
// The spec's warm-up is replaced by each step's own, and its duration by
// the steps': FindMax ends the run (COMPLETED) once it has an answer. It
// returns an error only for bad input or a run that could not start;
// a run stopped midway answers AnswerStopped with the steps so far.
func (s *Service) FindMax(ctx context.Context, spec core.Spec, o Options, c FindMaxConfig) (*FindMaxResult, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch c.By {
	case FindMaxByRate:
		spec.Rate = c.Start
	case FindMaxByConnections:
		spec.Connections = int(c.Start)
	}
	step := c.StepWarmup.D() + c.StepDuration.D()
	spec.Warmup, spec.WarmupSteady = 0, nil
	// An upper bound the run never reaches: FindMax ends it.
	spec.Duration = core.Duration(time.Duration(c.MaxSteps+1) * (step + time.Minute))
	run, err := s.Start(ctx, spec, o)
	if err != nil {
		return nil, err
	}
	f := &findMax{s: s, run: run, c: c, workers: run.Spec.Workers, poll: run.Spec.Control.Poll.D()}
	out := &FindMaxResult{RunID: run.ID, By: c.By, SLO: c.SLO, Resolution: c.Resolution, Steps: []FindMaxStep{}}
	out.Answer = f.search(ctx, out)
	run.End()
	res, _ := run.Wait()
	out.Result = res
	if out.Answer != AnswerStopped && res != nil && res.Status != core.StatusCompleted {
		out.Answer = AnswerStopped
	}
	return out, nil
}

type findMax struct {
	s       *Service
	run     *Run
	c       FindMaxConfig
	workers int
	poll    time.Duration
}

// search steps until an answer; it fills out's steps and maximum.
func (f *findMax) search(ctx context.Context, out *FindMaxResult) string {
	if !f.waitRunning(ctx) {
		return AnswerStopped
	}
	integer := f.c.By == FindMaxByConnections
	b := bracket{integer: integer, factor: f.c.Factor, res: f.c.Resolution, max: f.c.Max, floor: 1}
	value := f.c.Start
	for n := 1; n <= f.c.MaxSteps; n++ {
		if n > 1 && !f.apply(ctx, value) {
			return AnswerStopped
		}
		st, ok := f.measure(ctx, n, value)
		if !ok {
			return AnswerStopped
		}
		out.Steps = append(out.Steps, st)
		if !f.record(st) {
			out.StepsDropped = true
		}
		if f.c.OnStep != nil {
			f.c.OnStep(st)
		}
		if st.Verdict == StepClientBound {
			return AnswerClientBound
		}
		pass := st.Verdict == StepPass
		if pass && (!b.hasGood || value > b.good) {
			out.MaxQPS = st.QPS
			if integer {
				out.MaxConnections = int(value)
			} else {
				out.MaxRate = value
			}
		}
		next, done := b.next(value, pass)
		if b.hasBad {
			out.FirstBad = b.bad
		}
		if done {
			switch {
			case !b.hasGood:
				return AnswerNone
			case !b.hasBad:
				return AnswerLowerBound
			}
			return AnswerFound
		}
		value = next
	}
	// Out of steps: the bracket so far is the answer, however wide.
	switch {
	case !b.hasGood:
		return AnswerNone
	case b.hasBad:
		return AnswerFound
	}
	return AnswerLowerBound
}

// sleep waits d; false if the run ended or ctx did first.
func (f *findMax) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-f.run.Done():
		return false
	}
}

// waitRunning waits for every worker to have joined (the run RUNNING).
func (f *findMax) waitRunning(ctx context.Context) bool {
	for {
		r, err := f.s.Store.GetRun(ctx, f.run.ID)
		if err == nil && r.Status == core.StatusRunning {
			return true
		}
		if !f.sleep(ctx, f.poll) {
			return false
		}
	}
}

// apply appends the step's SET_RATE or SET_WORKER_TARGET.
func (f *findMax) apply(ctx context.Context, value float64) bool {
	var cmd control.Command
	var err error
	if f.c.By == FindMaxByRate {
		cmd, err = control.SetRate(value)
	} else {
		cmd, err = control.Scale(int(value), f.workers)
	}
	if err != nil {
		return false // the bracket never yields a bad value
	}
	for {
		err := appendCommand(ctx, f.s.Store, f.run.ID, cmd)
		if err == nil {
			return true
		}
		f.s.logger().Warn("orchestrator: find-max: could not append the step's event, retrying", "run_id", f.run.ID, "err", err)
		if !f.sleep(ctx, f.poll) {
			return false
		}
	}
}

// measure waits out the step's warm-up and window, then judges the window
// from the workers' snapshots.
func (f *findMax) measure(ctx context.Context, n int, value float64) (FindMaxStep, bool) {
	st := FindMaxStep{Step: n, StartedAt: time.Now().UTC(), Rate: f.run.Spec.Rate, Connections: f.run.Spec.Connections}
	if f.c.By == FindMaxByRate {
		st.Rate = value
	} else {
		st.Connections = int(value)
	}
	if !f.sleep(ctx, f.c.StepWarmup.D()) {
		return st, false
	}
	from := time.Now()
	if !f.sleep(ctx, f.c.StepDuration.D()) {
		return st, false
	}
	to := time.Now()
	st.MeasuredFrom, st.EndedAt = from.UTC(), to.UTC()
	rows, ok := f.window(ctx, from, to)
	if !ok {
		return st, false
	}
	res, err := rollup.Rollup(store.Run{ID: f.run.ID, Spec: f.run.Spec}, core.Result{}, rows)
	if err != nil {
		st.Verdict, st.Note = StepBreach, "the step's snapshots could not be read: "+err.Error()
		return st, true
	}
	tot := res.Total
	st.MeasuredSeconds, st.Count, st.Errors, st.QPS = res.MeasuredSeconds, tot.Count, tot.Errors, tot.QPS
	st.Latency = tot.Latency
	if tot.Response != nil {
		st.Latency = *tot.Response
	}
	st.SLO = f.c.SLO.Check(core.ScopeTotal, tot)
	switch {
	case tot.Count == 0:
		st.Verdict, st.Note = StepBreach, "no operation completed in the window"
	case !core.SLOPassed(st.SLO):
		st.Verdict = StepBreach
	default:
		st.Verdict = StepPass
	}
	if o := res.Open; o != nil && o.Intended > 0 {
		st.Achieved, st.Skipped = float64(o.Started)/float64(o.Intended), o.Skipped
		if st.Verdict == StepPass && (st.Achieved < FindMaxAchievedMin || o.Skipped > 0) {
			st.Verdict = StepClientBound
			st.Note = fmt.Sprintf("started %.1f%% of the intended starts (%d skipped) while meeting the SLO: "+
				"the client set the pace (more connections, or more workers, may lift it)", 100*st.Achieved, o.Skipped)
		}
	}
	return st, true
}

// window returns the measurement snapshots whose interval's midpoint lies
// in [from, to], once every worker seen there has stored one ending at or
// after to (or after a few seconds: a lost worker's never comes).
func (f *findMax) window(ctx context.Context, from, to time.Time) ([]store.Snapshot, bool) {
	deadline := to.Add(max(5*time.Second, 10*f.poll))
	for {
		all, err := f.s.Store.SnapshotsSince(ctx, f.run.ID, from)
		if err == nil {
			var rows []store.Snapshot
			newest := map[string]time.Time{}
			for _, r := range all {
				if r.IntervalEnd.After(newest[r.WorkerID]) {
					newest[r.WorkerID] = r.IntervalEnd
				}
				mid := r.IntervalStart.Add(r.IntervalEnd.Sub(r.IntervalStart) / 2)
				if r.Phase == core.PhaseMeasurement && !mid.Before(from) && !mid.After(to) {
					rows = append(rows, r)
				}
			}
			complete := len(newest) > 0
			for _, t := range newest {
				complete = complete && !t.Before(to)
			}
			if complete || time.Now().After(deadline) {
				return rows, true
			}
		}
		if !f.sleep(ctx, f.poll) {
			return nil, false
		}
	}
}

// record stores the step in the step history, if the store keeps one.
func (f *findMax) record(st FindMaxStep) bool {
	ss, ok := f.s.Store.(store.StepStore)
	if !ok {
		return false
	}
	target := strconv.Itoa(st.Connections)
	if f.c.By == FindMaxByRate {
		target = strconv.FormatFloat(st.Rate, 'g', -1, 64)
	}
	detail, _ := json.Marshal(st)
	row := store.Step{RunID: f.run.ID, Step: st.Step, By: f.c.By, Target: target, Verdict: st.Verdict,
		StartedAt: st.StartedAt, EndedAt: st.EndedAt, Detail: detail}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ss.WriteSteps(ctx, []store.Step{row}); err != nil {
		f.s.logger().Warn("orchestrator: find-max: could not store the step", "run_id", f.run.ID, "step", st.Step, "err", err)
		return false
	}
	return true
}

// bracket is find-max's search: multiply by factor while every step
// passes; divide while every step fails; then bisect between the best
// good and the smallest bad value until they are within the resolution
// (whole numbers: until they differ by one).
type bracket struct {
	integer          bool
	factor, res, max float64
	floor            float64
	good, bad        float64
	hasGood, hasBad  bool
}

// next records value's verdict and returns the next value, or done.
func (b *bracket) next(value float64, pass bool) (float64, bool) {
	if pass {
		if !b.hasGood || value > b.good {
			b.good, b.hasGood = value, true
		}
	} else if !b.hasBad || value < b.bad {
		b.bad, b.hasBad = value, true
	}
	switch {
	case !b.hasBad:
		if b.max > 0 && value >= b.max {
			return 0, true
		}
		nv := value * b.factor
		if b.integer {
			nv = max(math.Ceil(nv), value+1)
		}
		if b.max > 0 {
			nv = min(nv, b.max)
		}
		return nv, false
	case !b.hasGood:
		nv := value / b.factor
		if b.integer {
			nv = math.Floor(nv)
		}
		if nv < b.floor {
			if value > b.floor {
				return b.floor, false
			}
			return 0, true
		}
		return nv, false
	}
	if b.integer {
		if b.bad-b.good <= 1 {
			return 0, true
		}
		return math.Floor((b.good + b.bad) / 2), false
	}
	if (b.bad-b.good)/b.good <= b.res {
		return 0, true
	}
	return (b.good + b.bad) / 2, false
}
