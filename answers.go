package unistore

// Answers, not just numbers (issue 12): find-max at an SLO, and a
// statistical regression verdict between two stored runs. SLO verdicts
// themselves are in every Result (Result.SLO), and a steady-state warm-up
// is a Spec setting (Spec.WarmupSteady).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/stats"
	"github.com/unistore-bench/unistore/store"
)

// Types of find-max and of SLOs.
type (
	// FindMaxConfig says how FindMax steps (orchestrator.FindMaxConfig).
	FindMaxConfig = orchestrator.FindMaxConfig
	// FindMaxResult is FindMax's answer with its step history.
	FindMaxResult = orchestrator.FindMaxResult
	// FindMaxStep is one step of a find-max run.
	FindMaxStep = orchestrator.FindMaxStep
	// SLO is a set of service-level objectives (Spec.SLO,
	// OperationSpec.SLO, FindMaxConfig.SLO).
	SLO = core.SLO
	// SLOVerdict is one objective checked (Result.SLO).
	SLOVerdict = core.SLOVerdict
)

// Find-max's choices, answers and step verdicts, and its defaults (the
// CLI's flags reuse them).
const (
	FindMaxByRate        = orchestrator.FindMaxByRate
	FindMaxByConnections = orchestrator.FindMaxByConnections

	AnswerFound       = orchestrator.AnswerFound
	AnswerLowerBound  = orchestrator.AnswerLowerBound
	AnswerClientBound = orchestrator.AnswerClientBound
	AnswerNone        = orchestrator.AnswerNone
	AnswerStopped     = orchestrator.AnswerStopped

	StepPass        = orchestrator.StepPass
	StepBreach      = orchestrator.StepBreach
	StepClientBound = orchestrator.StepClientBound

	DefaultFindMaxStartRate   = orchestrator.DefaultFindMaxStartRate
	DefaultFindMaxFactor      = orchestrator.DefaultFindMaxFactor
	DefaultFindMaxResolution  = orchestrator.DefaultFindMaxResolution
	DefaultFindMaxStepWarmup  = orchestrator.DefaultFindMaxStepWarmup
	DefaultFindMaxStepMeasure = orchestrator.DefaultFindMaxStepMeasure
	DefaultFindMaxMaxSteps    = orchestrator.DefaultFindMaxMaxSteps
)

// ErrNoBaseline is matched (errors.Is) by Baseline's error for a name the
// store does not know.
var ErrNoBaseline = store.ErrNotFound

// ParseSLO parses the compact form "p99<20ms,errors<0.1%".
func ParseSLO(s string) (SLO, error) { return core.ParseSLO(s) }

// FindMax finds the highest open-model rate (or connections, c.By) at
// which spec's target meets c.SLO, in one run whose steps change the
// rate or connections live (see orchestrator.FindMax). Options are Start's;
// the step history is stored in the results store (WithStore) when it
// keeps one. c.SLO defaults to spec.SLO.
func FindMax(ctx context.Context, spec Spec, c FindMaxConfig, opts ...Option) (*FindMaxResult, error) {
	su, err := newSetup(opts)
	if err != nil {
		return nil, err
	}
	if c.SLO.Empty() && spec.SLO != nil {
		c.SLO = *spec.SLO
	}
	return su.service(su.st, su.launcher).FindMax(ctx, spec, su.runOptions(nil), c)
}

// FindMaxSteps returns the stored step history of a find-max run.
func FindMaxSteps(ctx context.Context, st store.Store, runID string) ([]store.Step, error) {
	ss, ok := st.(store.StepStore)
	if !ok {
		return nil, fmt.Errorf("unistore: the store (%T) keeps no find-max steps", st)
	}
	return ss.Steps(ctx, runID)
}

// FindMaxHistory returns the stored steps of a find-max run, decoded: an
// empty slice for a run that is not one.
func FindMaxHistory(ctx context.Context, st store.Store, runID string) ([]FindMaxStep, error) {
	if _, err := st.GetRun(ctx, runID); err != nil {
		return nil, err
	}
	rows, err := FindMaxSteps(ctx, st, runID)
	if err != nil {
		return nil, err
	}
	out := make([]FindMaxStep, 0, len(rows))
	for _, r := range rows {
		var s FindMaxStep
		if err := json.Unmarshal(r.Detail, &s); err != nil {
			return nil, fmt.Errorf("unistore: find-max step %d of run %s: %w", r.Step, runID, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// VerdictConfig tunes Verdict. Zero fields take the defaults.
type VerdictConfig struct {
	// Threshold is the smallest relative change that counts (default 5%).
	Threshold float64
	// Confidence is the confidence interval's level (default 0.95).
	Confidence float64
	// Method is how the figures are compared (default
	// stats.MethodBlockBootstrap; see package stats).
	Method stats.Method
	// Resamples and Seed drive the bootstrap methods (default 2000,
	// seed 1): a fixed seed makes a verdict reproducible.
	Resamples int
	Seed      uint64
	// Gate lists the figures (VerdictFigures) whose REGRESSION sets
	// VerdictReport.Regression, the CLI's exit 1; empty: all of them.
	// Every figure is judged and reported either way.
	Gate []string
	// Width is the interval over which per-interval figures are taken
	// (default 1s).
	Width time.Duration
}

// VerdictFigures are the figures a verdict judges, for every scope.
func VerdictFigures() []string { return []string{"qps", "p50_ms", "p99_ms"} }

// Verdict defaults.
const (
	DefaultVerdictThreshold  = 0.05
	DefaultVerdictConfidence = 0.95
)

// FigureVerdict is one figure's comparison.
type FigureVerdict struct {
	// Scope is "total" or an operation's name; Figure is qps, p50_ms or
	// p99_ms.
	Scope  string  `json:"scope"`
	Figure string  `json:"figure"`
	Base   float64 `json:"base"` // mean of the base run's per-interval figures
	New    float64 `json:"new"`
	// Change is the relative difference (new−base)/base with its
	// confidence interval, as fractions.
	Change  stats.Interval `json:"change"`
	Verdict stats.Verdict  `json:"verdict"`
	// Samples are the per-interval figures used on each side.
	BaseSamples int `json:"base_samples"`
	NewSamples  int `json:"new_samples"`
	// Detail is what the method saw besides the interval: the block
	// lengths of the block bootstrap, U and p of Mann–Whitney.
	Detail string `json:"detail,omitempty"`
	// Note says why a figure could not be judged (too few intervals).
	Note string `json:"note,omitempty"`
}

// VerdictReport is Verdict's answer.
type VerdictReport struct {
	Base   string       `json:"base"`
	New    string       `json:"new"`
	Method stats.Method `json:"method"`
	// MethodText says the method in words, with its parameters.
	MethodText string          `json:"method_text"`
	Threshold  float64         `json:"threshold"`
	Confidence float64         `json:"confidence"`
	Figures    []FigureVerdict `json:"figures"`
	// Gate is the figures that gate (VerdictConfig.Gate).
	Gate []string `json:"gate"`
	// Regression is set when a gating figure, of any scope, is a
	// REGRESSION.
	Regression bool `json:"regression"`
}

// Verdict compares two stored runs figure by figure — the total's and
// every operation's QPS, p50 and p99 — from their per-interval figures
// (each second of the measurement phase, first and last left out as
// partial): by default a circular block bootstrap confidence interval of
// the relative difference of the means (c.Method chooses another),
// judged REGRESSION, IMPROVEMENT or NO CHANGE against the threshold
// (package stats).
func Verdict(ctx context.Context, st store.Store, base, newRun string, c VerdictConfig) (*VerdictReport, error) {
	if c.Threshold == 0 {
		c.Threshold = DefaultVerdictThreshold
	}
	if c.Confidence == 0 {
		c.Confidence = DefaultVerdictConfidence
	}
	if c.Resamples == 0 {
		c.Resamples = stats.DefaultResamples
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Width == 0 {
		c.Width = time.Second
	}
	method, err := stats.ParseMethod(string(c.Method))
	if err != nil {
		return nil, fmt.Errorf("unistore: verdict: %w", err)
	}
	gate := VerdictFigures()
	if len(c.Gate) > 0 {
		gate = nil
		for _, g := range c.Gate {
			if !slices.Contains(VerdictFigures(), g) {
				return nil, fmt.Errorf("unistore: verdict: unknown figure %q to gate on (want some of %s)", g, strings.Join(VerdictFigures(), ", "))
			}
			if !slices.Contains(gate, g) {
				gate = append(gate, g)
			}
		}
	}
	if !(c.Threshold > 0 && c.Threshold < 1) {
		return nil, fmt.Errorf("unistore: verdict: threshold must be between 0%% and 100%%, got %v", c.Threshold)
	}
	if !(c.Confidence > 0 && c.Confidence < 1) {
		return nil, fmt.Errorf("unistore: verdict: confidence must be between 0 and 1, got %v", c.Confidence)
	}
	a, err := figures(ctx, st, base, c.Width)
	if err != nil {
		return nil, err
	}
	b, err := figures(ctx, st, newRun, c.Width)
	if err != nil {
		return nil, err
	}
	var text string
	switch method {
	case stats.MethodBlockBootstrap:
		text = fmt.Sprintf("circular block bootstrap (percentile, %d resamples, seed %d, block length from each series' lag-1 autocorrelation) of the relative difference of the means of per-%s figures", c.Resamples, c.Seed, c.Width)
	case stats.MethodBootstrap:
		text = fmt.Sprintf("iid bootstrap (percentile, %d resamples, seed %d; ignores autocorrelation) of the relative difference of the means of per-%s figures", c.Resamples, c.Seed, c.Width)
	case stats.MethodMannWhitney:
		text = fmt.Sprintf("Mann–Whitney U (normal approximation, tie-corrected) with the Hodges–Lehmann shift over the base's median, of per-%s figures", c.Width)
	}
	rep := &VerdictReport{Base: base, New: newRun, Threshold: c.Threshold, Confidence: c.Confidence,
		Method: method, MethodText: text, Gate: gate, Figures: []FigureVerdict{}}
	scopes := []string{core.ScopeTotal}
	for name := range a {
		if name != core.ScopeTotal && b[name] != nil {
			scopes = append(scopes, name)
		}
	}
	slices.Sort(scopes[1:])
	for _, scope := range scopes {
		for _, fig := range []struct {
			name   string
			higher bool
		}{{"qps", true}, {"p50_ms", false}, {"p99_ms", false}} {
			xa, xb := a[scope][fig.name], b[scope][fig.name]
			fv := FigureVerdict{Scope: scope, Figure: fig.name, BaseSamples: len(xa), NewSamples: len(xb),
				Base: stats.Mean(xa), New: stats.Mean(xb), Verdict: stats.NoChange}
			var ci stats.Interval
			var err error
			switch method {
			case stats.MethodBlockBootstrap:
				ci, err = stats.BlockBootstrapRelDiff(xa, xb, c.Confidence, c.Resamples, c.Seed)
				fv.Detail = fmt.Sprintf("blocks %d/%d", stats.BlockLength(xa), stats.BlockLength(xb))
			case stats.MethodBootstrap:
				ci, err = stats.BootstrapRelDiff(xa, xb, c.Confidence, c.Resamples, c.Seed)
			case stats.MethodMannWhitney:
				var mw stats.MannWhitneyResult
				mw, err = stats.MannWhitney(xa, xb, c.Confidence)
				ci = mw.Shift
				fv.Detail = fmt.Sprintf("U=%g p=%.3f", mw.U, mw.P)
			}
			if err != nil {
				fv.Detail = ""
				fv.Note = err.Error()
				fv.Base, fv.New = zeroNaN(fv.Base), zeroNaN(fv.New)
			} else {
				fv.Change = ci
				fv.Verdict = stats.Judge(ci, c.Threshold, fig.higher)
			}
			rep.Regression = rep.Regression || (fv.Verdict == stats.Regression && slices.Contains(gate, fig.name))
			rep.Figures = append(rep.Figures, fv)
		}
	}
	return rep, nil
}

func zeroNaN(v float64) float64 {
	if v != v {
		return 0
	}
	return v
}

// figures returns a run's per-interval QPS, p50 and p99 by scope (the
// total and each operation), over its measurement phase's whole
// intervals. Latency is response time in the open model.
func figures(ctx context.Context, st store.Store, runID string, width time.Duration) (map[string]map[string][]float64, error) {
	run, rows, err := rollup.Load(ctx, st, runID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("unistore: run %q does not exist", runID)
	}
	if err != nil {
		return nil, err
	}
	var meas []store.Snapshot
	for _, r := range rows {
		if r.Phase == core.PhaseMeasurement {
			meas = append(meas, r)
		}
	}
	iv, err := rollup.Intervals(run, meas, width)
	if err != nil {
		return nil, err
	}
	if len(iv) > 2 {
		iv = iv[1 : len(iv)-1] // partial intervals at either end
	}
	out := map[string]map[string][]float64{}
	add := func(scope string, s core.OpStats) {
		m := out[scope]
		if m == nil {
			m = map[string][]float64{}
			out[scope] = m
		}
		lat := s.Latency
		if s.Response != nil {
			lat = *s.Response
		}
		m["qps"] = append(m["qps"], s.QPS)
		if s.Count-s.Errors > 0 {
			m["p50_ms"] = append(m["p50_ms"], lat.P50)
			m["p99_ms"] = append(m["p99_ms"], lat.P99)
		}
	}
	for _, b := range iv {
		add(core.ScopeTotal, b.Total)
		for name, s := range b.Operations {
			add(name, s)
		}
	}
	return out, nil
}

// SetBaseline names runID the baseline name in the store (replacing an
// earlier run of that name), for Verdict against a named baseline.
func SetBaseline(ctx context.Context, st store.Store, name, runID string) error {
	bs, ok := st.(store.BaselineStore)
	if !ok {
		return fmt.Errorf("unistore: the store (%T) keeps no baselines", st)
	}
	if msg := core.CheckName(name); msg != "" || name == "" {
		if name == "" {
			msg = "empty"
		}
		return fmt.Errorf("unistore: baseline name %q: %s", name, msg)
	}
	return bs.SetBaseline(ctx, name, runID)
}

// Baseline returns the run id the store names baseline name.
func Baseline(ctx context.Context, st store.Store, name string) (string, error) {
	bs, ok := st.(store.BaselineStore)
	if !ok {
		return "", fmt.Errorf("unistore: the store (%T) keeps no baselines", st)
	}
	return bs.Baseline(ctx, name)
}
