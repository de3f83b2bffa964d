package worker

// This file is the worker's store sink: snapshot rows, heartbeats and
// the final flush of its writers.

import (
	"context"
	"os"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/store"
)

// Store is what a worker writes to the results store.
type Store interface {
	WriteSnapshots(ctx context.Context, rows []store.Snapshot) error
	WriteExecutions(ctx context.Context, rows []store.Execution) error
	PutHeartbeat(ctx context.Context, h store.Heartbeat) error
}

// DefaultFlushTimeout is Config.FlushTimeout's default.
const DefaultFlushTimeout = 15 * time.Second

// StoreStats counts the rows a worker produced for the store, stored and
// dropped (Stored + Dropped = Produced once Run has returned).
type StoreStats struct {
	Snapshots, Executions store.WriterStats
}

// Dropped is the total of rows dropped.
func (s StoreStats) Dropped() int64 { return s.Snapshots.Dropped + s.Executions.Dropped }

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
