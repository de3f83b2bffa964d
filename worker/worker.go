package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/workload"
)

// Defaults.
const (
	DefaultInterval = time.Second
	// LateThreshold is how far after its intended time an open-model start
	// may begin before it counts as late (the protocol's, control.LateThreshold).
	LateThreshold = control.LateThreshold
	// MaxBacklog bounds the open model's queue of due starts; starts due
	// while it is full are skipped and counted.
	MaxBacklog = 1 << 20
)

// Config sets up a worker. Connector and Workload are required.
type Config struct {
	RunID string
	// Group is this worker's group, 0 ≤ Group < Groups; Attempt its launch
	// attempt within the group (0 first).
	Group, Groups int
	Attempt       int
	// Connections is the number of loops Open starts with, each holding
	// one connection; SetTarget changes it while the worker runs.
	Connections int
	// Rate > 0 selects the open model: Rate starts per second for the whole
	// worker, paced apart from the loops.
	Rate      float64
	Seed      uint64
	Connector driver.Connector
	Workload  workload.Workload
	// Interval between snapshots; DefaultInterval if zero.
	Interval time.Duration
	// OnInterval, if set, is called on the collector goroutine with each
	// interval's snapshot. The snapshot is reused after it returns: clone
	// what you keep.
	OnInterval func(*metrics.Snapshot)

	// Store, if set, receives this worker's snapshots, captured executions
	// and heartbeats, written in batches off the loops (see Store).
	Store Store
	// WorkerID names the worker in stored rows; default "worker-GROUP".
	WorkerID string
	// Capture selects the executions stored (core.ParseCapture).
	Capture core.Capture
	// Writer tunes the store writers.
	Writer store.WriterConfig
	// FlushTimeout bounds the final flush of the store writers at the end
	// of Run (DefaultFlushTimeout if zero); rows still unstored then go to
	// Spool, or without one are dropped and counted. An outage that lasts
	// this long sends rows to Spool during the run too.
	FlushTimeout time.Duration
	// Spool, if set, takes the rows the store cannot (store.Spool).
	Spool *store.Spool
	// Urgent, when closed, cuts the final flush short: what is unstored
	// goes to Spool at once (the process is about to exit).
	Urgent <-chan struct{}
	// OnRows, if set, is called on the collector goroutine with each
	// interval's snapshot rows, the ones offered to the store: the local
	// channel to the orchestrator. The slice is reused after it returns.
	OnRows func(rows []store.Snapshot)
	// Logger gets the store writers' outage lines (Info); nil: none.
	Logger *slog.Logger
	// Heartbeat is the heartbeat interval; Interval if zero.
	Heartbeat time.Duration
}

// ErrNotRunning is matched by the error of SetTarget on a worker whose Run
// has not started its loops yet or has begun to stop them.
var ErrNotRunning = errors.New("worker: not running")

// Worker runs one worker's loops. Open connects and prepares; Run drives
// the load until its context ends; SetPhase moves between phases and
// SetTarget changes the number of connections.
type Worker struct {
	cfg   Config
	ops   []workload.Operation
	names []string
	mix   *workload.Mix

	scale chan struct{} // a one-slot semaphore: SetTarget calls run one at a time
	// loopsMu guards the fields below it; the loops never take it.
	loopsMu sync.Mutex
	loops   []*loop // the active loops; loops[i].idx == i
	// retired holds loops SetTarget asked to exit, until the collector has
	// drained their recorders once after they exited.
	retired []*loop
	running bool            // Run's loops are up and SetTarget may change them
	live    *errgroup.Group // Run's group of loops, while running
	liveCtx context.Context // the loops' context, while running

	phase   atomic.Pointer[core.Phase]
	phaseCh chan core.Phase
	stopped atomic.Bool
	pacer   pacer
	// engine, when the connector is a driver.Multiplexer with one, runs
	// the loops' connections (see mux.go); nil otherwise. Made by Open,
	// closed when Run ends (or by Close).
	engine     driver.Engine
	mu         sync.Mutex // guards totals and the times below after Run
	totals     map[core.Phase]*metrics.Snapshot
	phaseAt    map[core.Phase]time.Time
	started    time.Time
	ended      time.Time
	ran        atomic.Bool
	reconnects atomic.Int64

	rows       []store.Snapshot // storeSnapshot's, reused
	snaps      *store.Writer[store.Snapshot]
	execs      *store.Writer[store.Execution]
	storeStats StoreStats
	// The worker's own control-plane writes (StoreStats.Control): every
	// heartbeat write and snapshot row it sent the store, retries
	// included.
	heartbeatWrites, snapshotRowWrites atomic.Int64
}

// New checks cfg and returns a worker that has not connected yet.
func New(cfg Config) (*Worker, error) {
	var errs core.FieldErrors
	if cfg.Connector == nil {
		errs.Add("target", "worker: no connector")
	}
	if cfg.Workload == nil {
		errs.Add("workload", "worker: no workload")
	}
	if cfg.Connections < 1 {
		errs.Add("connections", fmt.Sprintf("must be at least 1, got %d", cfg.Connections))
	}
	if cfg.Groups == 0 {
		cfg.Groups = 1
	}
	if cfg.Group < 0 || cfg.Group >= cfg.Groups {
		errs.Add("group", fmt.Sprintf("%d is outside 0..%d", cfg.Group, cfg.Groups-1))
	}
	if cfg.Rate < 0 {
		errs.Add("rate", "must not be negative")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = DefaultFlushTimeout
	}
	if cfg.WorkerID == "" {
		cfg.WorkerID = control.WorkerID(cfg.Group, 0)
	}
	if cfg.Capture.Mode == "" {
		cfg.Capture, _ = core.ParseCapture("")
	}
	w := &Worker{cfg: cfg, ops: cfg.Workload.Operations(), phaseCh: make(chan core.Phase), scale: make(chan struct{}, 1)}
	if len(w.ops) == 0 {
		return nil, errors.New("worker: workload has no operations")
	}
	for _, op := range w.ops {
		w.names = append(w.names, op.Name)
	}
	w.mix = workload.NewMix(w.ops)
	return w, nil
}

// Names returns the operation names, in the order of snapshot Ops.
func (w *Worker) Names() []string { return w.names }

// Open connects every loop's connection, prepares every statement on each,
// and lets the workload read the target (key sampling) — all before any
// load. On error nothing stays open.
func (w *Worker) Open(ctx context.Context) (err error) {
	w.loops = make([]*loop, w.cfg.Connections)
	if p, ok := w.cfg.Connector.(driver.Planner); ok {
		// Before the first Connect; a no-op when the orchestrator that
		// shares this connector has planned it already.
		p.Plan(driver.Plan{Workers: w.cfg.Groups, Connections: w.cfg.Connections, Rate: w.cfg.Rate})
	}
	defer func() {
		if err != nil {
			w.closeEngine()
			w.engine = nil
			w.closeConns()
		}
	}()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range w.loops {
		g.Go(func() error {
			c, stmts, err := w.connect(gctx)
			if err != nil {
				return err
			}
			w.loops[i] = &loop{idx: i, conn: c, stmts: stmts}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := w.prepareWorkload(ctx, w.loops[0].conn); err != nil {
		return err
	}
	if m, ok := w.cfg.Connector.(driver.Multiplexer); ok {
		if w.engine, err = m.NewEngine(); err != nil {
			return fmt.Errorf("worker: start the connector's engine: %w", err)
		}
	}
	for _, l := range w.loops {
		w.ready(l)
	}
	return nil
}

// ready gives a connected loop its random generator, parameter source,
// recorder and channels. The generator depends only on the seed, the group
// and the connection index.
func (w *Worker) ready(l *loop) {
	l.l = workload.Loop{Seed: w.cfg.Seed, Group: w.cfg.Group, Groups: w.cfg.Groups, Attempt: w.cfg.Attempt, Conn: l.idx,
		Rand: workload.NewRand(w.cfg.Seed, w.cfg.Group, l.idx)}
	l.src = w.cfg.Workload.NewSource(l.l)
	l.rec = metrics.NewRecorder(len(w.ops), w.cfg.Rate > 0)
	l.rec.Tag(w.Phase())
	l.args = make([]core.Value, 0, 16)
	l.quit, l.exited = make(chan struct{}), make(chan struct{})
}

// connect opens one connection and prepares every operation on it.
func (w *Worker) connect(ctx context.Context) (driver.Conn, []driver.Stmt, error) {
	// Named for the server (application_name on PostgreSQL), so a DBA
	// sees whose load a connection carries.
	c, err := w.cfg.Connector.Connect(driver.WithClientName(ctx, "unistore/"+w.cfg.RunID+"/"+w.cfg.WorkerID))
	if err != nil {
		return nil, nil, err
	}
	stmts := make([]driver.Stmt, len(w.ops))
	for i, op := range w.ops {
		s, err := c.Prepare(w.label(ctx, c, PhasePrepare, op.Name), op.SQL)
		if err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("operation %q: %w", op.Name, err)
		}
		stmts[i] = s
	}
	return c, stmts, nil
}

// prepareWorkload lets a Preparer workload read the target (key sampling)
// on c, labelled phase PREPARE.
func (w *Worker) prepareWorkload(ctx context.Context, c driver.Conn) error {
	if p, ok := w.cfg.Workload.(workload.Preparer); ok {
		return p.Prepare(w.label(ctx, c, PhasePrepare, "sample"), c)
	}
	return nil
}

// PreflightID is the worker id a preflight's statements are labelled with.
const PreflightID = "preflight"

// Preflight checks that a run of wl can start on c: it connects once,
// prepares every operation and lets the workload sample the target, the way
// Open readies a loop's connection — the same statements, under the same
// labels (run runID, worker PreflightID, phase PREPARE) — then closes the
// connection. A bad DSN, a missing table or a sampled table without rows is
// its error, before anything is written or launched. A Preparer workload
// is prepared again by every worker that opens: Preflight keeps nothing.
// check, if not nil, then inspects the open connection (the orchestrator
// asks a driver.Capacity for free connection slots).
func Preflight(ctx context.Context, runID string, c driver.Connector, wl workload.Workload, check func(context.Context, driver.Conn) error) error {
	w, err := New(Config{RunID: runID, WorkerID: PreflightID, Connections: 1, Connector: c, Workload: wl})
	if err != nil {
		return err
	}
	conn, _, err := w.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := w.prepareWorkload(ctx, conn); err != nil {
		return err
	}
	if check != nil {
		return check(ctx, conn)
	}
	return nil
}

// closeConns closes every connection still open, active or retired.
func (w *Worker) closeConns() {
	for _, l := range w.allLoops() {
		if l != nil {
			l.closeConn()
		}
	}
}

// allLoops returns a copy of the active and retired loops.
func (w *Worker) allLoops() []*loop {
	w.loopsMu.Lock()
	defer w.loopsMu.Unlock()
	return append(slices.Clip(w.loops), w.retired...)
}

// Phase returns the phase the worker is in.
func (w *Worker) Phase() core.Phase {
	if p := w.phase.Load(); p != nil {
		return *p
	}
	return ""
}

// SetPhase moves a running worker to phase p: the interval in progress is
// cut and counted to the phase it began in. It returns false if the worker
// is not running.
func (w *Worker) SetPhase(ctx context.Context, p core.Phase) bool {
	select {
	case w.phaseCh <- p:
		return true
	case <-ctx.Done():
		return false
	}
}

// Run drives the load in phase start until ctx ends (cancel it to stop),
// then stops the loops — results of queries in flight at the stop are not
// counted — takes a last snapshot and closes the connections. It returns
// when every goroutine it started has ended. Open must have succeeded.
func (w *Worker) Run(ctx context.Context, start core.Phase) error {
	if w.loops == nil {
		return errors.New("worker: Run before Open")
	}
	if !w.ran.CompareAndSwap(false, true) {
		return errors.New("worker: Run called twice")
	}
	defer w.closeConns()
	w.phase.Store(&start)
	for _, l := range w.loops {
		l.rec.Tag(start) // the loops have not started
	}
	w.totals = map[core.Phase]*metrics.Snapshot{}
	w.phaseAt = map[core.Phase]time.Time{}
	w.started = time.Now()
	w.phaseAt[start] = w.started

	loopCtx, stopLoops := context.WithCancel(context.Background())
	defer stopLoops()
	loops := new(errgroup.Group)
	var heartbeats sync.WaitGroup
	hbCtx, stopHeartbeats := context.WithCancel(context.Background())
	defer stopHeartbeats()
	if st := w.cfg.Store; st != nil {
		w.newWriters(st)
		heartbeats.Go(func() { w.heartbeat(hbCtx) })
	}
	if w.cfg.Rate > 0 {
		w.pacer.init(w.cfg.Rate, w.started)
		if w.engine != nil {
			// Idle connections on the engine wait for a wake-up, not on
			// the tokens channel.
			w.pacer.notify = w.engine.Wake
			// Loops asleep in the kernel leave nothing in the process to
			// wake the runtime's timers often enough for sub-millisecond
			// starts (pacer.run, driver.KernelSleeper).
			if ks, ok := w.engine.(driver.KernelSleeper); ok && ks.SleepsInKernel() {
				w.pacer.precise = true
			}
		}
		loops.Go(func() error { w.pacer.run(loopCtx); return nil })
	}
	w.loopsMu.Lock()
	for _, l := range w.loops {
		loops.Go(func() error { w.loop(loopCtx, l); return nil })
	}
	w.running, w.live, w.liveCtx = true, loops, loopCtx
	w.loopsMu.Unlock()

	// The collector runs here, on Run's goroutine.
	interval := metrics.NewSnapshot(w.names, w.cfg.Rate > 0)
	intervalStart := w.started
	// cut ends the interval in progress and starts one counted to next:
	// every loop's records after its drain carry next, so captured
	// executions and snapshots agree on the phase exactly.
	cut := func(now time.Time, next core.Phase) {
		interval.Start, interval.End, interval.Phase = intervalStart, now, w.Phase()
		w.drain(interval, next)
		interval.Open.Intended, interval.Open.Skipped = w.pacer.drain()
		w.mu.Lock()
		tot := w.totals[interval.Phase]
		if tot == nil {
			tot = metrics.NewSnapshot(w.names, w.cfg.Rate > 0)
			tot.Phase = interval.Phase
			w.totals[interval.Phase] = tot
		}
		_ = tot.Merge(interval)
		w.mu.Unlock()
		if w.snaps != nil || w.cfg.OnRows != nil {
			w.storeSnapshot(interval)
		}
		if w.cfg.OnInterval != nil {
			w.cfg.OnInterval(interval)
		}
		interval.Reset()
		intervalStart = now
	}
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case <-tick.C:
			// Now, not the tick's time: a tick that waited while a phase
			// change was cut would end its interval before it began.
			cut(time.Now(), w.Phase())
		case p := <-w.phaseCh:
			if p == w.Phase() {
				// The same change from the store's events and the local
				// channel: the second cuts nothing.
				continue
			}
			now := time.Now()
			cut(now, p)
			w.phase.Store(&p)
			w.mu.Lock()
			w.phaseAt[p] = now
			w.mu.Unlock()
		}
	}
	w.stopped.Store(true)
	end := time.Now()
	// From here SetTarget adds no loop, so none starts after loops.Wait.
	w.loopsMu.Lock()
	w.running, w.live, w.liveCtx = false, nil, nil
	w.loopsMu.Unlock()
	stopLoops()
	w.interrupt()
	_ = loops.Wait()
	w.closeEngine()
	cut(end, w.Phase())
	w.mu.Lock()
	w.ended = end
	w.mu.Unlock()
	stopHeartbeats()
	heartbeats.Wait()
	w.closeStore()
	return nil
}

// drain moves every loop's records into s. A retired loop is drained
// until a drain that began after it exited; then it leaves the list (and
// its connection is closed, should the loop have exited without closing
// it). The loops never take loopsMu, so holding it while draining is safe.
func (w *Worker) drain(s *metrics.Snapshot, next core.Phase) {
	w.loopsMu.Lock()
	defer w.loopsMu.Unlock()
	for _, l := range w.loops {
		_ = l.rec.Drain(s, next) // same range everywhere: cannot drop
	}
	kept := w.retired[:0]
	for _, l := range w.retired {
		gone := isClosed(l.exited) // before the drain: then nothing follows it
		_ = l.rec.Drain(s, next)
		if gone {
			l.closeConn()
		} else {
			kept = append(kept, l)
		}
	}
	clear(w.retired[len(kept):])
	w.retired = kept
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Totals returns the merged snapshot of each phase seen and when each phase
// began; after Run returns they are final.
func (w *Worker) Totals() (map[core.Phase]*metrics.Snapshot, map[core.Phase]time.Time, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	tot := make(map[core.Phase]*metrics.Snapshot, len(w.totals))
	for p, s := range w.totals {
		tot[p] = s.Clone()
	}
	at := make(map[core.Phase]time.Time, len(w.phaseAt))
	for p, t := range w.phaseAt {
		at[p] = t
	}
	return tot, at, w.ended
}

// Close releases the connections of a worker that was opened but will not
// run. Run closes them itself.
func (w *Worker) Close() {
	if !w.ran.Load() {
		w.closeEngine()
		w.closeConns()
	}
}

// closeEngine stops the engine's event loops, if there is an engine. Every
// loop has left it by then.
func (w *Worker) closeEngine() {
	if w.engine != nil {
		_ = w.engine.Close()
	}
}
