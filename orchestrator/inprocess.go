package orchestrator

// This file is the one place the orchestrator imports package worker: the
// in-process launcher starts workers. Everything else meets the workers in
// package control (TestOnlyInProcessImportsWorker).

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/unistore-bench/unistore/control"
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
	// Interval, Writer and FlushTimeout tune the workers (worker.Config);
	// a zero FlushTimeout takes the assignment's (the run's).
	Interval     time.Duration
	Writer       store.WriterConfig
	FlushTimeout time.Duration
}

// PassesFlushTimeout implements FlushTimeoutPasser.
func (InProcess) PassesFlushTimeout() {}

// Launch implements Launcher. The worker goroutine ends when the run stops
// or the handle is terminated.
func (l InProcess) Launch(_ context.Context, a Assignment) (Handle, error) {
	ctx, cancel := context.WithCancel(context.Background())
	h := &inProcess{id: a.WorkerID, done: make(chan struct{}), cancel: cancel, cmds: make(chan control.Command, 16),
		urgent: make(chan struct{}), rows: a.Rows}
	var local worker.Local
	if a.Rows != nil {
		local = inProcessLocal{h}
	}
	flush := l.FlushTimeout
	if flush <= 0 {
		flush = a.FlushTimeout
	}
	go func() {
		defer close(h.done)
		h.err = worker.Join(ctx, worker.JoinConfig{Store: l.Store, RunID: a.RunID, Group: a.Group, Attempt: a.Attempt,
			Target: a.Target.DSN, Connector: a.Target.Connector, Workload: a.Target.Workload, OnInterval: l.OnInterval, Logger: l.Logger,
			Interval: l.Interval, Writer: l.Writer, FlushTimeout: flush, Urgent: h.urgent, Local: local, SpoolDir: a.SpoolDir,
			OnDone: func(s worker.StoreStats) {
				h.mu.Lock()
				h.stats = s.Core()
				h.mu.Unlock()
			}})
	}()
	return h, nil
}

// inProcess is an in-process worker's handle, and its local channel
// (worker.Local): rows go straight to the orchestrator's copy, commands
// through a buffered channel.
type inProcess struct {
	id     string // the worker's id
	done   chan struct{}
	err    error
	cancel context.CancelFunc
	mu     sync.Mutex
	stats  core.StoreStats

	rows       func([]store.Snapshot)
	cmds       chan control.Command
	urgent     chan struct{}
	urgentOnce sync.Once
}

var (
	_ LocalHandle  = (*inProcess)(nil)
	_ worker.Local = inProcessLocal{}
)

// Command implements LocalHandle. A worker that has stopped reading (it
// is stopping) does not block the orchestrator: a command that finds the
// buffer full is not needed.
func (h *inProcess) Command(c control.Command) {
	select {
	case h.cmds <- c:
	default:
	}
}

// Hurry implements LocalHandle.
func (h *inProcess) Hurry() { h.urgentOnce.Do(func() { close(h.urgent) }) }

// inProcessLocal is the worker's side of an in-process handle.
type inProcessLocal struct{ h *inProcess }

// Snapshots implements worker.Local.
func (l inProcessLocal) Snapshots(rows []store.Snapshot) { l.h.rows(rows) }

// Commands implements worker.Local. The channel is never closed: the
// orchestrator outlives its in-process workers.
func (l inProcessLocal) Commands() <-chan control.Command { return l.h.cmds }

// Done implements worker.Local; OnDone keeps the counters.
func (inProcessLocal) Done(worker.StoreStats) {}

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
