package unistore

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/worker"
)

// Run validates spec, connects and prepares every statement, then runs the
// warm-up and measurement phases and returns the result. It blocks; every
// goroutine it starts has ended when it returns.
//
// A bad spec, an unknown driver, an unreachable target or a statement that
// fails to prepare is an error before any load, with a nil Result and no
// row in the store. Once load has started, failed queries are counted, not
// returned: Run returns a Result, and an error only if the run itself
// broke. Cancelling ctx stops the run promptly; the Result then has
// StatusCancelled and the figures measured until then.
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
	capture, _ := core.ParseCapture(spec.Capture) // validated above
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
	cfg := worker.Config{
		RunID: runID, Group: 0, Groups: 1, Connections: spec.Connections, Rate: spec.Rate, Seed: spec.Seed,
		Connector: conn, Workload: wl, Interval: o.interval, OnInterval: progressFunc(runID, o.progress),
		Capture: capture, FlushTimeout: o.flush,
	}
	if o.store != nil {
		cfg.Store = o.store
	}
	w, err := worker.New(cfg)
	if err != nil {
		return nil, err
	}
	o.logger.Debug("unistore: connecting", "run_id", runID, "target", res.Target, "connections", spec.Connections)
	if err := w.Open(ctx); err != nil {
		return nil, fmt.Errorf("unistore: before load: %w", err)
	}
	ctl := control{st: o.store, runID: runID, log: o.logger}
	if err := ctl.create(ctx, spec, o.template); err != nil {
		w.Close()
		return nil, err
	}

	res.Status = StatusRunning
	start := PhaseMeasurement
	if spec.Warmup > 0 {
		start = PhaseWarmup
	}
	ctl.started(ctx, start)
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx, start) }()

	cancelled := false
	if start == PhaseWarmup {
		cancelled = !waitFor(ctx, spec.Warmup.D())
		if !cancelled {
			w.SetPhase(ctx, PhaseMeasurement)
			ctl.phase(PhaseMeasurement)
		}
	}
	if !cancelled {
		cancelled = !waitFor(ctx, spec.Duration.D())
	}
	ctl.stopping()
	stop()
	runErr := <-done

	totals, phaseAt, ended := w.Totals()
	st := w.StoreStats()
	res.RowsDropped = st.Dropped()
	res.Store = &core.StoreStats{SnapshotsStored: st.Snapshots.Stored, ExecutionsStored: st.Executions.Stored,
		SnapshotsDropped: st.Snapshots.Dropped, ExecutionsDropped: st.Executions.Dropped}
	if o.store == nil {
		res.Store = nil
	}
	if err := fillResult(res, totals, phaseAt, ended, spec.Rate > 0, w.Names()); err != nil && runErr == nil {
		runErr = err
	}
	switch {
	case runErr != nil:
		res.Status, res.Error = StatusFailed, runErr.Error()
	case cancelled:
		res.Status = StatusCancelled
	default:
		res.Status = StatusCompleted
	}
	ctl.finish(res, phaseAt[PhaseMeasurement])
	return res, runErr
}

// control keeps a run's RUN_STATUS row and control events current. With no
// store it does nothing. Writes after the run has started never stop the
// run: a failure is logged and the final write is retried.
type control struct {
	st    store.Store
	runID string
	log   *slog.Logger
}

func (c control) create(ctx context.Context, spec Spec, template string) error {
	if c.st == nil {
		return nil
	}
	err := c.st.CreateRun(ctx, store.Run{ID: c.runID, Name: spec.Name, Template: template, Spec: spec.Redacted(),
		Status: StatusPrepared, WorkersTarget: 1})
	if err != nil {
		return fmt.Errorf("unistore: before load: record the run: %w", err)
	}
	return nil
}

func (c control) write(what string, f func(ctx context.Context) error) {
	if c.st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f(ctx); err != nil {
		c.log.Warn("unistore: store write failed; the run goes on", "run_id", c.runID, "write", what, "err", err)
	}
}

func (c control) event(ctx context.Context, kind store.EventKind, payload any) error {
	var raw json.RawMessage
	if payload != nil {
		raw, _ = json.Marshal(payload)
	}
	_, err := c.st.AppendEvent(ctx, store.Event{RunID: c.runID, Kind: kind, Payload: raw})
	return err
}

func (c control) started(_ context.Context, phase Phase) {
	c.write("start", func(ctx context.Context) error {
		if err := c.event(ctx, store.EventStart, nil); err != nil {
			return err
		}
		now, status, live := time.Now().UTC(), StatusRunning, 1
		return c.st.UpdateRun(ctx, c.runID, store.RunUpdate{Status: &status, Phase: &phase, StartedAt: &now, WorkersLive: &live})
	})
}

func (c control) phase(p Phase) {
	c.write("phase", func(ctx context.Context) error {
		if err := c.event(ctx, store.EventSetPhase, map[string]Phase{"phase": p}); err != nil {
			return err
		}
		u := store.RunUpdate{Phase: &p}
		if p == PhaseMeasurement {
			now := time.Now().UTC()
			u.WarmupEndedAt = &now
		}
		return c.st.UpdateRun(ctx, c.runID, u)
	})
}

func (c control) stopping() {
	c.write("stop", func(ctx context.Context) error {
		if err := c.event(ctx, store.EventStop, nil); err != nil {
			return err
		}
		status := StatusStopping
		return c.st.UpdateRun(ctx, c.runID, store.RunUpdate{Status: &status})
	})
}

// finish writes the final RUN_STATUS: outcome, exact phase times and the
// summary. It retries for a while: a store that was down during the run
// may be back.
func (c control) finish(res *Result, measurementAt time.Time) {
	if c.st == nil {
		return
	}
	summary, _ := json.Marshal(res)
	phase, live := PhaseDone, 0
	started, ended := res.StartedAt, res.EndedAt
	u := store.RunUpdate{Status: &res.Status, Phase: &phase, StartedAt: &started, EndedAt: &ended,
		WorkersLive: &live, Outcome: &res.Error, Summary: summary, RowsDropped: &res.RowsDropped}
	if !measurementAt.IsZero() {
		m := measurementAt.UTC().Truncate(time.Microsecond)
		u.WarmupEndedAt = &m
	}
	backoff := 100 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.st.UpdateRun(ctx, c.runID, u)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.log.Error("unistore: could not record the run's outcome", "run_id", c.runID, "err", err)
			return
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}
