package orchestrator

// This file is the one place the orchestrator imports package worker: the
// in-process launcher starts workers. Everything else meets the workers in
// package control (TestOnlyInProcessImportsWorker).

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/worker"
)

// InProcess launches workers as goroutine groups of this process, through
// the same worker.Join path a worker process takes. They share the
// assignment's Target: its connector, and its Go workload if there is one
// (otherwise each worker compiles the stored spec's).
type InProcess struct {
	Store      store.Store
	OnInterval func(*metrics.Snapshot)
	Logger     *slog.Logger
	// Interval, Writer and FlushTimeout tune the workers (worker.Config).
	Interval     time.Duration
	Writer       store.WriterConfig
	FlushTimeout time.Duration
}

// Launch implements Launcher. The worker goroutine ends when the run stops
// or the handle is terminated.
func (l InProcess) Launch(_ context.Context, a Assignment) (Handle, error) {
	ctx, cancel := context.WithCancel(context.Background())
	h := &inProcess{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(h.done)
		h.err = worker.Join(ctx, worker.JoinConfig{Store: l.Store, RunID: a.RunID, Group: a.Group, Attempt: a.Attempt,
			Target: a.Target.DSN, Connector: a.Target.Connector, Workload: a.Target.Workload, OnInterval: l.OnInterval, Logger: l.Logger,
			Interval: l.Interval, Writer: l.Writer, FlushTimeout: l.FlushTimeout,
			OnDone: func(s worker.StoreStats) {
				h.mu.Lock()
				h.stats = core.StoreStats{SnapshotsStored: s.Snapshots.Stored, SnapshotsDropped: s.Snapshots.Dropped,
					ExecutionsStored: s.Executions.Stored, ExecutionsDropped: s.Executions.Dropped}
				h.mu.Unlock()
			}})
	}()
	return h, nil
}

type inProcess struct {
	done   chan struct{}
	err    error
	cancel context.CancelFunc
	mu     sync.Mutex
	stats  core.StoreStats
}

func (h *inProcess) Done() <-chan struct{} { return h.done }
func (h *inProcess) Err() error {
	<-h.done
	return h.err
}
func (h *inProcess) Terminate() { h.cancel() }
func (h *inProcess) Kill()      { h.cancel() }
func (h *inProcess) StoreStats() core.StoreStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}
