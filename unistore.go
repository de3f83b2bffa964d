package unistore

import (
	"log/slog"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/workload"
)

// The shared types, re-exported from package core.
type (
	Spec          = core.Spec
	Target        = core.Target
	WorkloadSpec  = core.WorkloadSpec
	OperationSpec = core.OperationSpec
	ParamSpec     = core.ParamSpec
	Duration      = core.Duration
	Result        = core.Result
	OpStats       = core.OpStats
	Latency       = core.Latency
	Phase         = core.Phase
	Status        = core.Status
)

// Phases and statuses.
const (
	PhaseWarmup      = core.PhaseWarmup
	PhaseMeasurement = core.PhaseMeasurement
	PhaseDone        = core.PhaseDone

	StatusPrepared  = core.StatusPrepared
	StatusRunning   = core.StatusRunning
	StatusStopping  = core.StatusStopping
	StatusCompleted = core.StatusCompleted
	StatusFailed    = core.StatusFailed
	StatusCancelled = core.StatusCancelled
)

// Workload is a weighted mix of operations; see package workload. A YAML
// template's workload section compiles to one, and Go code can implement
// it directly (pass it with WithWorkload).
type Workload = workload.Workload

// Progress is what a run reports about once per snapshot interval: the
// merged rollup of every worker's newest snapshots, with live and lost
// worker counts.
type Progress = rollup.Progress

// Option sets a runtime dependency of a run. What a user sets about the run
// itself belongs in the Spec.
type Option func(*options)

type options struct {
	connector driver.Connector
	driver    string
	workload  Workload
	progress  func(Progress)
	logger    *slog.Logger
	interval  time.Duration
	store     store.Store
	template  string
	flush     time.Duration
	spoolDir  string
	writer    store.WriterConfig
	launcher  orchestrator.Launcher
	observers []func(Progress)
	writerSet bool
	enrich    bool
	runID     string
}

// WithLauncher launches the workers with l instead of in this process
// (ProcessLauncher for worker processes, orchestrator.External for
// workers started elsewhere). Such workers find the run in the store, so
// it must be one they can reach: WithStore is required. They build their
// connector and workload from the stored spec and tune themselves, so
// WithConnector, WithWorkload, WithInterval and WithWriterConfig are
// errors beside it, not ignored, and so is WithFlushTimeout unless the
// launcher passes it on (orchestrator.FlushTimeoutPasser: ProcessLauncher
// does, as `worker --flush-timeout`). An
// orchestrator.InProcess given here gets those options as the default one
// does.
func WithLauncher(l orchestrator.Launcher) Option { return func(o *options) { o.launcher = l } }

// WithConnector runs against c instead of opening the target through the
// driver registry: the path for embedders who build a connector themselves.
// name is recorded as the result's driver.
func WithConnector(name string, c driver.Connector) Option {
	return func(o *options) { o.connector, o.driver = c, name }
}

// WithWorkload runs w instead of the spec's workload section.
func WithWorkload(w Workload) Option { return func(o *options) { o.workload = w } }

// WithProgress calls f once per interval, from the run's collector.
func WithProgress(f func(Progress)) Option { return func(o *options) { o.progress = f } }

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithInterval sets the snapshot interval (default 1s).
func WithInterval(d time.Duration) Option { return func(o *options) { o.interval = d } }

// WithStore records the run in st: its RUN_STATUS row and control events,
// the worker's snapshots, heartbeats and captured executions. Without it a
// run is kept in memory only.
func WithStore(st store.Store) Option { return func(o *options) { o.store = st } }

// WithTemplateName records the name of the saved template the run came from.
func WithTemplateName(name string) Option { return func(o *options) { o.template = name } }

// WithRunID gives the run the id id instead of a new one: for workers
// started before the run, by a scheduler that was told the id (a
// Kubernetes manifest applied by hand, `unistore k8s manifest`). An id
// the store holds already is an error.
func WithRunID(id string) Option { return func(o *options) { o.runID = id } }

// WithFlushTimeout bounds the whole end of a run, from STOP to the result
// (default control.DefaultFlushTimeout, 5 s): the workers' final flush —
// in-process ones and worker processes (ProcessLauncher) both get it —
// then the final RUN_STATUS; what is unstored then is spooled
// (WithSpoolDir) and reported. During an outage the workers also spool
// once it has lasted this long.
func WithFlushTimeout(d time.Duration) Option { return func(o *options) { o.flush = d } }

// WithSpoolDir spools what the store cannot take under dir instead of
// store.DefaultSpoolDir; Recover loads it from there.
func WithSpoolDir(dir string) Option { return func(o *options) { o.spoolDir = dir } }

// WithWriterConfig tunes the workers' store writers: buffer size, batch
// size, retry backoff (default: store's Default* constants).
func WithWriterConfig(c store.WriterConfig) Option {
	return func(o *options) { o.writer, o.writerSet = c, true }
}

// ParseTemplate reads a YAML template (a Spec) and checks its workload,
// reporting every problem with file, line and field. filename is only used
// in messages.
func ParseTemplate(filename string, data []byte) (Spec, error) {
	t, err := workload.Parse(filename, data)
	if err != nil {
		return Spec{}, err
	}
	return t.Spec, nil
}
