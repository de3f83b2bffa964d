package unistore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/cost"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/report"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/worker"
	"github.com/unistore-bench/unistore/workload"
)

// The run-management API: what the CLI and the HTTP adapter call, and what
// a user's harness calls the same way. Every function takes the results
// store it works on; open one with store.Open (importing its backend).

// Types of the run-management API.
type (
	// Template is a parsed YAML template: its Spec, and where each field
	// was in the file (Locate places validation errors).
	Template = workload.Template
	// StoredTemplate is a saved template's row.
	StoredTemplate = store.Template
	// Interval is one time bucket of a run's rollup (Intervals).
	Interval = rollup.Interval
	// WorkerHealth is one worker as its newest heartbeat shows it.
	WorkerHealth = rollup.WorkerHealth
	// Launcher starts a run's workers (WithLauncher).
	Launcher = orchestrator.Launcher
)

// ErrLeaseLost is matched by Join's error when the worker stopped because
// the run's orchestrator stopped renewing it (or the store was gone) for a
// lease.
var ErrLeaseLost = control.ErrLeaseLost

// ErrGroupTaken is matched by Join's error when the group is held by a
// worker whose heartbeat is still fresh.
var ErrGroupTaken = control.ErrGroupTaken

// ErrGroupGivenUp is matched by Join's error when the run's orchestrator
// gave the worker's group up (a scheduler's restart that came too late):
// the worker refuses to join, or stops.
var ErrGroupGivenUp = control.ErrGroupGivenUp

// LoadTemplate reads and checks a YAML template file.
func LoadTemplate(path string) (*Template, error) { return workload.LoadFile(path) }

// ReadTemplate parses and checks a YAML template; filename is only used
// in messages.
func ReadTemplate(filename string, data []byte) (*Template, error) {
	return workload.Parse(filename, data)
}

// Handle is a started run (Start).
type Handle struct {
	r  *orchestrator.Run
	st store.Store

	mu   sync.Mutex
	last Progress
}

// ID returns the run id.
func (h *Handle) ID() string { return h.r.ID }

// Spec returns the run's spec as stored: defaults applied, DSN redacted.
func (h *Handle) Spec() Spec { return h.r.Spec }

// Wait blocks until the run has ended and returns its result; the error
// is non-nil only if the run failed.
func (h *Handle) Wait() (*Result, error) { return h.r.Wait() }

// Done is closed when the run has ended.
func (h *Handle) Done() <-chan struct{} { return h.r.Done() }

// Stop asks the run to stop now; its result then has StatusCancelled.
func (h *Handle) Stop() { h.r.Stop() }

// Hurry stops the run and makes its end immediate: workers spool what
// they have not stored instead of waiting out the flush timeout, and so
// does the final status. For a process that must exit now (a second
// Ctrl-C); Wait still returns the result.
func (h *Handle) Hurry() { h.r.Hurry() }

// Scale moves every worker of the run (or of groups, if given) to
// connections connections, live.
func (h *Handle) Scale(ctx context.Context, connections int, groups ...int) error {
	return orchestrator.Scale(ctx, h.st, h.r.ID, connections, groups...)
}

// Progress returns the newest live rollup (zero before the first one).
func (h *Handle) Progress() Progress {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// setup is what Start and FindMax share: the options applied and
// checked, the store (a Memory one if none), the launcher (the in-process
// one if none) and the progress observers in order.
type setup struct {
	o         options
	st        store.Store
	launcher  orchestrator.Launcher
	observers []func(Progress)
}

func newSetup(opts []Option) (*setup, error) {
	su := &setup{}
	for _, opt := range opts {
		opt(&su.o)
	}
	if err := su.o.check(); err != nil {
		return nil, err
	}
	su.st = su.o.store
	if su.st == nil {
		su.st = store.NewMemory()
	}
	su.launcher = su.o.launcher
	if ip, ok := su.launcher.(orchestrator.InProcess); ok || su.launcher == nil {
		su.launcher = su.o.inProcess(ip, su.st)
	}
	su.observers = su.o.observers
	if su.o.progress != nil {
		su.observers = append([]func(Progress){su.o.progress}, su.observers...)
	}
	return su, nil
}

// service is the orchestrator of the run, on st through launcher.
func (su *setup) service(st store.Store, launcher orchestrator.Launcher) *orchestrator.Service {
	return &orchestrator.Service{Store: st, Launcher: launcher, Logger: su.o.logger, FlushTimeout: su.o.flush, SpoolDir: su.o.spoolDir}
}

// runOptions are the orchestrator's options of the run: first is called
// with each progress rollup before the observers.
func (su *setup) runOptions(first func(Progress)) orchestrator.Options {
	return orchestrator.Options{Template: su.o.template, Connector: su.o.connector, DriverName: su.o.driver, Workload: su.o.workload,
		OnProgress: func(p Progress) {
			if first != nil {
				first(p)
			}
			for _, f := range su.observers {
				f(p)
			}
		}}
}

// Start validates spec, checks the target (one connection, every statement
// prepared) and starts the run, returning once its workers are launched.
// The run goes on in the background until its duration ends, Handle.Stop
// or ctx is cancelled; its goroutines have ended when Handle.Done is
// closed. Run is Start then Wait.
func Start(ctx context.Context, spec Spec, opts ...Option) (*Handle, error) {
	su, err := newSetup(opts)
	if err != nil {
		return nil, err
	}
	o, st, launcher := su.o, su.st, su.launcher
	// Every control-plane write of this process is counted for the run's
	// cost (cost.Counter); the orchestrator and in-process workers write
	// through it.
	counter := cost.Count(st)
	_, inProcess := launcher.(orchestrator.InProcess)
	if ip, ok := launcher.(orchestrator.InProcess); ok && ip.Store == st {
		ip.Store = counter
		launcher = ip
	}
	logger := o.logger
	if logger == nil {
		logger = slog.Default()
	}
	h := &Handle{st: st}
	run := su.runOptions(func(p Progress) {
		h.mu.Lock()
		h.last = p
		h.mu.Unlock()
	})
	run.RunID, run.Meter = o.runID, newMeter(counter, inProcess, o.enrich, logger)
	r, err := su.service(counter, launcher).Start(ctx, spec, run)
	if err != nil {
		return nil, err
	}
	h.r = r
	return h, nil
}

// check reports options that would otherwise vanish. A Go connector or
// workload and the worker tuning reach in-process workers only; workers
// another launcher starts build their own from the stored spec — save the
// flush timeout, which a launcher that says so (FlushTimeoutPasser:
// ProcessLauncher) passes on. And such
// workers find the run in the store, so it must be one they can reach.
func (o *options) check() error {
	if o.launcher == nil {
		return nil
	}
	if _, in := o.launcher.(orchestrator.InProcess); in {
		return nil
	}
	_, passesFlush := o.launcher.(orchestrator.FlushTimeoutPasser)
	var bad []string
	for _, opt := range []struct {
		name string
		set  bool
	}{
		{"WithConnector", o.connector != nil},
		{"WithWorkload", o.workload != nil},
		{"WithInterval", o.interval != 0},
		{"WithFlushTimeout", o.flush != 0 && !passesFlush}, // ProcessLauncher passes it on
		{"WithWriterConfig", o.writerSet},
	} {
		if opt.set {
			bad = append(bad, opt.name)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("unistore: %v act on in-process workers and would be ignored with WithLauncher(%T): its workers build theirs from the stored spec", bad, o.launcher)
	}
	if o.store == nil {
		return fmt.Errorf("unistore: WithLauncher(%T) needs WithStore: its workers find the run in the results store, and the default one lives in this process's memory", o.launcher)
	}
	return nil
}

// inProcess is the in-process launcher with the worker options applied:
// ip (one given with WithLauncher, or the zero one) with what it leaves
// unset filled in. An option set both ways is the option's.
func (o *options) inProcess(ip orchestrator.InProcess, st store.Store) orchestrator.InProcess {
	if ip.Store == nil {
		ip.Store = st
	}
	if ip.Logger == nil {
		ip.Logger = o.logger
	}
	if o.interval != 0 {
		ip.Interval = o.interval
	}
	if o.flush != 0 {
		ip.FlushTimeout = o.flush
	}
	if o.writerSet {
		ip.Writer = o.writer
	}
	return ip
}

// WithObserver calls f with every interval's live rollup of the run —
// merged per-operation snapshot and per-worker health — from the run's
// goroutine; f must not block. Any number may be given: the hook for live
// streams and metrics endpoints.
func WithObserver(f func(Progress)) Option {
	return func(o *options) { o.observers = append(o.observers, f) }
}

// ProcessLauncher launches each worker as a process of binary (default:
// this executable) running `worker --run-id … --group …`; the store DSN and
// the spec's target DSN travel in the environment. Worker output goes to
// log, each line prefixed by the worker id.
func ProcessLauncher(binary, storeDSN string, log io.Writer) Launcher {
	return orchestrator.Subprocess{Binary: binary, Store: storeDSN, Log: log}
}

// ExternalLauncher launches nothing: the run's workers are started
// elsewhere (by hand, or by a scheduler given the run's id) and followed
// through their heartbeats.
func ExternalLauncher() Launcher { return orchestrator.External{} }

// Launcher names, as `unistore run --launcher` takes them.
const (
	// LauncherProcess runs each worker as a process (ProcessLauncher).
	LauncherProcess = "process"
	// LauncherInProcess runs each worker as goroutines of this process,
	// the library's default.
	LauncherInProcess = "inprocess"
)

// DefaultLauncher is the launcher a front end that can start worker
// processes (the CLI) uses for a run of workers workers when none is
// chosen: worker processes for more than one, this process for one — a
// worker process buys a lone worker nothing but a fork. Run and Start
// themselves default to in-process: an embedder's binary is not the
// unistore CLI that a worker process runs.
func DefaultLauncher(workers int) string {
	if workers > 1 {
		return LauncherProcess
	}
	return LauncherInProcess
}

// Stop asks a running run to stop: its orchestrator and workers, wherever
// they are, stop it through the control tables.
func Stop(ctx context.Context, st store.Store, runID string) error {
	return orchestrator.Stop(ctx, st, runID)
}

// Scale moves every worker of a running run (or of groups) to connections
// connections, live.
func Scale(ctx context.Context, st store.Store, runID string, connections int, groups ...int) error {
	return orchestrator.Scale(ctx, st, runID, connections, groups...)
}

// Join runs one worker of a stored run — group group, launch attempt
// attempt — until the run stops: what `unistore worker` does. target
// overrides the stored (redacted) target DSN.
func Join(ctx context.Context, st store.Store, runID string, group, attempt int, target string, log *slog.Logger, opts ...JoinOption) error {
	cfg := worker.JoinConfig{Store: st, RunID: runID, Group: group, Attempt: attempt, Target: target, Logger: log}
	for _, o := range opts {
		o(&cfg)
	}
	return worker.Join(ctx, cfg)
}

// JoinOption sets up a worker Join starts.
type JoinOption func(*worker.JoinConfig)

// WorkerLocal is a worker process's local channel to the orchestrator
// that launched it on this machine (worker.LocalConn).
type WorkerLocal = worker.LocalConn

// OpenWorkerLocal returns the local channel a launching orchestrator gave
// this process (the descriptor control.EnvLocalFD names), or nil if it
// gave none (a worker started by hand). Close it when Join has returned.
func OpenWorkerLocal(log *slog.Logger) *WorkerLocal {
	fd, err := strconv.Atoi(os.Getenv(control.EnvLocalFD))
	if err != nil || fd < 3 {
		return nil
	}
	f := os.NewFile(uintptr(fd), "unistore-local")
	if f == nil {
		return nil
	}
	return worker.NewLocalConn(f, log)
}

// WithLocal makes the worker use l (OpenWorkerLocal): its snapshots go to
// the orchestrator over it as well as to the store, STOP and phase
// changes come over it too, and a HURRY on it spools at once.
func WithLocal(l *WorkerLocal) JoinOption {
	return func(c *worker.JoinConfig) {
		if l != nil {
			c.Local, c.Urgent = l, l.Urgent()
		}
	}
}

// WithWorkerFlushTimeout bounds the worker's final flush (and, during an
// outage, how long rows wait before they are spooled) by d instead of
// control.DefaultFlushTimeout: the run's flush timeout, which `unistore
// worker --flush-timeout` takes from the orchestrator that launched it.
func WithWorkerFlushTimeout(d time.Duration) JoinOption {
	return func(c *worker.JoinConfig) { c.FlushTimeout = d }
}

// WithUrgent cuts the worker's final flush short when urgent is closed:
// what is unstored goes to the spool at once.
func WithUrgent(urgent <-chan struct{}) JoinOption {
	return func(c *worker.JoinConfig) { c.Urgent = urgent }
}

// DefaultSpoolDir is where runs spool what their store could not take
// (store.DefaultSpoolDir): $UNISTORE_SPOOL_DIR, else spool/ beside the
// default store.
func DefaultSpoolDir() string { return store.DefaultSpoolDir() }

// RecoveredRun is what Recover did with one spooled run.
type RecoveredRun = store.Recovered

// Recover loads the runs spooled under spoolDir (store.DefaultSpoolDir if
// empty) whose RUN_STATUS st holds: their rows, idempotently, then their
// final status. See store.Recover.
func Recover(ctx context.Context, st store.Store, spoolDir string) ([]RecoveredRun, error) {
	return store.Recover(ctx, st, spoolDir)
}

// RunFilter selects runs for Runs: by status, by enrichment state, and
// at most Limit (0: all) of the runs that match.
type RunFilter struct {
	Status Status
	// Enrichment keeps the runs whose RunInfo.Enrichment is this state
	// (EnrichmentStates; case ignored): "PENDING" lists the runs that
	// `runs enrich` still has something to read for. "" keeps every run.
	// It is read from each run's stored summary, so with it Runs reads
	// every run of the status and applies Limit to those that match.
	Enrichment string
	Limit      int
}

// EnrichmentNone is RunInfo.Enrichment of a run that recorded no
// enrichment (before cost was measured, or it never reached its rollup),
// as RunFilter.Enrichment asks for it.
const EnrichmentNone = "NONE"

// EnrichmentStates are the values RunFilter.Enrichment takes.
var EnrichmentStates = []string{core.EnrichPending, core.EnrichCompleted, core.EnrichSkipped, core.EnrichFailed, EnrichmentNone}

// ErrBadFilter is matched by Runs' error for a filter value it does not
// know.
var ErrBadFilter = errors.New("unistore: runs: bad filter")

// enrichmentOf is a run's enrichment state from its summary's two
// enrichments (the cost's metered credits, the server figures): PENDING
// if either waits for the server's views, else FAILED if either failed,
// else COMPLETED if either completed, else SKIPPED if either was
// skipped; "" if the summary records none.
func enrichmentOf(res *Result) string {
	var states []string
	if res.Cost != nil && res.Cost.Enrichment != nil {
		states = append(states, res.Cost.Enrichment.Status)
	}
	if res.Server != nil {
		states = append(states, res.Server.Status)
	}
	for _, want := range []string{core.EnrichPending, core.EnrichFailed, core.EnrichCompleted, core.EnrichSkipped} {
		if slices.Contains(states, want) {
			return want
		}
	}
	return ""
}

// RunInfo is one run as Runs lists it.
type RunInfo struct {
	RunID       string     `json:"run_id"`
	Name        string     `json:"name"`
	Template    string     `json:"template,omitempty"`
	Status      Status     `json:"status"`
	Phase       Phase      `json:"phase,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	Connections int        `json:"connections"`
	Outcome     string     `json:"outcome,omitempty"`
	QPS         *float64   `json:"qps,omitempty"`
	P99         *float64   `json:"p99_ms,omitempty"`
	RowsDropped int64      `json:"rows_dropped"`
	// RowsSpooled counts the rows the run spooled (from its summary);
	// Recovered is set once `runs recover` has loaded them.
	RowsSpooled int64 `json:"rows_spooled,omitempty"`
	Recovered   bool  `json:"recovered,omitempty"`
	// Stale marks a run that is not finished but whose orchestrator has not
	// renewed it for longer than its lease, and that could not be marked
	// FAILED (orchestrator lost) as Runs marks such runs: the store
	// refused the write.
	Stale bool `json:"stale,omitempty"`
	// Enrichment is the state of the run's enrichment, read from its
	// summary (the cost's metered credits and the server figures, each
	// PENDING, COMPLETED, SKIPPED or FAILED): PENDING if either waits for
	// the server's views — `unistore runs enrich RUN_ID` has more to read
	// —, else FAILED if either failed, else COMPLETED if either
	// completed, else SKIPPED; empty when the run recorded none.
	Enrichment string `json:"enrichment,omitempty"`
}

// OutcomeOrchestratorLost begins the outcome (RunInfo.Outcome,
// Result.Error) of a run marked FAILED because its orchestrator died: it
// stopped renewing the run for longer than the run's lease (its workers
// then stop on their own). Whoever reads such a run first marks it — Runs,
// Show, Stop, Scale, the controller (through them) or the next run on the
// store — and its snapshots stay readable (Show).
const OutcomeOrchestratorLost = orchestrator.OutcomeOrchestratorLost

// ErrOrchestratorLost is matched by the error of Stop and Scale on a run
// whose orchestrator is gone: the run is marked FAILED (orchestrator lost)
// and there is nothing left to stop.
var ErrOrchestratorLost = orchestrator.ErrOrchestratorLost

// Runs lists the stored runs, newest first. A run whose orchestrator is
// gone is marked FAILED (OutcomeOrchestratorLost) on the way, and is left
// out if f asks for another status.
func Runs(ctx context.Context, st store.Store, f RunFilter) ([]RunInfo, error) {
	enrichment := strings.ToUpper(strings.TrimSpace(f.Enrichment))
	if enrichment != "" && !slices.Contains(EnrichmentStates, enrichment) {
		return nil, fmt.Errorf("%w: enrichment %q: want one of %s", ErrBadFilter, f.Enrichment, strings.Join(EnrichmentStates, ", "))
	}
	sf := store.RunFilter{Status: f.Status, Limit: f.Limit}
	if enrichment != "" {
		sf.Limit = 0 // the limit counts matching runs, known only from the summaries
	}
	runs, err := st.ListRuns(ctx, sf)
	if err != nil {
		return nil, err
	}
	out := make([]RunInfo, 0, len(runs))
	for _, r := range runs {
		if orchestrator.Abandoned(r, time.Now()) {
			if cur, _, err := orchestrator.MarkAbandoned(ctx, st, r, "runs list"); err == nil {
				r = cur
			}
			if f.Status != "" && r.Status != f.Status {
				continue
			}
		}
		l := RunInfo{RunID: r.ID, Name: r.Name, Template: r.Template, Status: r.Status, Phase: r.Phase,
			CreatedAt: r.CreatedAt, Connections: r.Spec.Connections, Outcome: r.Outcome, RowsDropped: r.RowsDropped,
			Stale: !r.Status.Terminal() && time.Since(r.UpdatedAt) > r.Spec.Control.Lease.D()}
		if !r.StartedAt.IsZero() {
			l.StartedAt = &r.StartedAt
		}
		if !r.EndedAt.IsZero() {
			l.EndedAt = &r.EndedAt
		}
		if len(r.Summary) > 0 {
			var s Result
			if json.Unmarshal(r.Summary, &s) == nil {
				l.QPS, l.P99 = &s.Total.QPS, &s.Total.Latency.P99
				l.RowsSpooled = s.RowsSpooled
				l.Recovered = s.Store != nil && s.Store.RecoveredAt != nil
				l.Enrichment = enrichmentOf(&s)
			}
		}
		if enrichment != "" && cmp.Or(l.Enrichment, EnrichmentNone) != enrichment {
			continue
		}
		out = append(out, l)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// Show recomputes a stored run's result from its snapshots (see
// ResultFromStore). A run whose orchestrator is gone is marked FAILED
// first (OutcomeOrchestratorLost).
func Show(ctx context.Context, st store.Store, runID string) (*Result, error) {
	if run, err := st.GetRun(ctx, runID); err == nil && orchestrator.Abandoned(run, time.Now()) {
		// Best effort: a store that refuses the write still shows the run.
		_, _, _ = orchestrator.MarkAbandoned(ctx, st, run, "runs show")
	}
	return rollup.Result(ctx, st, runID)
}

// Intervals is a run's rollup per time bucket of width: every worker's
// snapshots merged exactly. It works while the run goes on.
func Intervals(ctx context.Context, st store.Store, runID string, width time.Duration) ([]Interval, error) {
	run, rows, err := rollup.Load(ctx, st, runID)
	if err != nil {
		return nil, err
	}
	return rollup.Intervals(run, rows, width)
}

// Compare returns the results of runs a and b, for report.Compare.
func Compare(ctx context.Context, st store.Store, a, b string) (*Result, *Result, error) {
	ra, err := Show(ctx, st, a)
	if err != nil {
		return nil, nil, err
	}
	rb, err := Show(ctx, st, b)
	if err != nil {
		return nil, nil, err
	}
	return ra, rb, nil
}

// ErrFormat is matched by Export's error for an unknown format.
var ErrFormat = errors.New("unistore: unknown export format")

// ExportFormats are Export's formats.
var ExportFormats = []string{"hdr", "csv", "json"}

// Export phases (ExportPhase).
const (
	// ExportMeasurement, the default, exports the measurement's intervals
	// only: what the result's figures are made of.
	ExportMeasurement = "measurement"
	// ExportAll exports warm-up's intervals too, marked apart: hdr tags
	// begin "warmup:", csv and json rows carry their phase.
	ExportAll = "all"
)

// ExportOption changes what Export writes.
type ExportOption func(*exportConfig)

type exportConfig struct{ phase string }

// ExportPhase chooses the intervals Export writes: ExportMeasurement (the
// default) or ExportAll.
func ExportPhase(phase string) ExportOption { return func(c *exportConfig) { c.phase = phase } }

// Export writes a run's interval snapshots to w: "hdr" (an HdrHistogram
// interval log), "csv", or "json" (the result with its snapshots). It
// writes the measurement's intervals only unless ExportPhase(ExportAll)
// is given: then warm-up's too, marked apart.
func Export(ctx context.Context, st store.Store, runID, format string, w io.Writer, opts ...ExportOption) error {
	if format != "hdr" && format != "csv" && format != "json" {
		return fmt.Errorf("%w %q: want hdr, csv or json", ErrFormat, format)
	}
	cfg := exportConfig{phase: ExportMeasurement}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.phase != ExportMeasurement && cfg.phase != ExportAll {
		return fmt.Errorf("%w: phase %q: want %s or %s", ErrFormat, cfg.phase, ExportMeasurement, ExportAll)
	}
	run, rows, err := rollup.Load(ctx, st, runID)
	if err != nil {
		return err
	}
	if cfg.phase == ExportMeasurement {
		kept := rows[:0]
		for _, r := range rows {
			if r.Phase == core.PhaseMeasurement {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	switch format {
	case "hdr":
		return report.ExportHDR(w, run, rows)
	case "csv":
		return report.ExportCSV(w, rows)
	}
	res, err := Show(ctx, st, runID)
	if err != nil {
		return err
	}
	return report.ExportJSON(w, res, rows)
}

// SaveTemplate checks body as a template and saves it under name (the
// template's own name if empty), bumping its version. A password or other
// secret in target.dsn is removed before the template is stored
// (workload.StripSecrets; the saved row's Stripped says so): whoever runs
// it gives the secret from the environment or a full --target.
func SaveTemplate(ctx context.Context, st store.Store, filename, name string, body []byte) (StoredTemplate, error) {
	t, err := ReadTemplate(filename, body)
	if err != nil {
		return StoredTemplate{}, err
	}
	if name == "" {
		name = t.Spec.Name
	}
	if name == "" {
		return StoredTemplate{}, fmt.Errorf("unistore: %s has no name: give one", filename)
	}
	if msg := core.CheckName(name); msg != "" {
		return StoredTemplate{}, fmt.Errorf("unistore: template name: %s", msg)
	}
	body, stripped, err := workload.StripSecrets(body)
	if err != nil {
		return StoredTemplate{}, err
	}
	saved, err := st.SaveTemplate(ctx, store.Template{Name: name, Body: string(body)})
	if err != nil {
		return StoredTemplate{}, err
	}
	if stripped {
		err = ErrSecretStripped
	}
	return saved, err
}

// ErrSecretStripped is returned, with the saved template, by SaveTemplate
// when it removed a password or secret from the template's target.dsn
// before storing it: the template is saved, and the secret must come from
// the environment (PGPASSWORD, say) or a full --target when it runs.
var ErrSecretStripped = errors.New("unistore: the password in target.dsn was not stored: give it at run time, in the environment (PGPASSWORD, say) or with --target")

// Templates lists the saved templates by name.
func Templates(ctx context.Context, st store.Store) ([]StoredTemplate, error) {
	return st.ListTemplates(ctx)
}

// GetTemplate returns a saved template's row.
func GetTemplate(ctx context.Context, st store.Store, name string) (StoredTemplate, error) {
	return st.GetTemplate(ctx, name)
}

// LoadSavedTemplate parses a saved template.
func LoadSavedTemplate(ctx context.Context, st store.Store, name string) (*Template, error) {
	saved, err := st.GetTemplate(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("unistore: template %q: %w", name, err)
	}
	return ReadTemplate("template "+name, []byte(saved.Body))
}

// DeleteTemplate deletes a saved template.
func DeleteTemplate(ctx context.Context, st store.Store, name string) error {
	return st.DeleteTemplate(ctx, name)
}

// Store is the results store the run-management API works on.
type Store = store.Store

// DefaultStoreDSN returns the default results store: a per-user SQLite
// file, $XDG_DATA_HOME/unistore/unistore.db or
// ~/.local/share/unistore/unistore.db (store.DefaultPath); its backend,
// store/sqlite, must be imported.
func DefaultStoreDSN() string { return store.DefaultDSN() }

// DefaultStorePath is the default results store's file (store.DefaultPath).
func DefaultStorePath() string { return store.DefaultPath() }

// OpenDefaultStore opens the default results store, creating its file and
// applying its schema the first time (a file the user owns, set up as
// `quickstart` does; not the run-time DDL a shared store never gets). It
// reports whether it set the store up. A default store of an older schema
// version is upgraded in place (its own file, as above); one of a newer
// version is an error as for any store.
func OpenDefaultStore(ctx context.Context) (st Store, created bool, err error) {
	dsn, path := store.DefaultDSN(), store.DefaultPath()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, false, fmt.Errorf("unistore: create the default store: %w", err)
		}
		if err := store.ApplySchema(ctx, dsn); err != nil {
			return nil, false, err
		}
		created = true
	}
	st, err = store.Open(ctx, dsn)
	// An empty file (a first use cut short) is set up as a missing one,
	// and one an older unistore set up is brought to this schema version:
	// the scripts are rerunnable and only add (sql/schema).
	if se := (*store.SchemaError)(nil); errors.As(err, &se) && se.Have < se.Want {
		if err := store.ApplySchema(ctx, dsn); err != nil {
			return nil, false, err
		}
		created = se.Have == 0
		st, err = store.Open(ctx, dsn)
	}
	if err != nil {
		return nil, false, err
	}
	return st, created, nil
}

// OpenStore opens the results store dsn names through the backend
// registered for its scheme (store.Open): import the backend, e.g.
// `_ "github.com/unistore-bench/unistore/store/postgres"`.
func OpenStore(ctx context.Context, dsn string) (Store, error) { return store.Open(ctx, dsn) }

// ApplySchema creates or upgrades the results store's schema (store.ApplySchema).
func ApplySchema(ctx context.Context, dsn string) error { return store.ApplySchema(ctx, dsn) }
