package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/workload"
)

// JoinStore is what a joining worker needs of the results store: the run
// and its control events to follow, the heartbeats to check its group is
// free, and Store to write its rows. store.Store satisfies it.
type JoinStore interface {
	Store
	GetRun(ctx context.Context, runID string) (store.Run, error)
	EventsSince(ctx context.Context, runID string, afterSeq int64) ([]store.Event, error)
	ListHeartbeats(ctx context.Context, runID string) ([]store.Heartbeat, error)
}

// JoinConfig says which run and group a worker joins.
type JoinConfig struct {
	Store   JoinStore
	RunID   string
	Group   int
	Attempt int // 0 for the first launch of the group, k for its k-th relaunch
	// Target overrides the run's target DSN. The stored spec is redacted,
	// so a target that needs a password gets it here (or from the
	// driver's own environment, e.g. PGPASSWORD).
	Target string
	// Connector and Workload, if set, replace the ones built from the
	// stored spec (in-process launches of Go workloads).
	Connector driver.Connector
	Workload  workload.Workload
	// OnInterval is passed to the worker (see Config).
	OnInterval func(*metrics.Snapshot)
	Logger     *slog.Logger
	// Ready, if set, is closed once the worker has connected and prepared.
	Ready chan<- struct{}
	// OnDone, if set, gets the worker's store counters when it has ended.
	OnDone func(StoreStats)
	// Interval, Writer, FlushTimeout and Urgent are passed to the worker
	// (Config).
	Interval     time.Duration
	Writer       store.WriterConfig
	FlushTimeout time.Duration
	Urgent       <-chan struct{}
	// Local, if set, is the channel to the orchestrator that launched
	// this worker on this machine (see Local): snapshots go to it as well
	// as to the store, its commands are followed beside the store's
	// events, and the orchestrator's lease is the channel's life.
	Local Local
	// SpoolDir is where rows the store cannot take are spooled
	// (store.OpenSpool; store.DefaultSpoolDir if empty).
	SpoolDir string
}

// Errors of Join, matched with errors.Is: the protocol's (package control).
var (
	ErrRunFinished = control.ErrRunFinished
	ErrGroupTaken  = control.ErrGroupTaken
	ErrBadGroup    = control.ErrBadGroup
	ErrLeaseLost   = control.ErrLeaseLost
	// ErrDeclaredLost ends a worker the orchestrator declared lost.
	ErrDeclaredLost = control.ErrDeclaredLost
	// ErrGroupGivenUp refuses (or ends) a worker whose group the
	// orchestrator gave up.
	ErrGroupGivenUp = control.ErrGroupGivenUp
)

// Join runs one worker of a stored run until the run stops: it reads the
// run's spec from the store, checks the group is free, connects and
// prepares, starts in the run's current phase (MEASUREMENT if warm-up is
// over), follows the control events (SET_PHASE, SET_WORKER_TARGET, STOP)
// by polling, heartbeats, and stops on its own when the run ends or the
// control plane is gone for longer than the lease. Errors before load —
// unknown run, finished run, bad or taken group, bad target — leave the
// store untouched.
func Join(ctx context.Context, cfg JoinConfig) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	st := cfg.Store
	run, err := st.GetRun(ctx, cfg.RunID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("worker: run %q does not exist", cfg.RunID)
	}
	if err != nil {
		return err
	}
	if run.Status.Terminal() {
		return fmt.Errorf("%w: run %s is %s", ErrRunFinished, run.ID, run.Status)
	}
	spec := run.Spec // stored with its defaults (orchestrator.Service.Start)
	ctl := spec.Control
	if since := time.Since(run.UpdatedAt); ctl.Lease > 0 && !run.UpdatedAt.IsZero() && since > ctl.Lease.D() {
		// Its orchestrator is gone (a reader will mark the run FAILED):
		// joining would only wait a lease to stop with ErrLeaseLost.
		return fmt.Errorf("%w: run %s was not renewed for %s, more than its lease (%s): its orchestrator is gone",
			ErrRunFinished, run.ID, since.Round(time.Millisecond), ctl.Lease)
	}
	if cfg.Group < 0 || cfg.Group >= spec.Workers {
		return fmt.Errorf("%w: group %d, run %s has groups 0..%d", ErrBadGroup, cfg.Group, run.ID, spec.Workers-1)
	}
	id := control.WorkerID(cfg.Group, cfg.Attempt)
	events, err := st.EventsSince(ctx, run.ID, 0)
	if err != nil {
		return err
	}
	for _, e := range events {
		if g, ok := control.GivenUpOf(e.Payload); ok && e.Kind == control.EventGroupGivenUp && g == cfg.Group {
			// A scheduler's restart that came after the orchestrator
			// stopped waiting for one: it would add load the run no
			// longer counts.
			return fmt.Errorf("%w: group %d of run %s; %s does not join", ErrGroupGivenUp, cfg.Group, run.ID, id)
		}
		if lost, ok := control.LostOf(e.Payload); ok && e.Kind == control.EventWorkerLost && lost == id {
			// Declared lost before it joined (it took longer than the
			// join timeout): its group went to a relaunch.
			return fmt.Errorf("%w: %s of run %s, before it joined; its group goes to a relaunch", ErrDeclaredLost, id, run.ID)
		}
	}
	waited, err := claim(ctx, st, run.ID, cfg.Group, cfg.Attempt, ctl, events)
	if err != nil {
		return err
	}
	if waited {
		// The run went on while the holder was watched.
		if events, err = st.EventsSince(ctx, run.ID, 0); err != nil {
			return err
		}
	}

	// Where the run is: replay its events.
	phase := core.PhaseMeasurement
	if spec.Warmup > 0 {
		phase = core.PhaseWarmup
	}
	conns, rate := spec.Connections, spec.Rate
	var lastSeq int64
	for _, e := range events {
		lastSeq = e.Seq
		switch e.Kind {
		case control.EventStop:
			return fmt.Errorf("%w: run %s is stopping", ErrRunFinished, run.ID)
		case control.EventSetPhase:
			if p, ok := control.PhaseOf(e.Payload); ok {
				phase = p
			}
		case control.EventSetWorkerTarget:
			if p, ok := control.TargetFor(e.Payload, cfg.Group); ok {
				conns = p
			}
		case control.EventSetRate:
			if r, ok := control.RateOf(e.Payload); ok && spec.Rate > 0 {
				rate = r
			}
		}
	}

	conn := cfg.Connector
	if conn == nil {
		dsn := spec.Target.DSN
		if cfg.Target != "" {
			dsn = cfg.Target
		}
		_, c, err := driver.Open(spec.Target.Driver, dsn)
		if err != nil {
			return err
		}
		defer c.Close()
		conn = c
	}
	wl := cfg.Workload
	if wl == nil {
		c, err := workload.Compile(spec.Workload)
		if err != nil {
			return err
		}
		wl = c
	}
	capture, err := core.ParseCapture(spec.Capture)
	if err != nil {
		return err
	}
	w, err := New(Config{RunID: run.ID, Group: cfg.Group, Groups: spec.Workers, Attempt: cfg.Attempt, Connections: conns,
		Rate: rate / float64(spec.Workers), Seed: spec.Seed, Connector: conn, Workload: wl,
		OnInterval: cfg.OnInterval, Store: st, WorkerID: id, Capture: capture, Heartbeat: ctl.Heartbeat.D(),
		Interval: cfg.Interval, Writer: cfg.Writer, FlushTimeout: cfg.FlushTimeout,
		Spool: store.OpenSpool(cfg.SpoolDir, run.ID), Urgent: cfg.Urgent, OnRows: localRows(cfg.Local), Logger: log})
	if err != nil {
		return err
	}
	if err := w.Open(ctx); err != nil {
		return err
	}
	if cfg.Ready != nil {
		close(cfg.Ready)
	}
	log.Info("worker: joined", "run_id", run.ID, "worker_id", id, "group", cfg.Group, "phase", phase, "connections", conns)

	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx, phase) }()

	reason := followBoth(ctx, cfg.Local, st, w, run, lastSeq, cfg.Group, ctl, log)
	stop()
	err = <-done
	if cfg.OnDone != nil {
		cfg.OnDone(w.StoreStats())
	}
	if cfg.Local != nil {
		cfg.Local.Done(w.StoreStats())
	}
	if err != nil {
		return err
	}
	log.Info("worker: stopped", "run_id", run.ID, "worker_id", id, "reason", reason)
	if errors.Is(reason, ErrLeaseLost) || errors.Is(reason, ErrDeclaredLost) || errors.Is(reason, ErrGroupGivenUp) {
		return reason
	}
	return nil
}

// claim checks that group is free for a worker of attempt, and says
// whether it had to watch a holder first. A group is held by a worker of
// it whose heartbeat is RUNNING and fresher than the heartbeat timeout,
// unless the orchestrator declared it lost (a WORKER_LOST event, which it
// appends before it relaunches a group). A holder of the same or a later
// attempt refuses the join at once. A holder of an earlier attempt may be
// dead with a fresh last heartbeat (killed a moment ago): claim watches it
// for at most the heartbeat timeout — if its heartbeat advances it is
// alive and the join is refused (a higher --attempt never takes over a
// live group); if it stops, goes silent for the timeout or is declared
// lost, the group is free.
func claim(ctx context.Context, st JoinStore, runID string, group, attempt int, ctl core.ControlSpec, events []store.Event) (waited bool, err error) {
	timeout := ctl.HeartbeatTimeout.D()
	lost := map[string]bool{}
	var seq int64
	readLost := func(events []store.Event) {
		for _, e := range events {
			seq = e.Seq
			if e.Kind == control.EventWorkerLost {
				if id, ok := control.LostOf(e.Payload); ok {
					lost[id] = true
				}
			}
		}
	}
	readLost(events)
	taken := func(h store.Heartbeat, why string) error {
		return fmt.Errorf("%w: group %d of run %s is held by %s (pid %d on %s, seen %s ago)%s", ErrGroupTaken,
			group, runID, h.WorkerID, h.PID, h.Host, time.Since(h.LastSeen).Round(time.Millisecond), why)
	}
	watched := map[string]time.Time{} // holder → its LastSeen when first read
	every := max(min(ctl.Poll.D(), ctl.Heartbeat.D()), 10*time.Millisecond)
	for {
		hbs, err := st.ListHeartbeats(ctx, runID)
		if err != nil {
			return waited, err
		}
		held := false
		for _, h := range hbs {
			if h.Group != group || h.Status != control.WorkerRunning || time.Since(h.LastSeen) >= timeout || lost[h.WorkerID] {
				continue
			}
			if control.AttemptOf(h.WorkerID) >= attempt {
				return waited, taken(h, "")
			}
			if first, ok := watched[h.WorkerID]; ok && h.LastSeen.After(first) {
				return waited, taken(h, ": it is alive (its heartbeat advanced); a later --attempt takes a group over only from a worker declared lost or silent for "+timeout.String())
			} else if !ok {
				watched[h.WorkerID] = h.LastSeen
			}
			held = true
		}
		if !held {
			return waited, nil
		}
		waited = true
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return waited, ctx.Err()
		case <-t.C:
		}
		more, err := st.EventsSince(ctx, runID, seq)
		if err != nil {
			return waited, err
		}
		readLost(more)
	}
}

// follow polls the control plane until the worker must stop and says why:
// nil for a STOP event, a finished run or ctx's end; ErrLeaseLost when the
// run was not renewed (or the store not reachable) for a lease.
// With a local channel (local true) the store decides nothing about the
// lease: the channel does (followBoth).
func follow(ctx context.Context, st JoinStore, w *Worker, run store.Run, lastSeq int64, group int, ctl core.ControlSpec, log *slog.Logger, local bool) error {
	tick := time.NewTicker(ctl.Poll.D())
	defer tick.Stop()
	renewed, lastOK := time.Now(), time.Now()
	lastUpdate := run.UpdatedAt
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now := time.Now()
		pctx, cancel := context.WithTimeout(ctx, max(4*ctl.Poll.D(), 2*time.Second))
		events, err := st.EventsSince(pctx, run.ID, lastSeq)
		var cur store.Run
		if err == nil {
			cur, err = st.GetRun(pctx, run.ID)
		}
		cancel()
		if err != nil {
			if !local && now.Sub(lastOK) > ctl.Lease.D() {
				return fmt.Errorf("%w: store unreachable for %s: %v", ErrLeaseLost, now.Sub(lastOK).Round(time.Millisecond), err)
			}
			continue
		}
		lastOK = now
		for _, e := range events {
			lastSeq = e.Seq
			switch e.Kind {
			case control.EventStop:
				return nil
			case control.EventWorkerLost:
				if id, ok := control.LostOf(e.Payload); ok && id == w.cfg.WorkerID {
					return fmt.Errorf("%w: %s of run %s; its group goes to a relaunch", ErrDeclaredLost, id, run.ID)
				}
			case control.EventGroupGivenUp:
				if g, ok := control.GivenUpOf(e.Payload); ok && g == group {
					return fmt.Errorf("%w: group %d of run %s", ErrGroupGivenUp, g, run.ID)
				}
			case control.EventSetPhase:
				if p, ok := control.PhaseOf(e.Payload); ok && p != w.Phase() {
					w.SetPhase(ctx, p)
				}
			case control.EventSetWorkerTarget:
				if n, ok := control.TargetFor(e.Payload, group); ok {
					if err := w.SetTarget(ctx, n); err != nil {
						log.Warn("worker: scale failed", "run_id", run.ID, "connections", n, "err", err)
					}
				}
			case control.EventSetRate:
				if r, ok := control.RateOf(e.Payload); ok && run.Spec.Rate > 0 {
					_ = w.SetRate(r / float64(run.Spec.Workers)) // r is positive: cannot fail
				}
			}
		}
		if cur.Status.Terminal() {
			return nil
		}
		// The lease is measured on this worker's clock: only whether the
		// orchestrator's renewals keep coming matters, not its clock.
		if !cur.UpdatedAt.Equal(lastUpdate) {
			lastUpdate, renewed = cur.UpdatedAt, now
		} else if !local && now.Sub(renewed) > ctl.Lease.D() {
			return fmt.Errorf("%w: run %s not renewed for %s", ErrLeaseLost, run.ID, now.Sub(renewed).Round(time.Millisecond))
		}
	}
}
