package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
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
	// of Run; rows still unstored then are dropped and counted.
	FlushTimeout time.Duration
	// Heartbeat is the heartbeat interval; Interval if zero.
	Heartbeat time.Duration
}

// Store is what a worker writes to the results store.
type Store interface {
	WriteSnapshots(ctx context.Context, rows []store.Snapshot) error
	WriteExecutions(ctx context.Context, rows []store.Execution) error
	PutHeartbeat(ctx context.Context, h store.Heartbeat) error
}

// DefaultFlushTimeout is Config.FlushTimeout's default.
const DefaultFlushTimeout = 15 * time.Second

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

	phase      atomic.Pointer[core.Phase]
	phaseCh    chan core.Phase
	stopped    atomic.Bool
	pacer      pacer
	mu         sync.Mutex // guards totals and the times below after Run
	totals     map[core.Phase]*metrics.Snapshot
	phaseAt    map[core.Phase]time.Time
	started    time.Time
	ended      time.Time
	ran        atomic.Bool
	reconnects atomic.Int64

	snaps      *store.Writer[store.Snapshot]
	execs      *store.Writer[store.Execution]
	storeStats StoreStats
}

// StoreStats counts the rows a worker produced for the store, stored and
// dropped (Stored + Dropped = Produced once Run has returned).
type StoreStats struct {
	Snapshots, Executions store.WriterStats
}

// Dropped is the total of rows dropped.
func (s StoreStats) Dropped() int64 { return s.Snapshots.Dropped + s.Executions.Dropped }

type loop struct {
	idx int
	// mu guards conn against interrupt, closeConns and the collector; the
	// loop itself reads conn without it (only the loop writes it while it
	// runs).
	mu    sync.Mutex
	conn  driver.Conn
	stmts []driver.Stmt
	rec   *metrics.Recorder
	src   workload.Source
	l     workload.Loop
	args  []core.Value
	// sampled accumulates the capture fraction: systematic sampling, no
	// random draw, so capture never changes the parameter sequence.
	sampled float64

	// quit is closed to retire the loop: it finishes the operation it is
	// in and exits. exited is closed when the loop goroutine has ended.
	quit, exited chan struct{}
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
	defer func() {
		if err != nil {
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
	if p, ok := w.cfg.Workload.(workload.Preparer); ok {
		if err := p.Prepare(ctx, w.loops[0].conn); err != nil {
			return err
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
	c, err := w.cfg.Connector.Connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	stmts := make([]driver.Stmt, len(w.ops))
	for i, op := range w.ops {
		s, err := c.Prepare(ctx, op.SQL)
		if err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("operation %q: %w", op.Name, err)
		}
		stmts[i] = s
	}
	return c, stmts, nil
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

// closeConn closes the loop's connection if it is open.
func (l *loop) closeConn() {
	l.mu.Lock()
	c := l.conn
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// retiring reports whether SetTarget asked the loop to exit.
func (l *loop) retiring() bool {
	select {
	case <-l.quit:
		return true
	default:
		return false
	}
}

// Connections returns the number of active loops (one connection each):
// Config.Connections until SetTarget changes it. Loops still finishing
// their last operation after a shrink are not counted.
func (w *Worker) Connections() int {
	w.loopsMu.Lock()
	defer w.loopsMu.Unlock()
	return len(w.loops)
}

// SetTarget changes the number of loops of a running worker to n without
// stopping it or dropping a query in flight.
//
// To grow, it connects and prepares the new connections (on the caller's
// goroutine, at most 16 at a time) and starts one loop on each, with the
// next connection indexes; if one fails, it closes those it opened and
// returns the error, and the worker keeps its loops. To shrink, it asks
// the loops of the highest indexes to exit: each finishes the operation it
// is in (recorded as usual), closes its connection and exits, and
// SetTarget returns once all have exited. What they recorded is drained
// into the next interval. A loop added at an index used before gets a
// fresh connection and a fresh generator from the same seed, so it
// replays that index's parameter sequence from its start.
//
// It returns an error, changing nothing, if n < 1 or the worker is not
// running (ErrNotRunning: before Run started its loops, or once Run is
// stopping). Calls are serialized. ctx bounds the wait for an earlier
// call, the connecting and the wait for retiring loops; if it ends during
// that wait, the count is already n and the loops still exit on their own.
func (w *Worker) SetTarget(ctx context.Context, n int) error {
	if n < 1 {
		return fmt.Errorf("worker: target of %d connections: must be at least 1", n)
	}
	select {
	case w.scale <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	defer func() { <-w.scale }()

	w.loopsMu.Lock()
	if !w.running {
		w.loopsMu.Unlock()
		return ErrNotRunning
	}
	cur := len(w.loops)
	if n >= cur {
		w.loopsMu.Unlock()
		if n == cur {
			return nil
		}
		return w.grow(ctx, cur, n)
	}
	gone := slices.Clone(w.loops[n:])
	clear(w.loops[n:])
	w.loops = w.loops[:n]
	w.retired = append(w.retired, gone...)
	for _, l := range gone {
		close(l.quit)
	}
	w.loopsMu.Unlock()
	for _, l := range gone {
		select {
		case <-l.exited:
		case <-ctx.Done():
			return fmt.Errorf("worker: shrink to %d connections: %w", n, context.Cause(ctx))
		}
	}
	return nil
}

// grow connects loops from..to-1 and starts them in Run's group.
func (w *Worker) grow(ctx context.Context, from, to int) error {
	added := make([]*loop, to-from)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range added {
		g.Go(func() error {
			c, stmts, err := w.connect(gctx)
			if err != nil {
				return err
			}
			added[i] = &loop{idx: from + i, conn: c, stmts: stmts}
			return nil
		})
	}
	err := g.Wait()
	if err == nil {
		for _, l := range added {
			w.ready(l)
		}
		w.loopsMu.Lock()
		if w.running {
			w.loops = append(w.loops, added...)
			ctx := w.liveCtx
			for _, l := range added {
				w.live.Go(func() error { w.loop(ctx, l); return nil })
			}
		} else {
			err = ErrNotRunning
		}
		w.loopsMu.Unlock()
	}
	if err != nil {
		for _, l := range added {
			if l != nil {
				l.closeConn()
			}
		}
		return fmt.Errorf("worker: grow to %d connections: %w", to, err)
	}
	return nil
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
		// Snapshots are few (one row per operation and interval) and the
		// live rollup waits for them: flush them soon after each cut.
		snapCfg := w.cfg.Writer
		if snapCfg.FlushInterval == 0 {
			snapCfg.FlushInterval = min(w.cfg.Interval/4, 250*time.Millisecond)
		}
		w.snaps = store.NewWriter(st.WriteSnapshots, snapCfg)
		if w.cfg.Capture.Mode != core.CaptureNone {
			w.execs = store.NewWriter(st.WriteExecutions, w.cfg.Writer)
		}
		heartbeats.Go(func() { w.heartbeat(hbCtx) })
	}
	if w.cfg.Rate > 0 {
		w.pacer.init(w.cfg.Rate, w.started)
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
		if w.snaps != nil {
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

// storeSnapshot offers one row per operation that ran in the interval; the
// worker's open-model counts ride on the first row (or on an otherwise
// empty row of the first operation, so they are never lost).
func (w *Worker) storeSnapshot(s *metrics.Snapshot) {
	openCounts := s.Open != (metrics.OpenCounts{})
	for i := range s.Ops {
		o := &s.Ops[i]
		if o.Count == 0 && !openCounts {
			continue
		}
		row := store.Snapshot{RunID: w.cfg.RunID, WorkerID: w.cfg.WorkerID, Group: w.cfg.Group,
			IntervalStart: s.Start, IntervalEnd: s.End, Phase: s.Phase, Operation: s.Names[i],
			Count: o.Count, Errors: o.Errors}
		// Histograms of this package's range always encode.
		row.Histogram, _ = metrics.Encode(o.Service)
		if o.Response != nil && o.Response.TotalCount() > 0 {
			row.ResponseHistogram, _ = metrics.Encode(o.Response)
		}
		if o.Failed != nil && o.Failed.TotalCount() > 0 {
			row.ErrorHistogram, _ = metrics.Encode(o.Failed)
		}
		if openCounts {
			row.OpenIntended, row.OpenStarted, row.OpenLate, row.OpenSkipped = s.Open.Intended, s.Open.Started, s.Open.Late, s.Open.Skipped
			openCounts = false
		}
		w.snaps.Offer(row)
	}
}

// closeStore flushes the store writers, bounded by FlushTimeout, and a
// last heartbeat.
func (w *Worker) closeStore() {
	if w.cfg.Store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.FlushTimeout)
	defer cancel()
	_ = w.snaps.Close(ctx)
	w.mu.Lock()
	w.storeStats.Snapshots = w.snaps.Stats()
	w.mu.Unlock()
	if w.execs != nil {
		_ = w.execs.Close(ctx)
		w.mu.Lock()
		w.storeStats.Executions = w.execs.Stats()
		w.mu.Unlock()
	}
	_ = w.cfg.Store.PutHeartbeat(ctx, w.heartbeatRow(control.WorkerStopped))
}

// StoreStats returns the store writers' counters; final once Run returned.
func (w *Worker) StoreStats() StoreStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.storeStats
	if w.ended.IsZero() {
		if w.snaps != nil {
			s.Snapshots = w.snaps.Stats()
		}
		if w.execs != nil {
			s.Executions = w.execs.Stats()
		}
	}
	return s
}

var host, _ = os.Hostname()

func (w *Worker) heartbeatRow(status control.WorkerState) store.Heartbeat {
	var dropped int64
	if w.snaps != nil {
		dropped += w.snaps.Stats().Dropped
	}
	if w.execs != nil {
		dropped += w.execs.Stats().Dropped
	}
	return store.Heartbeat{RunID: w.cfg.RunID, WorkerID: w.cfg.WorkerID, Group: w.cfg.Group, Status: status,
		Phase: w.Phase(), LastSeen: time.Now(), Connections: w.Connections(), Host: host, PID: os.Getpid(),
		RowsDropped: dropped}
}

// heartbeat writes the worker's heartbeat row every interval until ctx
// ends. A failed write is retried at the next tick: liveness is the
// orchestrator's judgement, made from the row's age.
func (w *Worker) heartbeat(ctx context.Context) {
	every := w.cfg.Heartbeat
	if every <= 0 {
		every = w.cfg.Interval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// A slow write is retried at the next tick; give it time on a busy box.
		hctx, cancel := context.WithTimeout(ctx, max(every, 2*time.Second))
		_ = w.cfg.Store.PutHeartbeat(hctx, w.heartbeatRow(control.WorkerRunning))
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// interrupt cancels the queries in flight (of retiring loops too), for
// drivers whose Exec does not watch the context. It holds each loop's mu
// while cancelling, so the connection is not closed under it.
func (w *Worker) interrupt() {
	var wg sync.WaitGroup
	for _, l := range w.allLoops() {
		wg.Go(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if c, ok := l.conn.(driver.Canceler); ok {
				_ = c.CancelQuery()
			}
		})
	}
	wg.Wait()
}

// loop runs operations until the run stops or SetTarget retires it; a
// retired loop closes its connection before it reports its exit.
func (w *Worker) loop(ctx context.Context, l *loop) {
	defer close(l.exited)
	defer func() {
		if l.retiring() {
			l.closeConn()
		}
	}()
	open := w.cfg.Rate > 0
	for {
		intended := closedLoop
		if open {
			select {
			case intended = <-w.pacer.tokens:
			case <-ctx.Done():
				return
			case <-l.quit:
				return
			}
		} else if w.stopped.Load() || l.retiring() {
			return
		}
		if !w.once(ctx, l, intended) {
			return
		}
	}
}

// closedLoop is once's intended start in the closed loop.
const closedLoop time.Duration = -1

// once runs one operation: pick, generate parameters, execute, record.
// Times are offsets from the worker's start on the monotonic clock
// (time.Since reads only that clock, half the cost of time.Now); intended
// is the open model's intended start, or closedLoop. It returns false when
// the loop must end.
func (w *Worker) once(ctx context.Context, l *loop, intended time.Duration) bool {
	op := w.mix.Pick(l.l.Rand)
	l.args = l.src.Args(op, l.args[:0])
	start := time.Since(w.started)
	if intended == closedLoop {
		intended = start
	} else {
		l.rec.Start(start-intended > LateThreshold)
	}
	rows, err := l.stmts[op].Exec(ctx, l.args)
	end := time.Since(w.started)
	if w.stopped.Load() {
		return false // in flight at the stop: not counted
	}
	class, code := core.ErrNone, ""
	if err != nil {
		class, code = driver.Classify(w.cfg.Connector, err)
	}
	phase := l.rec.Record(op, end-start, end-intended, class)
	if w.execs != nil && w.capture(l, class) {
		e := store.Execution{RunID: w.cfg.RunID, WorkerID: w.cfg.WorkerID, Group: w.cfg.Group, Connection: l.idx,
			Operation: w.names[op], Phase: phase, StartedAt: w.started.Add(start), EndedAt: w.started.Add(end),
			OK: class == core.ErrNone, ErrorClass: class, SQLState: code, RowsAffected: rows}
		if w.cfg.Rate > 0 {
			e.IntendedAt = w.started.Add(intended)
		}
		w.execs.Offer(e)
	}
	if class == core.ErrConnection {
		return w.reconnect(ctx, l)
	}
	return true
}

// capture decides whether an execution is stored.
func (w *Worker) capture(l *loop, class core.ErrorClass) bool {
	switch w.cfg.Capture.Mode {
	case core.CaptureAll:
		return true
	case core.CaptureErrors:
		return class != core.ErrNone
	case core.CaptureSample:
		l.sampled += w.cfg.Capture.Fraction
		if l.sampled >= 1 {
			l.sampled--
			return true
		}
	}
	return false
}

// reconnect replaces a loop's broken connection, retrying with backoff
// until it succeeds or the run stops or the loop is retired (false).
func (w *Worker) reconnect(ctx context.Context, l *loop) bool {
	l.closeConn()
	backoff := 50 * time.Millisecond
	for !l.retiring() {
		c, stmts, err := w.connect(ctx)
		if err == nil {
			l.mu.Lock()
			l.conn = c
			l.mu.Unlock()
			l.stmts = stmts
			w.reconnects.Add(1)
			return true
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-l.quit:
			t.Stop()
			return false
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
	return false
}

// Reconnects returns how many times loops replaced a broken connection.
func (w *Worker) Reconnects() int64 { return w.reconnects.Load() }

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
		w.closeConns()
	}
}
