package worker

// This file is the worker's store sink: snapshot rows, heartbeats and
// the final flush of its writers.

import (
	"context"
	"os"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/store"
)

// Store is what a worker writes to the results store.
type Store interface {
	WriteSnapshots(ctx context.Context, rows []store.Snapshot) error
	WriteExecutions(ctx context.Context, rows []store.Execution) error
	PutHeartbeat(ctx context.Context, h store.Heartbeat) error
}

// DefaultFlushTimeout is Config.FlushTimeout's default: the protocol's
// (control.DefaultFlushTimeout).
const DefaultFlushTimeout = control.DefaultFlushTimeout

// StoreStats counts the rows a worker produced for the store, stored,
// spooled and dropped (Stored + Spooled + Dropped = Produced once Run has
// returned).
type StoreStats struct {
	Snapshots, Executions store.WriterStats
	// Control counts the worker's own control-plane writes — heartbeats
	// and snapshot rows, every one it sent the store, retries included —
	// which it reports over its local channel for the run's cost.
	Control control.Writes
}

// Dropped is the total of rows dropped.
func (s StoreStats) Dropped() int64 { return s.Snapshots.Dropped + s.Executions.Dropped }

// Spooled is the total of rows spooled.
func (s StoreStats) Spooled() int64 { return s.Snapshots.Spooled + s.Executions.Spooled }

// Core returns the counters as a result reports them.
func (s StoreStats) Core() core.StoreStats {
	return core.StoreStats{SnapshotsStored: s.Snapshots.Stored, SnapshotsSpooled: s.Snapshots.Spooled, SnapshotsDropped: s.Snapshots.Dropped,
		ExecutionsStored: s.Executions.Stored, ExecutionsSpooled: s.Executions.Spooled, ExecutionsDropped: s.Executions.Dropped}
}

// newWriters starts the store writers of Run: batch ids from the worker
// id, the spool (if any) for what the store cannot take once an outage
// has lasted the flush timeout, and one log line when an outage begins
// and one when it ends.
func (w *Worker) newWriters(st Store) {
	// Snapshots are few (one row per operation and interval) and the
	// live rollup waits for them: flush them soon after each cut.
	snapCfg := w.cfg.Writer
	if snapCfg.FlushInterval == 0 {
		snapCfg.FlushInterval = min(w.cfg.Interval/4, 250*time.Millisecond)
	}
	for _, c := range []*store.WriterConfig{&snapCfg, &w.cfg.Writer} {
		if c.SpoolAfter == 0 {
			c.SpoolAfter = w.cfg.FlushTimeout
		}
	}
	outage := func(kind string) func(bool, store.WriterStats, error) {
		return func(down bool, s store.WriterStats, err error) {
			if w.cfg.Logger == nil {
				return
			}
			if down {
				w.cfg.Logger.Info("worker: store writes failing; retrying, then spooling", "run_id", w.cfg.RunID,
					"worker_id", w.cfg.WorkerID, "rows", kind, "spool_after", w.cfg.FlushTimeout, "err", err)
			} else {
				w.cfg.Logger.Info("worker: store writes succeed again", "run_id", w.cfg.RunID, "worker_id", w.cfg.WorkerID,
					"rows", kind, "failed_attempts", s.Failures, "spooled", s.Spooled)
			}
		}
	}
	snapCfg.OnOutage, snapCfg.BatchPrefix = outage(store.KindSnapshots), w.cfg.WorkerID+"/s"
	execCfg := w.cfg.Writer
	execCfg.OnOutage, execCfg.BatchPrefix = outage(store.KindExecutions), w.cfg.WorkerID+"/e"

	var spoolSnaps func(string, []store.Snapshot) error
	var spoolExecs func(string, []store.Execution) error
	if sp := w.cfg.Spool; sp != nil {
		spoolSnaps = func(id string, rows []store.Snapshot) error { return sp.Snapshots(w.cfg.WorkerID, id, rows) }
		spoolExecs = func(id string, rows []store.Execution) error { return sp.Executions(w.cfg.WorkerID, id, rows) }
	}
	writeSnaps := func(ctx context.Context, _ string, rows []store.Snapshot) error { return st.WriteSnapshots(ctx, rows) }
	writeExecs := func(ctx context.Context, _ string, rows []store.Execution) error {
		return st.WriteExecutions(ctx, rows)
	}
	if bw, ok := st.(store.BatchWriter); ok {
		writeSnaps, writeExecs = bw.WriteSnapshotBatch, bw.WriteExecutionBatch
	}
	storeSnaps := writeSnaps
	writeSnaps = func(ctx context.Context, id string, rows []store.Snapshot) error {
		w.snapshotRowWrites.Add(int64(len(rows)))
		return storeSnaps(ctx, id, rows)
	}
	w.snaps = store.NewBatchWriter(writeSnaps, spoolSnaps, snapCfg)
	if w.cfg.Capture.Mode != core.CaptureNone {
		w.execs = store.NewBatchWriter(writeExecs, spoolExecs, execCfg)
	}
}

// storeSnapshot offers one row per operation that ran in the interval to
// the store writer and hands the same rows to OnRows (the local channel);
// the worker's open-model counts ride on the first row (or on an
// otherwise empty row of the first operation, so they are never lost).
func (w *Worker) storeSnapshot(s *metrics.Snapshot) {
	rows := w.rows[:0]
	defer func() { clear(rows); w.rows = rows[:0] }()
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
		if w.snaps != nil {
			w.snaps.Offer(row)
		}
		rows = append(rows, row)
	}
	if w.cfg.OnRows != nil && len(rows) > 0 {
		w.cfg.OnRows(rows)
	}
}

// closeStore flushes the store writers, bounded by FlushTimeout (or cut
// short by Urgent): what is unstored then goes to the spool. Then a last
// heartbeat, if the store answers at once.
func (w *Worker) closeStore() {
	if w.cfg.Store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.FlushTimeout)
	defer cancel()
	if w.cfg.Urgent != nil {
		go func() {
			select {
			case <-w.cfg.Urgent:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
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
	// The STOPPED heartbeat gets what is left of the flush timeout, and
	// at least a second (the rows may have taken it all) — a tenth of one
	// when Urgent cut the flush short: whoever hurried it is waiting.
	hctx := ctx
	if ctx.Err() != nil {
		least := time.Second
		select {
		case <-w.cfg.Urgent:
			least = 100 * time.Millisecond
		default:
		}
		var c2 context.CancelFunc
		hctx, c2 = context.WithTimeout(context.Background(), least)
		defer c2()
	}
	w.putHeartbeat(hctx, control.WorkerStopped)
}

// putHeartbeat writes the worker's heartbeat row, counted.
func (w *Worker) putHeartbeat(ctx context.Context, status control.WorkerState) {
	w.heartbeatWrites.Add(1)
	_ = w.cfg.Store.PutHeartbeat(ctx, w.heartbeatRow(status))
}

// StoreStats returns the store writers' counters; final once Run returned.
func (w *Worker) StoreStats() StoreStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.storeStats
	s.Control = control.Writes{Heartbeats: w.heartbeatWrites.Load(), SnapshotRows: w.snapshotRowWrites.Load()}
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
		w.putHeartbeat(hctx, control.WorkerRunning)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
