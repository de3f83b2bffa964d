package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
}

// Options are a started run's runtime extras.
type Options struct {
	// Template is the name of the saved template the spec came from.
	Template string
	// Connector and Workload, if set, are used for the pre-flight check
	// instead of ones built from the spec (give the launcher the same).
	Connector  driver.Connector
	DriverName string
	Workload   workload.Workload
	// OnProgress, if set, gets the merged rollup of every worker's newest
	// snapshots about once per snapshot interval.
	OnProgress func(Progress)
}

// Progress is the live rollup (package rollup).
type Progress = rollup.Progress

// Run is a started run.
type Run struct {
	ID   string
	done chan struct{}
	res  *core.Result
	err  error

	stopOnce sync.Once
	stopCh   chan struct{}
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

// Start validates spec and checks the target — it connects once and
// prepares every statement, so a bad DSN or a missing table is an error
// now, with no run row written — then creates the run (PREPARED), launches
// spec.Workers workers and returns. The run goes on in the background until
// its duration ends, Stop is called or ctx is cancelled (which stops it as
// Stop does).
func (s *Service) Start(ctx context.Context, spec core.Spec, o Options) (*Run, error) {
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
	conn, drvName := o.Connector, o.DriverName
	if conn == nil {
		var err error
		drvName, conn, err = driver.Open(spec.Target.Driver, spec.Target.DSN)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
	}
	if err := preflight(ctx, conn, wl); err != nil {
		return nil, fmt.Errorf("unistore: before load: %w", err)
	}
	base := core.Result{Driver: drvName, Target: core.RedactDSN(spec.Target.DSN)}
	if d, ok := conn.(driver.Describer); ok {
		base.TargetSettings = d.Settings()
	}

	id := NewRunID()
	if err := s.Store.CreateRun(ctx, store.Run{ID: id, Name: spec.Name, Template: o.Template, Spec: spec.Redacted(),
		Status: core.StatusPrepared, WorkersTarget: spec.Workers}); err != nil {
		return nil, fmt.Errorf("unistore: before load: record the run: %w", err)
	}
	d := &driveState{s: s, spec: spec, opts: o, base: base, log: s.logger(),
		run:    &Run{ID: id, done: make(chan struct{}), stopCh: make(chan struct{})},
		groups: make([]*group, spec.Workers)}
	for g := range d.groups {
		d.groups[g] = &group{}
		if err := d.launch(ctx, g); err != nil {
			d.terminateAll()
			d.finishFailed(err)
			return nil, err
		}
	}
	go d.drive(ctx)
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

// preflight connects once and prepares every statement.
func preflight(ctx context.Context, c driver.Connector, wl workload.Workload) error {
	conn, err := c.Connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, op := range wl.Operations() {
		if _, err := conn.Prepare(ctx, op.SQL); err != nil {
			return fmt.Errorf("operation %q: %w", op.Name, err)
		}
	}
	return nil
}

// NewRunID returns a new run id: a UTC timestamp and 6 random hex digits,
// so ids sort by creation time.
func NewRunID() string {
	return time.Now().UTC().Format("20060102-150405") + fmt.Sprintf("-%06x", rand.Uint32()&0xffffff)
}

// Stop appends a STOP event to a running run: its orchestrator and its
// workers stop it. A run that does not exist or has finished is an error.
func Stop(ctx context.Context, st store.Store, runID string) error {
	if _, err := liveRun(ctx, st, runID); err != nil {
		return err
	}
	return appendCommand(ctx, st, runID, control.Stop())
}

// Scale appends SET_WORKER_TARGET: every worker of the run (or of groups,
// if given) moves to connections connections, live.
func Scale(ctx context.Context, st store.Store, runID string, connections int, groups ...int) error {
	if _, err := control.Scale(connections, 1); err != nil {
		return err // before reading the run: a bad count is the caller's error whatever the run
	}
	run, err := liveRun(ctx, st, runID)
	if err != nil {
		return err
	}
	c, err := control.Scale(connections, run.Spec.WithDefaults().Workers, groups...)
	if err != nil {
		return err
	}
	return appendCommand(ctx, st, runID, c)
}

// appendCommand appends a control command to a run's events.
func appendCommand(ctx context.Context, st store.Store, runID string, c control.Command) error {
	_, err := st.AppendEvent(ctx, store.Event{RunID: runID, Kind: c.Kind, Payload: c.Payload})
	return err
}

func liveRun(ctx context.Context, st store.Store, runID string) (store.Run, error) {
	run, err := st.GetRun(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return run, fmt.Errorf("orchestrator: run %q does not exist", runID)
	}
	if err != nil {
		return run, err
	}
	if run.Status.Terminal() {
		return run, fmt.Errorf("orchestrator: run %s is already %s", runID, run.Status)
	}
	return run, nil
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
	base   core.Result
	log    *slog.Logger
	run    *Run
	groups []*group
	stats  core.WorkerStats
	seq    int64 // last control event seen
	// storeDown is set while heartbeats cannot be read; storeBack is when
	// they could be again.
	storeDown bool
	storeBack time.Time
	// stopSeen is set once a STOP from elsewhere (`unistore stop`) was
	// read: the orchestrator then appends none of its own.
	stopSeen bool
	// heartbeats is the last read of the heartbeat rows, for progress.
	heartbeats []store.Heartbeat
}

func (d *driveState) launch(ctx context.Context, g int) error {
	gr := d.groups[g]
	a := Assignment{RunID: d.run.ID, Group: g, Attempt: gr.attempt, WorkerID: control.WorkerID(g, gr.attempt)}
	h, err := d.s.Launcher.Launch(ctx, a)
	if err != nil {
		return fmt.Errorf("orchestrator: launch %s: %w", a.WorkerID, err)
	}
	gr.handle, gr.launchedAt, gr.joined = h, time.Now(), false
	return nil
}

// write runs one control-plane write; failures are logged, never fatal:
// the run goes on while the store is down, and the final write retries.
func (d *driveState) write(what string, f func(ctx context.Context) error) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f(ctx); err != nil {
		d.log.Warn("orchestrator: control write failed", "run_id", d.run.ID, "write", what, "err", err)
		return false
	}
	return true
}

func (d *driveState) event(c control.Command) {
	d.write(string(c.Kind), func(ctx context.Context) error {
		e, err := d.s.Store.AppendEvent(ctx, store.Event{RunID: d.run.ID, Kind: c.Kind, Payload: c.Payload})
		if err == nil {
			d.seq = max(d.seq, e.Seq)
		}
		return err
	})
}

func (d *driveState) update(u store.RunUpdate) bool {
	return d.write("run status", func(ctx context.Context) error { return d.s.Store.UpdateRun(ctx, d.run.ID, u) })
}

// drive runs the run's phases; it is the only goroutine touching d.
func (d *driveState) drive(ctx context.Context) {
	defer close(d.run.done)
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
	phase := core.PhaseMeasurement
	if d.spec.Warmup > 0 {
		phase = core.PhaseWarmup
	}
	live, status := len(d.groups), core.StatusRunning
	d.event(control.Start())
	d.update(store.RunUpdate{Status: &status, Phase: &phase, StartedAt: &started, WorkersLive: &live})
	warmupEnd := started.Add(d.spec.Warmup.D())
	end := warmupEnd.Add(d.spec.Duration.D())
	renewEvery := max(ctl.Lease.D()/5, ctl.Poll.D())
	lastRenew := started
	outcome := core.StatusCompleted
	reason := ""

loop:
	for {
		select {
		case <-ctx.Done():
			outcome = core.StatusCancelled
			break loop
		case <-d.run.stopCh:
			outcome = core.StatusCancelled
			break loop
		case <-tick.C:
		}
		now := time.Now()
		if phase == core.PhaseWarmup && !now.Before(warmupEnd) {
			phase = core.PhaseMeasurement
			d.event(control.SetPhase(phase))
			d.update(store.RunUpdate{Phase: &phase, WarmupEndedAt: &now})
		}
		if !now.Before(end) {
			break
		}
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
		if now.Sub(lastRenew) >= renewEvery {
			// Renewing RUN_STATUS is the orchestrator's lease: workers stop
			// on their own if it stops coming.
			liveN, lost := d.liveCount(), d.stats.Lost
			if d.update(store.RunUpdate{WorkersLive: &liveN, WorkersLost: &lost}) {
				lastRenew = now
			}
		}
		prog.poll(now, started, phase)
	}
	d.stopAndFinish(outcome, reason, outcome == core.StatusCancelled && ctx.Err() != nil)
}

// externalStop reports a STOP appended by someone else (`unistore stop`).
func (d *driveState) externalStop() bool {
	var stop bool
	d.write("events", func(ctx context.Context) error {
		events, err := d.s.Store.EventsSince(ctx, d.run.ID, d.seq)
		for _, e := range events {
			d.seq = e.Seq
			if e.Kind == control.EventStop {
				stop, d.stopSeen = true, true
			}
		}
		return err
	})
	return stop
}

func (d *driveState) allJoined() bool {
	for _, g := range d.groups {
		if !g.joined && !g.dead {
			return false
		}
	}
	return true
}

func (d *driveState) noneLeft() bool {
	for _, g := range d.groups {
		if !g.dead {
			return false
		}
	}
	return true
}

func (d *driveState) liveCount() int {
	n := 0
	for _, g := range d.groups {
		if g.joined && !g.dead {
			n++
		}
	}
	return n
}

// firstError says why the first group to have lost a worker lost its last
// one (its handle is gone by then: lose retires it).
func (d *driveState) firstError() string {
	for gi, g := range d.groups {
		if g.lostWhy != "" {
			return fmt.Sprintf("group %d: %s", gi, g.lostWhy)
		}
	}
	return "workers stopped"
}

// watch reads the heartbeats and declares lost the workers that exited, went
// silent, or never joined; lost groups are relaunched, bounded.
func (d *driveState) watch(now time.Time, joinTimeout time.Duration, running bool) error {
	var hbs []store.Heartbeat
	if !d.write("heartbeats", func(ctx context.Context) error {
		var err error
		hbs, err = d.s.Store.ListHeartbeats(ctx, d.run.ID)
		return err
	}) {
		d.storeDown = true
		return nil // the store is down: judge nobody on missing data
	}
	d.heartbeats = hbs
	if d.storeDown || d.storeBack.IsZero() {
		// The store is back (or first read): workers could not heartbeat
		// while it was down, so each gets a full timeout from now.
		d.storeDown, d.storeBack = false, now
	}
	timeout := d.spec.Control.HeartbeatTimeout.D()
	silentSince := func(hb *store.Heartbeat) time.Time {
		if hb == nil || hb.LastSeen.Before(d.storeBack) {
			return d.storeBack
		}
		return hb.LastSeen
	}
	for gi, g := range d.groups {
		if g.dead {
			continue
		}
		id := control.WorkerID(gi, g.attempt)
		var hb *store.Heartbeat
		for i := range hbs {
			h := &hbs[i]
			switch {
			case h.WorkerID == id:
				hb = h
			case !g.owned() && h.Group == gi && !g.joined && h.Status == control.WorkerRunning &&
				h.LastSeen.After(g.launchedAt) && hb == nil:
				// A worker started by hand for this group, whatever attempt
				// it was given: adopt it.
				g.attempt = control.AttemptOf(h.WorkerID)
				id, hb = h.WorkerID, h
			}
		}
		exited := false
		if g.handle != nil {
			select {
			case <-g.handle.Done():
				exited = true
			default:
			}
		}
		var lost string
		switch {
		case exited:
			lost = "worker exited"
			if err := g.handle.Err(); err != nil {
				lost += ": " + err.Error()
			}
			if !g.joined && !running && g.attempt == 0 && errors.Is(g.handle.Err(), control.ErrGroupTaken) {
				return g.handle.Err()
			}
		case g.joined && now.Sub(silentSince(hb)) > timeout:
			lost = "heartbeat silent for more than " + timeout.String()
		case !g.joined && hb != nil && hb.Status == control.WorkerRunning && now.Sub(hb.LastSeen) <= timeout:
			g.joined = true
			if g.gap > 0 {
				d.stats.Gaps[g.gap-1].BackAt = hb.LastSeen
				g.gap = 0
			}
		case !g.joined && now.Sub(g.launchedAt) > joinTimeout:
			lost = "did not join within " + joinTimeout.String()
		}
		if lost == "" {
			continue
		}
		d.lose(gi, now, lost)
	}
	return nil
}

// lose declares group gi's worker lost and relaunches it if retries remain.
func (d *driveState) lose(gi int, now time.Time, reason string) {
	g := d.groups[gi]
	d.log.Warn("orchestrator: worker lost", "run_id", d.run.ID, "worker_id", control.WorkerID(gi, g.attempt), "reason", reason)
	if g.handle != nil {
		// Killed, not waited for: an in-process worker may take its flush
		// timeout to end, and the run goes on meanwhile. Its counters are
		// collected at the end.
		g.handle.Kill()
		g.retired = append(g.retired, g.handle)
		g.handle = nil
	}
	d.stats.Lost++
	g.lostWhy = reason
	if g.gap == 0 {
		d.stats.Gaps = append(d.stats.Gaps, core.Gap{Group: gi, LostAt: now.UTC(), Reason: reason})
		g.gap = len(d.stats.Gaps)
	}
	lost := d.stats.Lost
	d.update(store.RunUpdate{WorkersLost: &lost})
	if g.attempt >= d.spec.Control.MaxRelaunches {
		g.dead, g.handle = true, nil
		return
	}
	g.attempt++
	if err := d.launch(context.Background(), gi); err != nil {
		d.log.Error("orchestrator: relaunch failed", "run_id", d.run.ID, "group", gi, "err", err)
		g.dead, g.handle = true, nil
		return
	}
	d.stats.Relaunched++
}

// collect waits for h to end and returns its store counters, if it knows
// them (in-process workers); ok is false otherwise.
func collect(h Handle) (core.StoreStats, bool) {
	s, ok := h.(StoreStatser)
	if !ok {
		return core.StoreStats{}, false
	}
	<-h.Done()
	return s.StoreStats(), true
}

func addStoreStats(a, b core.StoreStats) core.StoreStats {
	a.SnapshotsStored += b.SnapshotsStored
	a.SnapshotsDropped += b.SnapshotsDropped
	a.ExecutionsStored += b.ExecutionsStored
	a.ExecutionsDropped += b.ExecutionsDropped
	return a
}

func (d *driveState) terminateAll() {
	for _, g := range d.groups {
		if g != nil && g.handle != nil {
			g.handle.Kill()
			<-g.handle.Done()
		}
	}
}

// stopAndFinish appends STOP, waits for the workers (a grace period, then
// SIGTERM, then SIGKILL), and writes the final RUN_STATUS with the rollup.
// now skips the grace (a cancel: stop at once).
func (d *driveState) stopAndFinish(outcome core.Status, reason string, now bool) {
	status := core.StatusStopping
	if !d.stopSeen {
		d.event(control.Stop())
	}
	d.update(store.RunUpdate{Status: &status})
	grace := d.s.StopGrace
	if grace <= 0 {
		grace = DefaultStopGrace
	}
	if now {
		d.signalAll(Handle.Terminate)
	}
	if !d.waitStopped(grace) {
		d.signalAll(Handle.Terminate)
		if !d.waitStopped(grace) {
			d.signalAll(Handle.Kill)
			d.waitStopped(grace)
		}
	}
	var dropped int64
	var stats core.StoreStats
	inProcess := true
	for _, g := range d.groups {
		hs := g.retired
		if g.handle != nil {
			hs = append(hs, g.handle)
		}
		for _, h := range hs {
			st, ok := collect(h)
			inProcess = inProcess && ok
			stats = addStoreStats(stats, st)
		}
	}
	// Each worker's last heartbeat carries its dropped-row count.
	d.write("heartbeats", func(ctx context.Context) error {
		hbs, err := d.s.Store.ListHeartbeats(ctx, d.run.ID)
		for _, h := range hbs {
			dropped += h.RowsDropped
		}
		return err
	})
	if inProcess {
		dropped = stats.SnapshotsDropped + stats.ExecutionsDropped
		d.base.Store = &stats
	}
	d.finish(outcome, reason, dropped)
}

func (d *driveState) signalAll(sig func(Handle)) {
	for _, g := range d.groups {
		if g.handle != nil {
			sig(g.handle)
		}
	}
}

// waitStopped waits up to limit for every worker to have stopped: its
// handle ended, or (for a worker the launcher does not own, started by
// hand elsewhere) its heartbeat says STOPPED or has gone silent.
func (d *driveState) waitStopped(limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(d.spec.Control.Poll.D())
	defer tick.Stop()
	for {
		if d.allStopped() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
}

func (d *driveState) allStopped() bool {
	var hbs []store.Heartbeat
	read := d.write("heartbeats", func(ctx context.Context) error {
		var err error
		hbs, err = d.s.Store.ListHeartbeats(ctx, d.run.ID)
		return err
	})
	timeout := d.spec.Control.HeartbeatTimeout.D()
	for gi, g := range d.groups {
		if g.handle == nil {
			continue
		}
		select {
		case <-g.handle.Done():
			continue
		default:
		}
		id := control.WorkerID(gi, g.attempt)
		// A worker started elsewhere that never heartbeated (nobody
		// started it) has nothing to stop.
		stopped := read && !g.owned()
		for _, h := range hbs {
			if h.WorkerID == id {
				stopped = !g.owned() && (h.Status == control.WorkerStopped || time.Since(h.LastSeen) > timeout)
			}
		}
		if !stopped {
			return false
		}
	}
	return true
}

func (d *driveState) finishFailed(err error) {
	d.finish(core.StatusFailed, err.Error(), 0)
	close(d.run.done)
}

// finish rolls the snapshots up and writes the final RUN_STATUS, retrying
// for a while: a store that was down may be back.
func (d *driveState) finish(outcome core.Status, reason string, dropped int64) {
	ended := time.Now().UTC().Truncate(time.Microsecond)
	phase, live, lost := core.PhaseDone, 0, d.stats.Lost
	d.base.Workers = d.stats
	d.base.Workers.Target = d.spec.Workers
	var res *core.Result
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 2*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = func() error {
			run, err := d.s.Store.GetRun(ctx, d.run.ID)
			if err != nil {
				return err
			}
			run.Status, run.Outcome, run.EndedAt, run.RowsDropped = outcome, reason, ended, dropped
			rows, err := d.s.Store.Snapshots(ctx, d.run.ID)
			if err != nil {
				return err
			}
			if res, err = rollup.Rollup(run, d.base, rows); err != nil {
				return err
			}
			summary, _ := json.Marshal(res)
			return d.s.Store.UpdateRun(ctx, d.run.ID, store.RunUpdate{Status: &outcome, Phase: &phase, EndedAt: &ended,
				WorkersLive: &live, WorkersLost: &lost, Outcome: &reason, Summary: summary, RowsDropped: &dropped})
		}()
		cancel()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(backoff)
	}
	if err != nil {
		d.log.Error("orchestrator: could not record the run's outcome", "run_id", d.run.ID, "err", err)
		if res == nil {
			res = &d.base
			res.RunID, res.Status, res.Error = d.run.ID, outcome, reason
		}
		d.run.err = fmt.Errorf("orchestrator: record the outcome of run %s: %w", d.run.ID, err)
	}
	if outcome == core.StatusFailed && d.run.err == nil {
		d.run.err = errors.New(reason)
	}
	d.run.res = res
}

// progress merges the newest snapshots of every worker for the live line
// and the observers.
type progress struct {
	d    *driveState
	live *rollup.Live
	next time.Time
}

func newProgress(d *driveState) *progress {
	return &progress{d: d, live: rollup.NewLive()}
}

func (p *progress) poll(now, started time.Time, phase core.Phase) {
	f := p.d.opts.OnProgress
	if f == nil || now.Before(p.next) {
		return
	}
	p.next = now.Add(time.Second)
	window := 2 * p.d.spec.Control.HeartbeatTimeout.D()
	var rows []store.Snapshot
	if !p.d.write("progress", func(ctx context.Context) error {
		var err error
		rows, err = p.d.s.Store.SnapshotsSince(ctx, p.d.run.ID, now.Add(-window))
		return err
	}) {
		return
	}
	pr, ok := p.live.Add(rows, now, window)
	if !ok {
		return
	}
	pr.RunID, pr.Elapsed, pr.Phase = p.d.run.ID, now.Sub(started), phase
	pr.Live, pr.Lost = p.d.liveCount(), p.d.stats.Lost
	if p.d.heartbeats != nil {
		pr.Workers = rollup.Health(p.d.heartbeats, now, p.d.spec.Control.HeartbeatTimeout.D())
	}
	f(pr)
}
