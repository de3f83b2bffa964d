package core

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file holds service-level objectives (a template's slo: sections),
// their verdicts, and the steady-state warm-up setting.

// Ratio is a fraction that reads as a percentage ("0.1%", "5%") or as a
// plain fraction ("0.001") in YAML, JSON and flags, and writes as a
// fraction in JSON.
type Ratio float64

// ParseRatio parses "5%" (percent) or "0.05" (a fraction). A fraction
// above 1 without "%" is refused as ambiguous ("5" could mean 5 %).
func ParseRatio(s string) (Ratio, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("bad percentage %q: want a number before %%, like 0.1%%", s)
		}
		return Ratio(v / 100), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("bad ratio %q: want a percentage like 5%% or a fraction like 0.05", s)
	}
	if v > 1 {
		return 0, fmt.Errorf("bad ratio %q: a fraction above 1 is ambiguous: write %s%% or %g", s, s, v/100)
	}
	return Ratio(v), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Ratio) UnmarshalText(b []byte) error {
	v, err := ParseRatio(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// UnmarshalJSON takes a number (a fraction) or a string (ParseRatio).
func (r *Ratio) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		*r = Ratio(f)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("bad ratio %s: want a number or a string like \"5%%\"", b)
	}
	return r.UnmarshalText([]byte(s))
}

// String formats r as a percentage.
func (r Ratio) String() string { return strconv.FormatFloat(float64(r)*100, 'g', -1, 64) + "%" }

// SLO is a set of service-level objectives for one scope: a run's total
// (Spec.SLO) or one operation (OperationSpec.SLO). Nil fields are not
// objectives. Latency objectives are checked on response time in the open
// model (from the intended start: queueing counts) and on service time in
// the closed loop.
type SLO struct {
	P95Ms     *float64 `json:"p95_ms,omitempty" yaml:"p95_ms,omitempty"`
	P99Ms     *float64 `json:"p99_ms,omitempty" yaml:"p99_ms,omitempty"`
	ErrorRate *Ratio   `json:"error_rate,omitempty" yaml:"error_rate,omitempty"`
	MinQPS    *float64 `json:"min_qps,omitempty" yaml:"min_qps,omitempty"`
}

// The objectives, as SLOVerdict.Objective names them.
const (
	ObjectiveP95       = "p95_ms"
	ObjectiveP99       = "p99_ms"
	ObjectiveErrorRate = "error_rate"
	ObjectiveMinQPS    = "min_qps"
)

// ScopeTotal is the scope of the total's objectives; an operation's scope
// is its name.
const ScopeTotal = "total"

// Empty reports whether s sets no objective.
func (s *SLO) Empty() bool {
	return s == nil || s.P95Ms == nil && s.P99Ms == nil && s.ErrorRate == nil && s.MinQPS == nil
}

// validate adds s's problems under path.
func (s *SLO) validate(errs *FieldErrors, path string) {
	if s == nil {
		return
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{ObjectiveP95, s.P95Ms}, {ObjectiveP99, s.P99Ms}, {ObjectiveMinQPS, s.MinQPS}} {
		if f.v != nil && !(*f.v > 0 && !math.IsInf(*f.v, 0)) {
			errs.Add(path+"."+f.name, fmt.Sprintf("must be a positive number, got %v", *f.v))
		}
	}
	if s.ErrorRate != nil && !(*s.ErrorRate >= 0 && *s.ErrorRate < 1) {
		errs.Add(path+"."+ObjectiveErrorRate, fmt.Sprintf("must be at least 0%% and below 100%%, got %s", *s.ErrorRate))
	}
	if s.Empty() {
		errs.Add(path, "sets no objective: give p95_ms, p99_ms, error_rate or min_qps (or leave slo out)")
	}
}

// SLOVerdict is one objective checked on a run's measurement phase (or on
// a find-max step).
type SLOVerdict struct {
	// Scope is ScopeTotal or an operation's name.
	Scope     string  `json:"scope"`
	Objective string  `json:"objective"`
	Threshold float64 `json:"threshold"`
	Observed  float64 `json:"observed"`
	Pass      bool    `json:"pass"`
}

// Check checks s's objectives on st, the figures of scope. A scope with no
// successful execution fails its latency objectives (observed 0), and one
// with no execution at all has an error rate of 0.
func (s *SLO) Check(scope string, st OpStats) []SLOVerdict {
	if s.Empty() {
		return nil
	}
	lat := st.Latency
	if st.Response != nil {
		lat = *st.Response
	}
	ok := st.Count - st.Errors
	var out []SLOVerdict
	if s.P95Ms != nil {
		out = append(out, SLOVerdict{scope, ObjectiveP95, *s.P95Ms, lat.P95, ok > 0 && lat.P95 <= *s.P95Ms})
	}
	if s.P99Ms != nil {
		out = append(out, SLOVerdict{scope, ObjectiveP99, *s.P99Ms, lat.P99, ok > 0 && lat.P99 <= *s.P99Ms})
	}
	if s.ErrorRate != nil {
		rate := 0.0
		if st.Count > 0 {
			rate = float64(st.Errors) / float64(st.Count)
		}
		out = append(out, SLOVerdict{scope, ObjectiveErrorRate, float64(*s.ErrorRate), rate, rate <= float64(*s.ErrorRate)})
	}
	if s.MinQPS != nil {
		out = append(out, SLOVerdict{scope, ObjectiveMinQPS, *s.MinQPS, st.QPS, st.QPS >= *s.MinQPS})
	}
	return out
}

// CheckSLO checks every objective of spec (the total's, then each
// operation's in the workload's order) on r's measurement phase; nil when
// spec sets none.
func CheckSLO(spec Spec, r *Result) []SLOVerdict {
	out := spec.SLO.Check(ScopeTotal, r.Total)
	for _, op := range spec.Workload.Operations {
		out = append(out, op.SLO.Check(op.Name, r.Operations[op.Name])...)
	}
	return out
}

// SLOPassed reports whether every verdict passed (true for none).
func SLOPassed(vs []SLOVerdict) bool {
	for _, v := range vs {
		if !v.Pass {
			return false
		}
	}
	return true
}

// ParseSLO parses the compact form of a total's objectives, as
// `unistore find-max --slo` takes it: comma-separated
// "p95<20ms", "p99<20ms", "errors<0.1%" (or "error_rate<0.001") and
// "qps>500" (also "<=" and ">=", which mean the same).
func ParseSLO(s string) (SLO, error) {
	var out SLO
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.IndexAny(part, "<>")
		if i <= 0 {
			return SLO{}, fmt.Errorf("bad objective %q: want NAME<VALUE like p99<20ms, errors<0.1%% or qps>500", part)
		}
		name, op, val := strings.ToLower(strings.TrimSpace(part[:i])), part[i], strings.TrimPrefix(part[i+1:], "=")
		val = strings.TrimSpace(val)
		switch name {
		case "p95", "p99", "p95_ms", "p99_ms":
			if op != '<' {
				return SLO{}, fmt.Errorf("bad objective %q: a latency objective is an upper bound: %s<VALUE", part, name)
			}
			ms, err := parseMillis(val)
			if err != nil {
				return SLO{}, fmt.Errorf("bad objective %q: %w", part, err)
			}
			if strings.HasPrefix(name, "p95") {
				out.P95Ms = &ms
			} else {
				out.P99Ms = &ms
			}
		case "errors", "error_rate":
			if op != '<' {
				return SLO{}, fmt.Errorf("bad objective %q: the error rate is an upper bound: errors<VALUE", part)
			}
			r, err := ParseRatio(val)
			if err != nil {
				return SLO{}, fmt.Errorf("bad objective %q: %w", part, err)
			}
			out.ErrorRate = &r
		case "qps", "min_qps":
			if op != '>' {
				return SLO{}, fmt.Errorf("bad objective %q: QPS is a lower bound: qps>VALUE", part)
			}
			v, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return SLO{}, fmt.Errorf("bad objective %q: want a number of operations per second", part)
			}
			out.MinQPS = &v
		default:
			return SLO{}, fmt.Errorf("bad objective %q: unknown figure %q (want p95, p99, errors or qps)", part, name)
		}
	}
	var errs FieldErrors
	out.validate(&errs, "slo")
	if len(errs) > 0 {
		return SLO{}, fmt.Errorf("%s", strings.TrimPrefix(errs[0].Error(), "slo: "))
	}
	return out, nil
}

// parseMillis reads "20ms", "1.5s", "500us" or a bare number of
// milliseconds.
func parseMillis(s string) (float64, error) {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return v, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration like 20ms")
	}
	return float64(d) / float64(time.Millisecond), nil
}

// SteadyWarmup ends a warm-up early, once the run is steady: when the
// per-second QPS and p99 over the last Window each have a coefficient of
// variation below Tolerance. Max bounds the warm-up (and is Spec.Warmup).
// In a template it is the mapping form of warmup:
//
//	warmup: {until: steady, window: 10s, max: 3m, tolerance: 5%}
type SteadyWarmup struct {
	Until     string   `json:"until" yaml:"until"`
	Window    Duration `json:"window,omitempty" yaml:"window,omitempty"`
	Max       Duration `json:"max,omitempty" yaml:"max,omitempty"`
	Tolerance Ratio    `json:"tolerance,omitempty" yaml:"tolerance,omitempty"`
}

// Steady-state warm-up defaults.
const (
	UntilSteady            = "steady"
	DefaultSteadyWindow    = Duration(10 * time.Second)
	DefaultSteadyMax       = Duration(3 * time.Minute)
	DefaultSteadyTolerance = Ratio(0.05)
	minSteadyWindow        = Duration(2 * time.Second)
	WarmupEndedBySteady    = "steady"
	WarmupEndedByMax       = "max"
	WarmupEndedByDuration  = "duration"
)

// String says the steady warm-up in words, as the run's start line
// prints it: "until steady (window 10s, max 3m, tolerance 5%)".
func (w SteadyWarmup) String() string {
	return fmt.Sprintf("until %s (window %s, max %s, tolerance %s)", cmp.Or(w.Until, UntilSteady), shortDuration(w.Window), shortDuration(w.Max), w.Tolerance)
}

// shortDuration is d without zero trailing units: 3m, 1m30s, 1h.
func shortDuration(d Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// withDefaults fills a steady warm-up's zero fields; max is the spec's
// warm-up when it gives one.
func (w SteadyWarmup) withDefaults(warmup Duration) SteadyWarmup {
	if w.Window == 0 {
		w.Window = DefaultSteadyWindow
	}
	if w.Tolerance == 0 {
		w.Tolerance = DefaultSteadyTolerance
	}
	if w.Max == 0 {
		w.Max = warmup
		if w.Max == 0 {
			w.Max = DefaultSteadyMax
		}
	}
	return w
}

func (w *SteadyWarmup) validate(errs *FieldErrors) {
	if w == nil {
		return
	}
	if w.Until != UntilSteady {
		errs.Add("warmup.until", fmt.Sprintf("want %q, got %q (or give warmup as a duration, like 30s)", UntilSteady, w.Until))
	}
	if w.Window != 0 && w.Window < minSteadyWindow {
		errs.Add("warmup.window", fmt.Sprintf("must be at least %s (two per-second figures), got %s", minSteadyWindow, w.Window))
	}
	if w.Max < 0 {
		errs.Add("warmup.max", "must be positive, got "+w.Max.String())
	}
	if w.Window != 0 && w.Max != 0 && w.Max < w.Window {
		errs.Add("warmup.max", fmt.Sprintf("must be at least the window (%s), got %s", w.Window, w.Max))
	}
	if !(w.Tolerance >= 0 && w.Tolerance < 1) {
		errs.Add("warmup.tolerance", fmt.Sprintf("must be above 0%% and below 100%%, got %s", w.Tolerance))
	}
}

// WarmupDecision records how a run's warm-up ended: by a steady state
// (EndedBy "steady", with the figures that showed it), at the steady
// warm-up's maximum ("max"), or after a fixed warm-up ("duration").
type WarmupDecision struct {
	EndedBy string    `json:"ended_by"`
	At      time.Time `json:"at"`
	// AfterSeconds is the warm-up's length when it ended.
	AfterSeconds float64 `json:"after_seconds"`
	// QPSCV and P99CV are the coefficients of variation of the per-second
	// QPS and p99 over the last window when the decision came (steady
	// warm-ups only).
	QPSCV float64 `json:"qps_cv,omitempty"`
	P99CV float64 `json:"p99_cv,omitempty"`
}
