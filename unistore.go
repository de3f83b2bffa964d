package unistore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/worker"
	"github.com/unistore-bench/unistore/workload"
)

// The shared types, re-exported from package core.
type (
	Spec          = core.Spec
	Target        = core.Target
	WorkloadSpec  = core.WorkloadSpec
	OperationSpec = core.OperationSpec
	ParamSpec     = core.ParamSpec
	Duration      = core.Duration
	Result        = core.Result
	OpStats       = core.OpStats
	Latency       = core.Latency
	Phase         = core.Phase
	Status        = core.Status
)

// Phases and statuses.
const (
	PhaseWarmup      = core.PhaseWarmup
	PhaseMeasurement = core.PhaseMeasurement
	PhaseDone        = core.PhaseDone

	StatusPrepared  = core.StatusPrepared
	StatusRunning   = core.StatusRunning
	StatusStopping  = core.StatusStopping
	StatusCompleted = core.StatusCompleted
	StatusFailed    = core.StatusFailed
	StatusCancelled = core.StatusCancelled
)

// Workload is a weighted mix of operations; see package workload. A YAML
// template's workload section compiles to one, and Go code can implement
// it directly (pass it with WithWorkload).
type Workload = workload.Workload

// Worker is one worker of a run: it connects and prepares (Open), then
// drives the load in a phase until its context ends (Run), moving phases on
// request. *worker.Worker implements it.
type Worker interface {
	Open(ctx context.Context) error
	Run(ctx context.Context, start Phase) error
	SetPhase(ctx context.Context, p Phase) bool
}

// Orchestrator runs a spec's workers through the run's phases and returns
// the result. Run uses the in-process one.
type Orchestrator interface {
	Run(ctx context.Context, spec Spec, opts ...Option) (*Result, error)
}

var _ Worker = (*worker.Worker)(nil)

// Progress is what a run reports once per interval.
type Progress struct {
	RunID   string
	Elapsed time.Duration
	Phase   Phase
	// Interval figures: executions, failures and rate over the last interval.
	Count, Errors int64
	QPS           float64
	P50, P99      float64 // milliseconds, service time
}

// Option sets a runtime dependency of a run. What a user sets about the run
// itself belongs in the Spec.
type Option func(*options)

type options struct {
	connector driver.Connector
	driver    string
	workload  Workload
	progress  func(Progress)
	logger    *slog.Logger
	interval  time.Duration
	capture   func(*worker.Execution)
}

// WithConnector runs against c instead of opening the target through the
// driver registry: the path for embedders who build a connector themselves.
// name is recorded as the result's driver.
func WithConnector(name string, c driver.Connector) Option {
	return func(o *options) { o.connector, o.driver = c, name }
}

// WithWorkload runs w instead of the spec's workload section.
func WithWorkload(w Workload) Option { return func(o *options) { o.workload = w } }

// WithProgress calls f once per interval, from the run's collector.
func WithProgress(f func(Progress)) Option { return func(o *options) { o.progress = f } }

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithInterval sets the snapshot interval (default 1s).
func WithInterval(d time.Duration) Option { return func(o *options) { o.interval = d } }

// Run validates spec, connects and prepares every statement, then runs the
// warm-up and measurement phases and returns the result. It blocks; every
// goroutine it starts has ended when it returns.
//
// A bad spec, an unknown driver, an unreachable target or a statement that
// fails to prepare is an error before any load, with a nil Result. Once
// load has started, failed queries are counted, not returned: Run returns
// a Result, and an error only if the run itself broke. Cancelling ctx stops
// the run promptly; the Result then has StatusCancelled and the figures
// measured until then.
func Run(ctx context.Context, spec Spec, opts ...Option) (*Result, error) {
	return Local{}.Run(ctx, spec, opts...)
}

// Local is the in-process orchestrator: one worker of spec.Connections
// loops in this process.
type Local struct{}

var _ Orchestrator = Local{}

// Run implements Orchestrator.
func (Local) Run(ctx context.Context, spec Spec, opts ...Option) (*Result, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	spec = spec.WithDefaults()
	wl, err := prepareSpec(spec, o)
	if err != nil {
		return nil, err
	}
	conn, drvName := o.connector, o.driver
	if conn == nil {
		drvName, conn, err = driver.Open(spec.Target.Driver, spec.Target.DSN)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
	}

	runID := NewRunID()
	res := &Result{RunID: runID, Name: spec.Name, Status: StatusPrepared, Driver: drvName,
		Target: core.RedactDSN(spec.Target.DSN), Connections: spec.Connections, Rate: spec.Rate, Seed: spec.Seed}
	if d, ok := conn.(driver.Describer); ok {
		res.TargetSettings = d.Settings()
	}

	w, err := worker.New(worker.Config{
		RunID: runID, Group: 0, Groups: 1, Connections: spec.Connections, Rate: spec.Rate, Seed: spec.Seed,
		Connector: conn, Workload: wl, Interval: o.interval, Capture: o.capture,
		OnInterval: progressFunc(runID, o.progress),
	})
	if err != nil {
		return nil, err
	}
	o.logger.Debug("unistore: connecting", "run_id", runID, "target", res.Target, "connections", spec.Connections)
	if err := w.Open(ctx); err != nil {
		return nil, fmt.Errorf("unistore: before load: %w", err)
	}

	res.Status = StatusRunning
	start := PhaseMeasurement
	if spec.Warmup > 0 {
		start = PhaseWarmup
	}
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx, start) }()

	cancelled := false
	if start == PhaseWarmup {
		cancelled = !waitFor(ctx, spec.Warmup.D())
		if !cancelled {
			w.SetPhase(ctx, PhaseMeasurement)
		}
	}
	if !cancelled {
		cancelled = !waitFor(ctx, spec.Duration.D())
	}
	stop()
	runErr := <-done

	totals, phaseAt, ended := w.Totals()
	res.StartedAt, res.EndedAt = phaseAt[start].UTC(), ended.UTC()
	if wu := totals[PhaseWarmup]; wu != nil {
		res.Warmup = core.PhaseStats{Seconds: secondsBetween(phaseAt[PhaseWarmup], phaseOr(phaseAt, PhaseMeasurement, ended)),
			Count: wu.Count(), Errors: wu.Errors()}
	}
	meas := totals[PhaseMeasurement]
	if meas == nil {
		meas = metrics.NewSnapshot(w.Names(), spec.Rate > 0)
	}
	if at, ok := phaseAt[PhaseMeasurement]; ok {
		res.MeasuredSeconds = secondsBetween(at, ended)
	}
	res.Total, res.Operations = meas.Stats(res.MeasuredSeconds)
	if spec.Rate > 0 {
		res.Open = &core.OpenStats{Intended: meas.Open.Intended, Started: meas.Open.Started, Late: meas.Open.Late,
			Skipped: meas.Open.Skipped, LateThresholdMS: float64(worker.LateThreshold) / float64(time.Millisecond)}
	}
	switch {
	case runErr != nil:
		res.Status, res.Error = StatusFailed, runErr.Error()
	case cancelled:
		res.Status = StatusCancelled
	default:
		res.Status = StatusCompleted
	}
	return res, runErr
}

// prepareSpec validates spec and compiles its workload, reporting every
// problem of both at once.
func prepareSpec(spec Spec, o options) (Workload, error) {
	var errs core.FieldErrors
	if err := spec.Validate(); err != nil {
		errs = append(errs, err.(core.FieldErrors)...)
	}
	wl := o.workload
	if wl == nil {
		c, err := workload.Compile(spec.Workload)
		var fe core.FieldErrors
		switch {
		case errors.As(err, &fe):
			errs = append(errs, fe...)
		case err != nil:
			return nil, err
		default:
			wl = c
		}
	}
	if o.connector != nil {
		// The target comes from the connector: no DSN needed.
		errs = slicesDeleteFunc(errs, func(e core.FieldError) bool { return e.Path == "target.dsn" })
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return wl, nil
}

func slicesDeleteFunc(s core.FieldErrors, del func(core.FieldError) bool) core.FieldErrors {
	out := s[:0]
	for _, e := range s {
		if !del(e) {
			out = append(out, e)
		}
	}
	return out
}

func progressFunc(runID string, f func(Progress)) func(*metrics.Snapshot) {
	if f == nil {
		return nil
	}
	var t0 time.Time
	return func(s *metrics.Snapshot) {
		if t0.IsZero() {
			t0 = s.Start
		}
		tot := s.Total()
		secs := s.End.Sub(s.Start).Seconds()
		st := tot.Stats(secs)
		f(Progress{RunID: runID, Elapsed: s.End.Sub(t0), Phase: s.Phase, Count: st.Count, Errors: st.Errors,
			QPS: st.QPS, P50: st.Latency.P50, P99: st.Latency.P99})
	}
}

// waitFor waits d or until ctx ends; it reports whether d elapsed.
func waitFor(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func phaseOr(at map[Phase]time.Time, p Phase, def time.Time) time.Time {
	if t, ok := at[p]; ok {
		return t
	}
	return def
}

func secondsBetween(a, b time.Time) float64 {
	if a.IsZero() || b.Before(a) {
		return 0
	}
	return b.Sub(a).Seconds()
}

// NewRunID returns a new run id: a UTC timestamp and 6 random hex digits,
// so ids sort by creation time.
func NewRunID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// ParseTemplate reads a YAML template (a Spec) and checks its workload,
// reporting every problem with file, line and field. filename is only used
// in messages.
func ParseTemplate(filename string, data []byte) (Spec, error) {
	t, err := workload.Parse(filename, data)
	if err != nil {
		return Spec{}, err
	}
	return t.Spec, nil
}
