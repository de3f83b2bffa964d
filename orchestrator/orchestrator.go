package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/workload"
)

// Defaults.
const (
	// DefaultJoinTimeout is how long a launched worker may take to send its
	// first heartbeat before it counts as lost.
	DefaultJoinTimeout = 30 * time.Second
	// DefaultStopGrace is how long workers get to stop after STOP (they
	// flush their store buffers) before SIGTERM, and again before SIGKILL.
	DefaultStopGrace = 20 * time.Second
)

// Service is the OrchestratorService: it runs a spec's workers, coordinated
// only through the store's control tables, and keeps RUN_STATUS current. It
// writes only RUN_STATUS and RUN_CONTROL_EVENTS; workers write everything
// else. It is safe for concurrent use: each started run has its own
// goroutine, which ends when the run has ended (Run.Wait).
type Service struct {
	Store    store.Store
	Launcher Launcher
	Logger   *slog.Logger
	// JoinTimeout and StopGrace default to the constants above.
	JoinTimeout time.Duration
	StopGrace   time.Duration
	// FlushTimeout bounds the whole end of a run, from STOP to the
	// result (control.DefaultFlushTimeout if zero): the workers' flush,
	// then the final RUN_STATUS, then the spool. Launchers that pass it on
	// (FlushTimeoutPasser) give it to their workers (Assignment).
	FlushTimeout time.Duration
	// SpoolDir is where what the store cannot take is spooled
	// (store.DefaultSpoolDir if empty).
	SpoolDir string
}

// Options are a started run's runtime extras.
type Options struct {
	// Template is the name of the saved template the spec came from.
	Template string
	// RunID, if set, is the run's id instead of a new one (NewRunID):
	// for workers a scheduler was told to start with it.
	RunID string
	// Connector and Workload, if set, are used instead of ones built from
	// the spec, for the preflight and by the launcher (Target).
	Connector  driver.Connector
	DriverName string
	Workload   workload.Workload
	// OnProgress, if set, gets the merged rollup of every worker's newest
	// snapshots about once per snapshot interval.
	OnProgress func(Progress)
	// Meter, if set, makes the run's Meter (cost, server-side figures).
	Meter func(MeterRun) Meter
}

// Progress is the live rollup (package rollup).
type Progress = rollup.Progress

// Run is a started run.
type Run struct {
	ID string
	// Spec is the run's spec as stored: defaults applied, DSN redacted.
	Spec core.Spec
	done chan struct{}
	res  *core.Result
	err  error

	stopOnce sync.Once
	stopCh   chan struct{}
	endOnce  sync.Once
	endCh    chan struct{}

	hurryOnce sync.Once
	hurryCh   chan struct{}
}

// Hurry makes a stopping run end at once: its workers spool what they
// have not stored instead of waiting out the flush timeout, and so does
// the final RUN_STATUS. For a process about to exit (a second Ctrl-C);
// it stops the run too.
func (r *Run) Hurry() {
	r.Stop()
	r.hurryOnce.Do(func() { close(r.hurryCh) })
}

func (r *Run) hurried() bool {
	select {
	case <-r.hurryCh:
		return true
	default:
		return false
	}
}

// Wait blocks until the run has ended and returns its result: the rollup of
// every worker's snapshots. The error is non-nil only if the run failed.
func (r *Run) Wait() (*core.Result, error) {
	<-r.done
	return r.res, r.err
}

// Done is closed when the run has ended.
func (r *Run) Done() <-chan struct{} { return r.done }

// Stop asks the run to stop now (as `unistore stop` does from elsewhere);
// the result then has status CANCELLED.
func (r *Run) Stop() { r.stopOnce.Do(func() { close(r.stopCh) }) }

// End ends the run's measurement now, as the end of its duration would:
// the result has status COMPLETED. FindMax ends its open-ended run so.
func (r *Run) End() { r.endOnce.Do(func() { close(r.endCh) }) }

// Start validates spec and checks the target — it connects once and
// prepares every statement, so a bad DSN or a missing table is an error
// now, with no run row written — then creates the run (PREPARED), launches
// spec.Workers workers and returns. The run goes on in the background until
// its duration ends, Stop is called or ctx is cancelled (which stops it as
// Stop does).
func (s *Service) Start(ctx context.Context, spec core.Spec, o Options) (*Run, error) {
	// Control timings the spec leaves zero take the store's defaults
	// first (a Snowflake store polls every second, not every 200 ms),
	// then core's; the stored spec carries the result to the workers.
	spec.Control = store.ControlDefaults(s.Store, spec.Control)
	spec = spec.WithDefaults()
	var errs core.FieldErrors
	if err := spec.Validate(); err != nil {
		errs = append(errs, err.(core.FieldErrors)...)
	}
	wl := o.Workload
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
	if o.Connector != nil {
		errs = deleteField(errs, "target.dsn")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	// The run's connector: the preflight's, then the launcher's (Target).
	// One the orchestrator opened is closed when the run has ended.
	target := Target{DSN: spec.Target.DSN, Driver: o.DriverName, Connector: o.Connector, Workload: o.Workload}
	closeConn := func() {}
	if target.Connector == nil {
		name, c, err := driver.Open(spec.Target.Driver, spec.Target.DSN)
		if err != nil {
			return nil, err
		}
		target.Driver, target.Connector = name, c
		closeConn = func() { c.Close() }
	}
	conn := target.Connector
	plan := driver.Plan{Workers: spec.Workers, Connections: spec.Connections, Rate: spec.Rate}
	if p, ok := conn.(driver.Planner); ok {
		p.Plan(plan) // before the preflight's Connect and Settings
	}
	started := false
	defer func() {
		if !started {
			closeConn()
		}
	}()
	// The id before the preflight, so that its statements carry the run's
	// label; no row is written until the preflight has passed.
	id := o.RunID
	if id == "" {
		id = NewRunID()
	}
	s.sweep(ctx)
	if err := preflight(ctx, id, conn, wl, spec.Workers, spec.Connections, o.Meter != nil); err != nil {
		return nil, fmt.Errorf("unistore: before load: %w", err)
	}
	if a, ok := conn.(driver.Advisor); ok {
		for _, w := range a.Advise(plan) {
			s.logger().Warn(w)
		}
	}
	base := core.Result{Driver: target.Driver, Target: core.RedactDSN(spec.Target.DSN)}
	if d, ok := conn.(driver.Describer); ok {
		base.TargetSettings = d.Settings()
	}

	if err := s.Store.CreateRun(ctx, store.Run{ID: id, Name: spec.Name, Template: o.Template, Spec: spec.Redacted(),
		Status: core.StatusPrepared, WorkersTarget: spec.Workers}); err != nil {
		return nil, fmt.Errorf("unistore: before load: record the run: %w", err)
	}
	d := &driveState{s: s, spec: spec, opts: o, base: base, log: s.logger(), target: target, restarts: restartsWorkers(s.Launcher),
		run: &Run{ID: id, Spec: spec.Redacted(), done: make(chan struct{}), stopCh: make(chan struct{}), hurryCh: make(chan struct{}),
			endCh: make(chan struct{})},
		groups: make([]*group, spec.Workers), local: newLocalRows()}
	d.out = outage{log: d.log, runID: id}
	if o.Meter != nil {
		d.meter = o.Meter(MeterRun{RunID: id, Spec: spec, Driver: target.Driver, Connector: conn, Store: s.Store})
	}
	for g := range d.groups {
		d.groups[g] = &group{}
		if err := d.launch(ctx, g); err != nil {
			d.terminateAll()
			d.finishFailed(err)
			return nil, err
		}
	}
	started = true
	go func() {
		defer closeConn() // after the run's end: every handle is done
		d.drive(ctx)
	}()
	return d.run, nil
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func deleteField(errs core.FieldErrors, path string) core.FieldErrors {
	out := errs[:0]
	for _, e := range errs {
		if e.Path != path {
			out = append(out, e)
		}
	}
	return out
}

// group is the orchestrator's view of one worker group.
type group struct {
	handle     Handle
	attempt    int
	launchedAt time.Time
	joined     bool     // the current attempt has heartbeated
	dead       bool     // lost with no relaunch left
	gap        int      // index+1 of the open gap in stats.Gaps, 0 if none
	lostWhy    string   // why the last lost worker was lost
	retired    []Handle // lost handles, collected at the end
}

// owned reports whether the handle ends with its worker (a process or
// goroutine the launcher started), as opposed to a placeholder for a
// worker started elsewhere.
func (g *group) owned() bool {
	_, external := g.handle.(interface{ External() })
	return !external
}

type driveState struct {
	s      *Service
	spec   core.Spec
	opts   Options
	target Target
	// restarts is set when the launcher's scheduler restarts workers
	// itself (SelfRestarting): groups are launched once, never relaunched.
	restarts bool
	base     core.Result
	log      *slog.Logger
	run      *Run
	groups   []*group
	stats    core.WorkerStats
	seq      int64 // last control event seen
	// storeDown is set while heartbeats cannot be read; storeBack is when
	// they could be again.
	storeDown bool
	storeBack time.Time
	// stopSeen is set once a STOP from elsewhere (`unistore stop`) was
	// read: the orchestrator then appends none of its own.
	stopSeen bool
	// heartbeats is the last read of the heartbeat rows, for progress.
	heartbeats []store.Heartbeat
	// lastRenew is when RUN_STATUS was last written, renewTried when
	// renew last tried to (renew).
	lastRenew, renewTried time.Time
	// scales are the SET_WORKER_TARGET events the polls read.
	scales []store.Event
	// meter watches cost and server figures (Options.Meter); nil if none.
	meter Meter
	// local holds every snapshot row the workers sent over their local
	// channels: the result is computed from it (and the store's rows).
	local *localRows
	// out follows the store's availability (one warning per outage).
	out outage
	// startedAt is when the run was marked RUNNING.
	startedAt time.Time
	// deadline caps every store call (write): the next moment the run
	// must act on — the end of warm-up or of the run, then the end of the
	// stop's flush window (stopBy). Zero: no cap. flushBy ends the
	// workers' part of that window (statusReserve); flushHurried is set
	// once those still flushing then were told to spool (hurryLocal).
	deadline     time.Time
	stopBy       time.Time
	flushBy      time.Time
	flushHurried bool
	// cut, while the run goes on, is cancelled when it is told to end
	// (Stop, its context, End): a store call then in flight — one that
	// hangs on a store gone silent — is cut short, so the stop's window
	// starts at once. Nil from the stop on (stopAndFinish).
	cut context.Context
	// pending holds control writes the record needs that the store has
	// not taken yet, in order (record).
	pending []pendingWrite
	// steadyNext is when a steady warm-up is judged next (steady.go).
	steadyNext time.Time
}

// flushTimeout is the Service's FlushTimeout, defaulted.
func (d *driveState) flushTimeout() time.Duration {
	if d.s.FlushTimeout > 0 {
		return d.s.FlushTimeout
	}
	return control.DefaultFlushTimeout
}

// sendLocal sends c to every worker with a local channel. It comes before
// the store's event: the store may be down.
func (d *driveState) sendLocal(c control.Command) {
	for _, g := range d.groups {
		if g == nil {
			continue
		}
		if lh, ok := g.handle.(LocalHandle); ok {
			lh.Command(c)
		}
	}
}

// allLocal reports whether every current worker has a local channel.
func (d *driveState) allLocal() bool {
	for _, g := range d.groups {
		if g == nil || g.handle == nil {
			continue
		}
		if _, ok := g.handle.(LocalHandle); !ok {
			return false
		}
	}
	return true
}

func (d *driveState) launch(ctx context.Context, g int) error {
	gr := d.groups[g]
	a := Assignment{RunID: d.run.ID, Group: g, Attempt: gr.attempt, WorkerID: control.WorkerID(g, gr.attempt), Target: d.target,
		Rows: d.local.add, SpoolDir: d.s.SpoolDir, Spec: d.run.Spec, FlushTimeout: d.flushTimeout()}
	h, err := d.s.Launcher.Launch(ctx, a)
	if err != nil {
		return fmt.Errorf("orchestrator: launch %s: %w", a.WorkerID, err)
	}
	gr.handle, gr.launchedAt, gr.joined = h, time.Now(), false
	return nil
}

// write runs one control-plane write (or read); failures are never fatal:
// the run goes on while the store is down. One warning says when the
// store became unreachable and one when it is back (outage). No call runs
// past the run's next deadline (the end of warm-up, of the run, of the
// stop's flush window): the run's own clock never waits on the store.
func (d *driveState) write(what string, f func(ctx context.Context) error) bool {
	timeout := 5 * time.Second
	if !d.deadline.IsZero() {
		timeout = min(timeout, max(100*time.Millisecond, time.Until(d.deadline)))
	}
	parent := context.Background()
	if d.cut != nil {
		parent = d.cut
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	err := f(ctx)
	if parent.Err() != nil {
		return false // cut short by the stop: says nothing of the store
	}
	d.out.observe(what, err)
	return err == nil
}

// record is a control write the run's record needs (START, SET_PHASE,
// STOP and the status changes that go with them): one that fails is
// kept, and retried in order at every poll (flushPending) until the store
// takes it, so an outage delays the record but does not lose or reorder
// it. The workers with a local channel got the command already.
func (d *driveState) record(p pendingWrite) {
	d.pending = append(d.pending, p)
	d.flushPending()
}

// flushPending retries the kept control writes in order, stopping at the
// first that fails.
func (d *driveState) flushPending() {
	for len(d.pending) > 0 {
		p := d.pending[0]
		if !d.write(p.what, p.f) {
			return
		}
		d.pending = d.pending[1:]
	}
}

// pendingWrite is a control write record keeps: an event or a RUN_STATUS
// change (one of ev, ru), and the call that writes it.
type pendingWrite struct {
	what string
	f    func(ctx context.Context) error
	ev   *store.Event
	ru   *store.RunUpdate
}

// event appends a control event (record: kept until the store takes it).
// It is stamped now, not when the store takes it.
func (d *driveState) event(c control.Command) {
	ev := &store.Event{RunID: d.run.ID, Kind: c.Kind, Payload: c.Payload, CreatedAt: store.UTC(time.Now())}
	d.record(pendingWrite{what: string(c.Kind), ev: ev, f: func(ctx context.Context) error {
		e, err := d.s.Store.AppendEvent(ctx, *ev)
		if err == nil {
			d.seq = max(d.seq, e.Seq)
		}
		return err
	}})
}

// recordRun is a RUN_STATUS change the record needs (see record).
func (d *driveState) recordRun(u store.RunUpdate) {
	d.record(pendingWrite{what: "run status", ru: &u, f: func(ctx context.Context) error {
		err := d.s.Store.UpdateRun(ctx, d.run.ID, u)
		if err == nil {
			d.lastRenew = time.Now() // every write of the row renews the lease
		}
		return err
	}})
}

func (d *driveState) update(u store.RunUpdate) bool {
	ok := d.write("run status", func(ctx context.Context) error { return d.s.Store.UpdateRun(ctx, d.run.ID, u) })
	if ok {
		d.lastRenew = time.Now() // every write of the row renews the lease
	}
	return ok
}

// drive runs the run's phases; it is the only goroutine touching d.
func (d *driveState) drive(ctx context.Context) {
	defer close(d.run.done)
	cut, cancelCut := context.WithCancel(context.Background())
	defer cancelCut()
	d.cut = cut
	go func() { // ends with drive at the latest (cancelCut)
		select {
		case <-ctx.Done():
		case <-d.run.stopCh:
		case <-d.run.endCh:
		case <-cut.Done():
		}
		cancelCut()
	}()
	ctl := d.spec.Control
	joinTimeout := d.s.JoinTimeout
	if joinTimeout <= 0 {
		joinTimeout = DefaultJoinTimeout
	}
	tick := time.NewTicker(ctl.Poll.D())
	defer tick.Stop()
	prog := newProgress(d)

	// Wait for the workers to report in.
	for !d.allJoined() {
		select {
		case <-ctx.Done():
			d.stopAndFinish(core.StatusCancelled, "", true)
			return
		case <-d.run.stopCh:
			d.stopAndFinish(core.StatusCancelled, "", true)
			return
		case <-tick.C:
		}
		// A STOP appended while workers are still joining ends the run
		// now: those that joined stop on it, the others would refuse it.
		if d.externalStop() {
			d.stopAndFinish(core.StatusCancelled, "", false)
			return
		}
		if err := d.watch(time.Now(), joinTimeout, false); err != nil {
			d.stopAndFinish(core.StatusFailed, err.Error(), true)
			return
		}
		d.renew(time.Now()) // a join may take longer than the lease
		// Every group given up on is "all joined" too: check it first.
		if d.noneLeft() {
			d.stopAndFinish(core.StatusFailed, "no worker could join: "+d.firstError(), true)
			return
		}
		if d.allJoined() {
			break
		}
	}

	started := time.Now()
	d.startedAt = store.UTC(started)
	phase := core.PhaseMeasurement
	if d.spec.Warmup > 0 {
		phase = core.PhaseWarmup
	}
	live, status := len(d.groups), core.StatusRunning
	warmupEnd := started.Add(d.spec.Warmup.D())
	end := warmupEnd.Add(d.spec.Duration.D())
	d.deadline = warmupEnd
	if phase == core.PhaseMeasurement {
		d.deadline = end
	}
	d.event(control.Start())
	d.recordRun(store.RunUpdate{Status: &status, Phase: &phase, StartedAt: &started, WorkersLive: &live})
	outcome := core.StatusCompleted
	reason := ""

	// The phase change and the end come on timers of their own, not on
	// the next poll: the configured warm-up and duration are kept to the
	// orchestrator's clock, not to a poll.
	due := time.NewTimer(time.Until(warmupEnd))
	defer due.Stop()
	if phase != core.PhaseWarmup {
		due.Reset(time.Until(end))
	}
loop:
	for {
		select {
		case <-ctx.Done():
			outcome = core.StatusCancelled
			break loop
		case <-d.run.stopCh:
			outcome = core.StatusCancelled
			break loop
		case <-d.run.endCh:
			break loop
		case <-tick.C:
		case <-due.C:
			due.Reset(time.Until(end)) // after the warm-up's end, the end's
		}
		now := time.Now()
		if phase == core.PhaseWarmup {
			// At its fixed length, or once steady (steady.go).
			if dec := d.warmupOver(now, started, warmupEnd); dec != nil {
				phase = core.PhaseMeasurement
				d.base.WarmupDecision = dec
				end = now.Add(d.spec.Duration.D())
				d.sendLocal(control.SetPhase(phase))
				d.deadline = end
				d.event(control.SetPhaseBecause(phase, dec.EndedBy))
				d.recordRun(store.RunUpdate{Phase: &phase, WarmupEndedAt: &now})
				if d.meter != nil {
					d.meter.Measure(now)
				}
				due.Reset(time.Until(end))
			}
		}
		if !now.Before(end) {
			break
		}
		d.flushPending()
		if d.externalStop() {
			outcome = core.StatusCancelled
			break
		}
		if err := d.watch(now, joinTimeout, true); err != nil {
			outcome, reason = core.StatusFailed, err.Error()
			break
		}
		if d.noneLeft() {
			outcome, reason = core.StatusFailed, "every worker group was lost: "+d.firstError()
			break
		}
		d.renew(now)
		prog.poll(now, started, phase)
	}
	d.stopAndFinish(outcome, reason, outcome == core.StatusCancelled && ctx.Err() != nil)
}
