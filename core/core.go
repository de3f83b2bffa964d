package core

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Phase is a run-level phase. Warm-up is per run, not per worker: a worker
// that joins after warm-up starts in PhaseMeasurement.
type Phase string

// The phases of a run, in order.
const (
	PhaseWarmup      Phase = "WARMUP"
	PhaseMeasurement Phase = "MEASUREMENT"
	PhaseCooldown    Phase = "COOLDOWN"
	PhaseDone        Phase = "DONE"
	// PhasePrepare labels the statements run before the load (statement
	// checks and key sampling, by the pre-flight check and by workers);
	// it is never a run's phase.
	PhasePrepare Phase = "PREPARE"
	// PhaseMeter labels the run's meter's own statements (warehouse
	// samples for the cost) while the load goes on; never a run's phase.
	PhaseMeter Phase = "METER"
)

// Status is the lifecycle state of a run.
type Status string

// The statuses of a run: PREPARED → RUNNING → STOPPING → COMPLETED, FAILED or CANCELLED.
const (
	StatusPrepared  Status = "PREPARED"
	StatusRunning   Status = "RUNNING"
	StatusStopping  Status = "STOPPING"
	StatusCompleted Status = "COMPLETED"
	StatusFailed    Status = "FAILED"
	StatusCancelled Status = "CANCELLED"
)

// Terminal reports whether s is a final status.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

// Duration is a time.Duration that reads and writes as text ("15s", "1m30s")
// in YAML and JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler. It accepts Go duration
// syntax ("500ms", "15s", "2m").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("bad duration %q: want a number with a unit, like 15s or 2m", string(b))
	}
	*d = Duration(v)
	return nil
}

// Target names the system under load. Driver may be empty: then the DSN's
// scheme picks the driver ("postgres://…", "sqlite://PATH", "snowflake://…").
type Target struct {
	Driver string `json:"driver,omitempty" yaml:"driver,omitempty"`
	DSN    string `json:"dsn" yaml:"dsn"`
}

// Spec is everything a user sets for a run. It is plain data: the same type
// is read from YAML templates, HTTP bodies and stored rows. Runtime
// dependencies (store, logger, launcher) are options, never fields.
type Spec struct {
	Name        string   `json:"name" yaml:"name"`
	Target      Target   `json:"target" yaml:"target"`
	Connections int      `json:"connections" yaml:"connections"`
	Warmup      Duration `json:"warmup" yaml:"warmup"`
	Duration    Duration `json:"duration" yaml:"duration"`
	// Rate is the open-model arrival rate in operations per second for the
	// whole worker; 0 selects the closed loop.
	Rate float64 `json:"rate,omitempty" yaml:"rate,omitempty"`
	Seed uint64  `json:"seed" yaml:"seed"`
	// Workers is the number of workers (worker groups 0..Workers-1), each
	// holding Connections connections; default 1.
	Workers int `json:"workers,omitempty" yaml:"workers,omitempty"`
	// Control tunes the control plane shared by the orchestrator and the
	// workers (they read it from the stored spec).
	Control ControlSpec `json:"control,omitempty" yaml:"control,omitempty"`
	// Capture says which query executions are stored: all, errors, none or
	// sample:FRACTION (default DefaultCapture).
	Capture string `json:"capture,omitempty" yaml:"capture,omitempty"`
	// PricePerCredit is the price of one Snowflake credit in dollars, for
	// the cost's dollar figures; 0 leaves dollars out (credits only).
	PricePerCredit float64      `json:"price_per_credit,omitempty" yaml:"price_per_credit,omitempty"`
	Workload       WorkloadSpec `json:"workload" yaml:"workload"`
	// Resources is what one worker asks of a cluster scheduler (the
	// Kubernetes and Snowpark Container Services launchers); other
	// launchers ignore it.
	Resources Resources `json:"resources,omitzero" yaml:"resources,omitempty"`
	// SLO holds the total's service-level objectives, checked on the
	// measurement phase (each operation may have its own).
	SLO *SLO `json:"slo,omitempty" yaml:"slo,omitempty"`
	// WarmupSteady, if set, ends the warm-up once the run is steady;
	// Warmup is then its maximum. A template writes it as the mapping
	// form of warmup: (package workload), so it has no YAML key of its
	// own.
	WarmupSteady *SteadyWarmup `json:"warmup_steady,omitempty" yaml:"-"`
}

// Resources is one worker's share of a cluster node, in Kubernetes
// quantity syntax ("500m" or "2" CPUs, "512Mi" or "2Gi" of memory). CPU
// is requested, never limited: a CPU limit throttles the worker in
// 100 ms slices, which would show up as latency that is the load
// generator's, not the target's. Memory is requested and limited.
type Resources struct {
	CPU    string `json:"cpu,omitempty" yaml:"cpu,omitempty"`
	Memory string `json:"memory,omitempty" yaml:"memory,omitempty"`
}

// quantity is the Kubernetes quantity grammar (k8s.io/apimachinery's
// resource.ParseQuantity): a decimal number, then an SI suffix, a binary
// suffix or a decimal exponent.
var quantity = regexp.MustCompile(`^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([numkMGTPE]|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)?$`)

// ControlSpec holds the control plane's timings. Zero fields take the
// defaults below.
type ControlSpec struct {
	// Poll is how often workers read control events and the orchestrator
	// reads heartbeats.
	Poll Duration `json:"poll,omitempty" yaml:"poll,omitempty"`
	// Heartbeat is how often a worker writes its heartbeat.
	Heartbeat Duration `json:"heartbeat,omitempty" yaml:"heartbeat,omitempty"`
	// HeartbeatTimeout is how long a worker may be silent before the
	// orchestrator declares it lost.
	HeartbeatTimeout Duration `json:"heartbeat_timeout,omitempty" yaml:"heartbeat_timeout,omitempty"`
	// Lease is how long a worker keeps going without seeing the
	// orchestrator renew the run (or without reaching the store) before it
	// stops on its own: no orphan load.
	Lease Duration `json:"lease,omitempty" yaml:"lease,omitempty"`
	// MaxRelaunches bounds the relaunches of one worker group.
	MaxRelaunches int `json:"max_relaunches,omitempty" yaml:"max_relaunches,omitempty"`
}

// Control-plane defaults.
const (
	DefaultPoll             = Duration(200 * time.Millisecond)
	DefaultHeartbeat        = Duration(time.Second)
	DefaultHeartbeatTimeout = Duration(5 * time.Second)
	DefaultLease            = Duration(15 * time.Second)
	DefaultMaxRelaunches    = 3
)

// WithDefaults fills zero fields. A negative MaxRelaunches means none.
func (c ControlSpec) WithDefaults() ControlSpec {
	if c.Poll == 0 {
		c.Poll = DefaultPoll
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if c.Lease == 0 {
		c.Lease = DefaultLease
	}
	if c.MaxRelaunches == 0 {
		c.MaxRelaunches = DefaultMaxRelaunches
	}
	return c
}

// Defaults. The CLI's flags reuse these.
const (
	DefaultConnections = 4
	DefaultWarmup      = Duration(2 * time.Second)
	DefaultDuration    = Duration(15 * time.Second)
	DefaultSeed        = 1
)

// WithDefaults returns s with zero fields set to their defaults: in a
// Spec built in Go, a zero value means "not given". Warmup is left as
// given: zero is a legal warm-up. It is called once, where a run's spec
// enters (orchestrator.Service.Start); the stored spec of a run is the
// defaulted one, so readers of stored runs never call it.
//
// A template or a command line can tell a zero that was written from one
// that was left out: they report the written ones with CheckGiven before a
// default could replace them.
func (s Spec) WithDefaults() Spec {
	if s.Connections == 0 {
		s.Connections = DefaultConnections
	}
	if s.Duration == 0 {
		s.Duration = DefaultDuration
	}
	if s.Seed == 0 {
		s.Seed = DefaultSeed
	}
	if s.Capture == "" {
		s.Capture = DefaultCapture
	}
	if s.Workers == 0 {
		s.Workers = 1
	}
	s.Control = s.Control.WithDefaults()
	if s.WarmupSteady != nil {
		w := s.WarmupSteady.withDefaults(s.Warmup)
		s.WarmupSteady, s.Warmup = &w, w.Max
	}
	for i := range s.Workload.Operations {
		if s.Workload.Operations[i].Weight == nil {
			w := 1.0
			s.Workload.Operations[i].Weight = &w
		}
	}
	return s
}

// defaulted lists the fields WithDefaults fills when they are zero, with
// what an explicit zero gets instead.
var defaulted = []struct {
	path string
	zero func(Spec) bool
	msg  string
}{
	{"connections", func(s Spec) bool { return s.Connections == 0 }, fmt.Sprintf("must be at least 1, got 0 (leave it out for the default, %d)", DefaultConnections)},
	{"duration", func(s Spec) bool { return s.Duration == 0 }, fmt.Sprintf("must be positive, got 0 (leave it out for the default, %s)", DefaultDuration)},
	{"seed", func(s Spec) bool { return s.Seed == 0 }, fmt.Sprintf("must be at least 1, got 0 (leave it out for the default, %d)", DefaultSeed)},
	{"workers", func(s Spec) bool { return s.Workers == 0 }, "must be at least 1, got 0 (leave it out for the default, 1)"},
	{"capture", func(s Spec) bool { return s.Capture == "" }, fmt.Sprintf("empty: want all, errors, none or sample:FRACTION (leave it out for the default, %s)", DefaultCapture)},
	{"control.poll", func(s Spec) bool { return s.Control.Poll == 0 }, fmt.Sprintf("must be positive, got 0 (leave it out for the default, %s)", DefaultPoll)},
	{"control.heartbeat", func(s Spec) bool { return s.Control.Heartbeat == 0 }, fmt.Sprintf("must be positive, got 0 (leave it out for the default, %s)", DefaultHeartbeat)},
	{"control.heartbeat_timeout", func(s Spec) bool { return s.Control.HeartbeatTimeout == 0 }, fmt.Sprintf("must be positive, got 0 (leave it out for the default, %s)", DefaultHeartbeatTimeout)},
	{"control.lease", func(s Spec) bool { return s.Control.Lease == 0 }, fmt.Sprintf("must be positive, got 0 (leave it out for the default, %s)", DefaultLease)},
	{"control.max_relaunches", func(s Spec) bool { return s.Control.MaxRelaunches == 0 }, fmt.Sprintf("0 would take the default (%d): give -1 for no relaunch", DefaultMaxRelaunches)},
}

// CheckGiven reports the fields that given says were set explicitly (by
// their field path, as in FieldError) but hold the zero value that
// WithDefaults would replace: "connections: 0" in a template or
// --connections 0 is an error, never the default. Only an absent value
// takes the default.
func (s Spec) CheckGiven(given func(path string) bool) error {
	var errs FieldErrors
	for _, d := range defaulted {
		if d.zero(s) && given(d.path) {
			errs.Add(d.path, d.msg)
		}
	}
	return errs.Err()
}

// MaxNameLen bounds the length of a run, template or operation name, in
// bytes: names travel in every snapshot row and label.
const MaxNameLen = 128

// CheckName returns why name is not a usable name ("" if it is): too long,
// or holding a control character (NUL included) or invalid UTF-8.
func CheckName(name string) string {
	if len(name) > MaxNameLen {
		return fmt.Sprintf("too long: %d bytes, at most %d", len(name), MaxNameLen)
	}
	if !utf8.ValidString(name) {
		return "not valid UTF-8"
	}
	for i, r := range name {
		if unicode.IsControl(r) {
			return fmt.Sprintf("holds a control character (%U at byte %d): names are printable text", r, i)
		}
	}
	return ""
}

// Validate checks the run settings (not the workload's operations, which
// the workload package compiles and checks). It reports every problem. A
// zero field that WithDefaults fills is valid here: it means "default"
// (see CheckGiven for telling it from an explicit zero).
func (s Spec) Validate() error {
	var errs FieldErrors
	if msg := CheckName(s.Name); msg != "" {
		errs.Add("name", msg)
	}
	if s.Target.DSN == "" {
		errs.Add("target.dsn", "missing: give a DSN like postgres://user@host/db or sqlite://path.db")
	}
	if s.Connections < 0 {
		errs.Add("connections", fmt.Sprintf("must be at least 1, got %d", s.Connections))
	}
	if s.Warmup < 0 {
		errs.Add("warmup", "must not be negative")
	}
	if s.Duration < 0 {
		errs.Add("duration", "must be positive")
	}
	switch {
	case math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0):
		errs.Add("rate", fmt.Sprintf("must be a finite number of operations per second, got %v", s.Rate))
	case s.Rate < 0:
		errs.Add("rate", "must not be negative")
	}
	if s.Workers < 0 {
		errs.Add("workers", fmt.Sprintf("must be at least 1, got %d", s.Workers))
	}
	c := s.Control
	for _, d := range []struct {
		path string
		v    Duration
	}{{"control.poll", c.Poll}, {"control.heartbeat", c.Heartbeat}, {"control.heartbeat_timeout", c.HeartbeatTimeout}, {"control.lease", c.Lease}} {
		if d.v < 0 {
			errs.Add(d.path, "must be positive, got "+d.v.String())
		}
	}
	if c := c.WithDefaults(); c.HeartbeatTimeout <= c.Heartbeat {
		errs.Add("control.heartbeat_timeout", "must be longer than control.heartbeat")
	}
	if c := c.WithDefaults(); c.Lease <= 2*c.Poll {
		errs.Add("control.lease", "must be longer than two control.poll intervals")
	}
	if s.Capture != "" {
		if _, err := ParseCapture(s.Capture); err != nil {
			errs.Add("capture", err.Error())
		}
	}
	switch p := s.PricePerCredit; {
	case math.IsNaN(p) || math.IsInf(p, 0):
		errs.Add("price_per_credit", fmt.Sprintf("must be a finite number of dollars, got %v", p))
	case p < 0:
		errs.Add("price_per_credit", "must not be negative")
	}
	for _, r := range []struct{ path, v, eg string }{{"resources.cpu", s.Resources.CPU, "500m or 2"}, {"resources.memory", s.Resources.Memory, "512Mi or 2Gi"}} {
		if r.v != "" && !quantity.MatchString(r.v) {
			errs.Add(r.path, fmt.Sprintf("%q is not a Kubernetes quantity (like %s)", r.v, r.eg))
		}
	}
	s.WarmupSteady.validate(&errs)
	s.SLO.validate(&errs, "slo")
	for i, op := range s.Workload.Operations {
		op.SLO.validate(&errs, fmt.Sprintf("workload.operations[%d].slo", i))
	}
	return errs.Err()
}

// Redacted returns a copy of s with any password or secret in the target DSN
// replaced by "xxxxx". Use it for everything printed, logged or stored.
func (s Spec) Redacted() Spec {
	s.Target.DSN = RedactDSN(s.Target.DSN)
	return s
}

// WorkloadSpec is a weighted mix of named operations.
type WorkloadSpec struct {
	Operations []OperationSpec `json:"operations" yaml:"operations"`
}

// OperationSpec is one operation of a mix: a SQL statement with "?"
// placeholders, bound in order to Params.
type OperationSpec struct {
	Name   string      `json:"name" yaml:"name"`
	Weight *float64    `json:"weight,omitempty" yaml:"weight,omitempty"`
	SQL    string      `json:"sql" yaml:"sql"`
	Params []ParamSpec `json:"params,omitempty" yaml:"params,omitempty"`
	// SLO holds the operation's service-level objectives.
	SLO *SLO `json:"slo,omitempty" yaml:"slo,omitempty"`
}

// ParamSpec configures one parameter generator. Gen picks the generator;
// which other fields apply depends on it (see package workload).
type ParamSpec struct {
	Gen string `json:"gen" yaml:"gen"`
	// uniform, zipfian
	Min *int64 `json:"min,omitempty" yaml:"min,omitempty"`
	Max *int64 `json:"max,omitempty" yaml:"max,omitempty"`
	// zipfian skew (theta), 0 < theta, theta != 1; YCSB uses 0.99
	Theta float64 `json:"theta,omitempty" yaml:"theta,omitempty"`
	// zipfian: spread hot keys over the range instead of clustering them at Min
	Scramble bool `json:"scramble,omitempty" yaml:"scramble,omitempty"`
	// sequence
	Start *int64 `json:"start,omitempty" yaml:"start,omitempty"`
	Span  *int64 `json:"span,omitempty" yaml:"span,omitempty"`
	// sample
	Table  string `json:"table,omitempty" yaml:"table,omitempty"`
	Column string `json:"column,omitempty" yaml:"column,omitempty"`
	Limit  int    `json:"limit,omitempty" yaml:"limit,omitempty"`
	// string
	MinLen int `json:"min_len,omitempty" yaml:"min_len,omitempty"`
	MaxLen int `json:"max_len,omitempty" yaml:"max_len,omitempty"`
	// choice
	Values []string `json:"values,omitempty" yaml:"values,omitempty"`
}

// FieldError is one problem with one field. Path is a dotted path with
// indexes, as in "workload.operations[2].params[0].gen".
type FieldError struct {
	Path string
	Msg  string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Msg }

// FieldErrors collects every problem found by a validation.
type FieldErrors []FieldError

// Add appends a problem.
func (e *FieldErrors) Add(path, msg string) { *e = append(*e, FieldError{Path: path, Msg: msg}) }

// Err returns nil when there is no problem, else e.
func (e FieldErrors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

func (e FieldErrors) Error() string {
	var b strings.Builder
	for i, fe := range e {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(fe.Error())
	}
	return b.String()
}

// ErrInvalidSpec is matched (errors.Is) by every validation error.
var ErrInvalidSpec = errors.New("invalid spec")

// Is makes errors.Is(FieldErrors, ErrInvalidSpec) true.
func (e FieldErrors) Is(target error) bool { return target == ErrInvalidSpec }

// Capture modes: which query executions a run stores.
const (
	CaptureAll    = "all"
	CaptureErrors = "errors"
	CaptureNone   = "none"
	// CaptureSample is followed by ":FRACTION", e.g. "sample:0.01".
	CaptureSample = "sample"
	// DefaultCapture stores 1% of executions: an unbiased sample for
	// drilling into individual queries, at a store load (500 rows/s at 50k
	// QPS) that never competes with the run, while the histograms keep
	// every execution's latency exactly.
	DefaultCapture = "sample:0.01"
)

// Capture is a parsed capture setting.
type Capture struct {
	Mode     string  // CaptureAll, CaptureErrors, CaptureNone or CaptureSample
	Fraction float64 // for CaptureSample, in (0, 1]
}

// ParseCapture parses "all", "errors", "none" or "sample:FRACTION"; ""
// means DefaultCapture.
func ParseCapture(s string) (Capture, error) {
	if s == "" {
		s = DefaultCapture
	}
	switch s {
	case CaptureAll, CaptureErrors, CaptureNone:
		return Capture{Mode: s}, nil
	}
	if f, ok := strings.CutPrefix(s, CaptureSample+":"); ok {
		v, err := strconv.ParseFloat(f, 64)
		if err == nil && v > 0 && v <= 1 {
			return Capture{Mode: CaptureSample, Fraction: v}, nil
		}
	}
	return Capture{}, fmt.Errorf("bad capture %q: want all, errors, none or sample:FRACTION with 0 < FRACTION <= 1", s)
}
