package worker

// This file is the hot path: a loop per connection, one operation at a
// time, reconnects.

import (
	"context"
	"sync"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/workload"
)

type loop struct {
	idx int
	// mu guards conn against interrupt, closeConns and the collector; the
	// loop itself reads conn without it (only the loop writes it while it
	// runs).
	mu    sync.Mutex
	conn  driver.Conn
	stmts []driver.Stmt
	// labels, for a connection that labels its statements (Snowflake
	// query tags), are the contexts its operations run under.
	labels *labels
	rec    *metrics.Recorder
	src    workload.Source
	l      workload.Loop
	args   []core.Value
	// sampled accumulates the capture fraction: systematic sampling, no
	// random draw, so capture never changes the parameter sequence.
	sampled float64
	// staged holds captured executions until a batch is handed to the
	// store writer (see stage); stagedAt is the first one's start.
	staged   []store.Execution
	stagedAt time.Duration

	// quit is closed to retire the loop: it finishes the operation it is
	// in and exits. exited is closed when the loop goroutine has ended.
	quit, exited chan struct{}
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
	defer w.flushExecs(l)
	defer func() {
		if l.retiring() {
			l.closeConn()
		}
	}()
	if w.engine != nil && w.serve(ctx, l) {
		return
	}
	open := w.cfg.Rate > 0
	w.labelLoop(ctx, l)
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
	op, start, intended := w.begin(l, intended)
	rows, err := l.stmts[op].Exec(w.execContext(ctx, l, op), l.args)
	end := time.Since(w.started)
	if w.stopped.Load() {
		return false // in flight at the stop: not counted
	}
	if w.record(l, op, start, end, intended, rows, err) == core.ErrConnection {
		return w.reconnect(ctx, l)
	}
	return true
}

// begin picks loop l's next operation, generates its parameters into
// l.args and takes its start time; it returns the intended start too (the
// start itself in the closed loop), having counted an open-model start.
func (w *Worker) begin(l *loop, intended time.Duration) (op int, start, _ time.Duration) {
	op = w.mix.Pick(l.l.Rand)
	l.args = l.src.Args(op, l.args[:0])
	start = time.Since(w.started)
	if intended == closedLoop {
		intended = start
	} else {
		l.rec.Start(start-intended > LateThreshold)
	}
	return op, start, intended
}

// record records an ended execution of operation op (and captures it if
// the capture mode says so) and returns its error class.
func (w *Worker) record(l *loop, op int, start, end, intended time.Duration, rows int64, err error) core.ErrorClass {
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
		w.stage(l, e, start)
	}
	return class
}

// execBatch is how many captured executions a loop gathers before it
// hands them to the store writer in one OfferBatch.
const execBatch = 128

// maxStaged is how long a loop keeps a captured execution before handing
// it over, unless the loop goes idle (it hands over what it holds when it
// exits).
const maxStaged = time.Second

// stage keeps a captured execution in the loop's batch, and hands the
// batch to the writer when it is full or its first row is maxStaged old.
// One lock and one copy per batch instead of a channel send per row: at
// tens of thousands of rows a second that is most of what capture cost
// the loops.
func (w *Worker) stage(l *loop, e store.Execution, start time.Duration) {
	if len(l.staged) == 0 {
		l.stagedAt = start
		if l.staged == nil {
			l.staged = make([]store.Execution, 0, execBatch)
		}
	}
	l.staged = append(l.staged, e)
	if len(l.staged) >= execBatch || start-l.stagedAt >= maxStaged {
		w.flushExecs(l)
	}
}

// flushExecs hands the loop's staged executions to the writer.
func (w *Worker) flushExecs(l *loop) {
	if len(l.staged) > 0 {
		w.execs.OfferBatch(l.staged)
		clear(l.staged) // the writer copied them
		l.staged = l.staged[:0]
	}
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
			w.labelLoop(ctx, l)
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
