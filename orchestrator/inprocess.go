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
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/worker"
	"github.com/unistore-bench/unistore/workload"
)

// InProcess launches workers as goroutine groups of this process, through
// the same worker.Join path a worker process takes. Connector and Workload,
// if set, are shared by all its workers (an embedder's Go workload or own
// connector); otherwise each worker builds them from the stored spec.
type InProcess struct {
	Store      store.Store
	Connector  driver.Connector
	Workload   workload.Workload
	Target     string // the unredacted target DSN, if the connector is built from the spec
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
			Target: l.Target, Connector: l.Connector, Workload: l.Workload, OnInterval: l.OnInterval, Logger: l.Logger,
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
