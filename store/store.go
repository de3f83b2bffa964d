package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
)

// Store is the results and config store: the one interface the worker, the
// orchestrator and the CLI use. Implementations: Memory here; PostgreSQL
// (store/postgres), embedded SQLite (store/sqlite) and Snowflake
// (store/snowflake), opened by Open.
// Every method is safe for concurrent use. Times go in and come out in UTC,
// truncated to microseconds. A missing run or template is ErrNotFound.
type Store interface {
	// Runs. The orchestrator creates and updates them; everyone reads.

	// CreateRun inserts r. Zero CreatedAt means now. The spec is stored
	// redacted (r.Spec.Redacted()) whatever the caller passes. A run id
	// already there is ErrExists.
	CreateRun(ctx context.Context, r Run) error
	// UpdateRun sets the fields of u that are non-nil, and updated_at.
	UpdateRun(ctx context.Context, runID string, u RunUpdate) error
	GetRun(ctx context.Context, runID string) (Run, error)
	// ListRuns returns runs newest first.
	ListRuns(ctx context.Context, f RunFilter) ([]Run, error)

	// Control events: the orchestrator appends, workers poll.

	// AppendEvent appends e to its run's events and returns it with Seq
	// (1, 2, 3… per run) and CreatedAt (now when zero) set. The run must
	// exist.
	AppendEvent(ctx context.Context, e Event) (Event, error)
	// EventsSince returns the run's events with Seq > afterSeq, in order.
	EventsSince(ctx context.Context, runID string, afterSeq int64) ([]Event, error)

	// Heartbeats: workers upsert, the orchestrator lists.

	// PutHeartbeat inserts or replaces the (RunID, WorkerID) row.
	PutHeartbeat(ctx context.Context, h Heartbeat) error
	ListHeartbeats(ctx context.Context, runID string) ([]Heartbeat, error)

	// High-volume rows: workers write them in batches (through a Writer).

	// WriteSnapshots stores rows atomically: all or none.
	WriteSnapshots(ctx context.Context, rows []Snapshot) error
	// Snapshots returns a run's snapshots ordered by interval start,
	// worker, phase, operation.
	Snapshots(ctx context.Context, runID string) ([]Snapshot, error)
	// SnapshotsSince returns the run's snapshots whose interval ended after
	// since, in the same order: the orchestrator's incremental rollup.
	SnapshotsSince(ctx context.Context, runID string, since time.Time) ([]Snapshot, error)
	// WriteExecutions stores rows atomically: all or none.
	WriteExecutions(ctx context.Context, rows []Execution) error
	CountExecutions(ctx context.Context, runID string) (int64, error)
	// Executions returns a page of a run's executions ordered by start
	// time, worker, connection.
	Executions(ctx context.Context, f ExecutionFilter) ([]Execution, error)

	// Templates (the config schema).

	// SaveTemplate inserts t or replaces the body of the template of that
	// name, bumping Version (1 for a new one); it returns the stored row.
	SaveTemplate(ctx context.Context, t Template) (Template, error)
	GetTemplate(ctx context.Context, name string) (Template, error)
	// ListTemplates returns every template by name.
	ListTemplates(ctx context.Context) ([]Template, error)
	DeleteTemplate(ctx context.Context, name string) error

	// Close releases the store's connections.
	Close() error
}

// BatchWriter is an optional Store capability (every store here has it):
// bulk writes that carry a batch id, unique within the run. A batch is
// stored at most once however often it is written: a retry after a lost
// COMMIT acknowledgement, or a spooled batch loaded again by Recover,
// finds its id (in STORED_BATCHES, written in the same transaction as the
// rows) and stores nothing, successfully. Every row of a batch belongs to
// one run. Writer uses it through NewBatchWriter.
type BatchWriter interface {
	WriteSnapshotBatch(ctx context.Context, batchID string, rows []Snapshot) error
	WriteExecutionBatch(ctx context.Context, batchID string, rows []Execution) error
}

// Batch kinds, as STORED_BATCHES.KIND and spool files name them.
const (
	KindSnapshots  = "snapshots"
	KindExecutions = "executions"
)

// Errors. Match with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	// ErrSchema is matched by every *SchemaError: no schema, or a schema
	// version other than this binary's.
	ErrSchema = errors.New("store: schema not applied or wrong version")
)

// Run is a RUN_STATUS row. Zero times are NULL.
type Run struct {
	ID       string
	Name     string
	Template string // name of the template the run came from, if any
	// Spec is stored as JSON, redacted.
	Spec          core.Spec
	Status        core.Status
	Phase         core.Phase
	CreatedAt     time.Time
	UpdatedAt     time.Time // set by the store on every write
	StartedAt     time.Time
	WarmupEndedAt time.Time
	EndedAt       time.Time
	WorkersTarget int
	WorkersLive   int
	WorkersLost   int
	// Outcome is the error text of a failed run, empty otherwise.
	Outcome string
	// Summary is the rollup as JSON, nil until set.
	Summary json.RawMessage
	// RowsDropped counts store rows the run's workers dropped (and reported).
	RowsDropped int64
}

// RunUpdaterIf is an optional Store capability (Memory and the SQL
// backends have it): UpdateRunIf applies u only while the run is unfinished
// and its updated_at still equals updatedAt — a compare-and-set on the
// row's last write — and reports whether it did. Whoever marks a run whose
// orchestrator is gone uses it, so that a renewal racing the mark wins.
// A missing run is ErrNotFound.
type RunUpdaterIf interface {
	UpdateRunIf(ctx context.Context, runID string, updatedAt time.Time, u RunUpdate) (bool, error)
}

// RunUpdate names the RUN_STATUS fields to change: nil leaves one as is.
type RunUpdate struct {
	Status        *core.Status
	Phase         *core.Phase
	StartedAt     *time.Time
	WarmupEndedAt *time.Time
	EndedAt       *time.Time
	WorkersTarget *int
	WorkersLive   *int
	WorkersLost   *int
	Outcome       *string
	Summary       json.RawMessage
	RowsDropped   *int64
}

// RunFilter selects runs for ListRuns. Zero fields match everything; Limit
// 0 means no limit.
type RunFilter struct {
	Status core.Status
	Limit  int
}

// Event is a RUN_CONTROL_EVENTS row. Payload is JSON or nil, e.g.
// {"phase":"MEASUREMENT"} for SET_PHASE (package control holds the kinds
// and payloads).
type Event struct {
	RunID     string
	Seq       int64
	Kind      control.EventKind
	Payload   json.RawMessage
	CreatedAt time.Time
}

// Heartbeat is a WORKER_HEARTBEATS row, one per (run, worker).
type Heartbeat struct {
	RunID    string
	WorkerID string
	Group    int
	// Status is the worker's own state (control.WorkerRunning, …).
	Status      control.WorkerState
	Phase       core.Phase
	LastSeen    time.Time
	Connections int // connections held now
	Host        string
	PID         int
	// RowsDropped is how many store rows this worker has dropped so far.
	RowsDropped int64
}

// Snapshot is a WORKER_METRICS_SNAPSHOTS row: one worker's metrics for one
// operation over one interval. The histograms are base64 text in the
// HdrHistogram V2 compressed encoding, opaque to the store; empty
// ResponseHistogram and ErrorHistogram are NULL.
type Snapshot struct {
	RunID         string
	WorkerID      string
	Group         int
	IntervalStart time.Time
	IntervalEnd   time.Time
	Phase         core.Phase
	Operation     string
	Count         int64 // executions, failed ones included
	Errors        core.ErrorCounts
	Histogram     string
	// ResponseHistogram is the open model's latency from the intended start.
	ResponseHistogram string
	// ErrorHistogram is the latency of failed executions.
	ErrorHistogram string
	// Open-model start counts of the worker over the interval. They are
	// per worker, not per operation: a worker puts them on one of its rows
	// of the interval and zeros on the others, so sums over rows are exact.
	OpenIntended, OpenStarted, OpenLate, OpenSkipped int64
}

// Execution is a QUERY_EXECUTIONS row: one query. IntendedAt is zero
// (NULL) in the closed loop. ErrorClass is ErrNone when OK.
type Execution struct {
	RunID        string
	WorkerID     string
	Group        int
	Connection   int
	Operation    string
	Phase        core.Phase
	IntendedAt   time.Time
	StartedAt    time.Time
	EndedAt      time.Time
	OK           bool
	ErrorClass   core.ErrorClass
	SQLState     string
	RowsAffected int64
}

// ExecutionFilter selects a page of a run's executions. WorkerID empty
// matches every worker; Limit 0 means no limit.
type ExecutionFilter struct {
	RunID    string
	WorkerID string
	Limit    int
	Offset   int
}

// Template is a TEST_TEMPLATES row: a named YAML body.
type Template struct {
	Name      string
	Version   int
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}
