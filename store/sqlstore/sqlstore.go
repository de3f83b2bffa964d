package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// Store is store.Store over a SQL database. Queries are written once, with
// "?" placeholders and {table} names; the Dialect decides the qualified
// table names, the placeholder style, how a time is bound, how the bulk
// writes go (COPY, multi-row INSERT, multi-row binds) and, optionally, the
// upserts.
type Store struct {
	d       Dialect
	tables  *strings.Replacer
	ph      func(n int) string // nil: keep "?"
	noLimit string
	queries sync.Map
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.BatchWriter = (*Store)(nil)
)

// Mark is a batch's row in STORED_BATCHES, which makes bulk writes
// idempotent (store.BatchWriter).
type Mark struct {
	RunID, BatchID, Kind string
	Rows                 int
}

// MarkColumns are STORED_BATCHES' columns a Mark fills, in Args order.
var MarkColumns = []string{"run_id", "batch_id", "kind", "row_count"}

// Args returns the mark's values in MarkColumns order.
func (m *Mark) Args() []any { return []any{m.RunID, m.BatchID, m.Kind, int64(m.Rows)} }

func mark(id, runID, kind string, n int) *Mark {
	if id == "" {
		return nil
	}
	return &Mark{RunID: runID, BatchID: id, Kind: kind, Rows: n}
}

// Dialect is what a SQL backend supplies. A dialect may also implement
// HeartbeatPutter, TemplateSaver and EventAppender, for databases without
// INSERT … ON CONFLICT or RETURNING (Snowflake's MERGE).
type Dialect interface {
	// Exec runs a statement and returns the rows it affected.
	Exec(ctx context.Context, q string, args ...any) (int64, error)
	// Query runs a query.
	Query(ctx context.Context, q string, args ...any) (Rows, error)
	// Time binds a time (already UTC and truncated): nil for the zero time.
	Time(t time.Time) any
	// IsUniqueViolation reports a primary-key or unique violation.
	IsUniqueViolation(err error) bool
	// WriteSnapshots and WriteExecutions are the bulk path: all rows or
	// none. SnapshotColumns/SnapshotValues (and the Execution ones) give
	// the columns and values; InsertMany is a multi-row INSERT. A batch
	// with a Mark (not nil) inserts it first, in the same transaction, and
	// stores nothing, successfully, when the mark is already there (see
	// store.BatchWriter).
	WriteSnapshots(ctx context.Context, mark *Mark, rows []store.Snapshot) error
	WriteExecutions(ctx context.Context, mark *Mark, rows []store.Execution) error
	// Errorf wraps err with the store's name and redacted DSN (see Errorf).
	Errorf(err error, format string, args ...any) error
	Close() error
}

// HeartbeatPutter is an optional Dialect capability: its own upsert of a
// heartbeat row, instead of INSERT … ON CONFLICT (run_id, worker_id) DO
// UPDATE.
type HeartbeatPutter interface {
	PutHeartbeat(ctx context.Context, s *Store, h store.Heartbeat) error
}

// EventAppender is an optional Dialect capability: its own append of a
// control event, instead of INSERT … SELECT MAX(seq)+1 … RETURNING seq
// (Snowflake has no RETURNING). It gets the event with CreatedAt set (UTC,
// microseconds) and returns it with Seq set; a missing run is
// store.ErrNotFound.
type EventAppender interface {
	AppendEvent(ctx context.Context, s *Store, e store.Event) (store.Event, error)
}

// TemplateSaver is an optional Dialect capability: its own upsert of a
// template (version bumped), instead of INSERT … ON CONFLICT … RETURNING.
type TemplateSaver interface {
	SaveTemplate(ctx context.Context, s *Store, t store.Template) (store.Template, error)
}

// Rows is a query's result, as pgx.Rows and *sql.Rows have it.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Config says how a dialect names tables and writes placeholders.
type Config struct {
	// ResultsPrefix qualifies the results tables ("test_results."),
	// ConfigPrefix the config tables ("config."); empty for bare names.
	ResultsPrefix, ConfigPrefix string
	// Placeholder returns the n-th (1-based) placeholder, e.g. "$1"; nil
	// keeps "?".
	Placeholder func(n int) string
	// NoLimit is what goes before OFFSET when a query has none: SQLite
	// needs " LIMIT -1"; empty for dialects that take OFFSET alone.
	NoLimit string
}

// Tables are the store's table names, unqualified.
var Tables = []string{
	"run_status", "run_control_events", "worker_heartbeats",
	"worker_metrics_snapshots", "query_executions", "schema_version", "test_templates", "stored_batches",
	"find_max_steps", "run_baselines",
}

// New returns the Store over d.
func New(d Dialect, cfg Config) *Store {
	var pairs []string
	for _, t := range Tables {
		p := cfg.ResultsPrefix
		if t == "test_templates" || t == "run_baselines" {
			p = cfg.ConfigPrefix
		}
		pairs = append(pairs, "{"+t+"}", p+t)
	}
	return &Store{d: d, tables: strings.NewReplacer(pairs...), ph: cfg.Placeholder, noLimit: cfg.NoLimit}
}

// Q returns the dialect's text of query q — {table} names qualified, "?"
// placeholders rewritten — cached: for a dialect's own statements.
func (s *Store) Q(q string) string {
	if v, ok := s.queries.Load(q); ok {
		return v.(string)
	}
	out := s.tables.Replace(q)
	if s.ph != nil {
		out = core.RewritePlaceholders(out, s.ph)
	}
	s.queries.Store(q, out)
	return out
}

// Dialect returns the store's dialect, for callers that need more than
// store.Store (tests, tools).
func (s *Store) Dialect() Dialect { return s.d }

// Close closes the dialect's connections.
func (s *Store) Close() error { return s.d.Close() }

// now is the store's clock: UTC, microseconds.
func now() time.Time { return utc(time.Now()) }

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// nullStr binds "" as NULL.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullJSON binds empty JSON as NULL, otherwise the text.
func nullJSON(j json.RawMessage) any {
	if len(j) == 0 {
		return nil
	}
	return string(j)
}

// timeCol scans a nullable time stored as a timestamp or as RFC 3339 text.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case time.Time:
		*c.t = utc(v)
	case string:
		return c.parse(v)
	case []byte:
		return c.parse(string(v))
	default:
		return fmt.Errorf("store: cannot scan %T into a time", src)
	}
	return nil
}

func (c timeCol) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("store: bad time %q: %w", s, err)
	}
	*c.t = utc(t)
	return nil
}

// strCol scans a nullable text (or JSON) column into a string, "" for NULL.
type strCol struct{ s *string }

func (c strCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.s = ""
	case string:
		*c.s = v
	case []byte:
		*c.s = string(v)
	default:
		return fmt.Errorf("store: cannot scan %T into a string", src)
	}
	return nil
}

// jsonCol scans a nullable JSON column into a RawMessage, nil for NULL.
type jsonCol struct{ j *json.RawMessage }

func (c jsonCol) Scan(src any) error {
	var s string
	if err := (strCol{&s}).Scan(src); err != nil {
		return err
	}
	if s == "" {
		*c.j = nil
	} else {
		*c.j = json.RawMessage(s)
	}
	return nil
}

// intCol scans a nullable integer, 0 for NULL. Decimal text is an
// integer too: gosnowflake hands NUMBER columns over as strings.
type intCol struct{ n *int64 }

func (c intCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.n = 0
	case int64:
		*c.n = v
	case int32:
		*c.n = int64(v)
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("store: cannot scan %q into an integer", v)
		}
		*c.n = n
	default:
		return fmt.Errorf("store: cannot scan %T into an integer", src)
	}
	return nil
}

// ---- runs

const runColumns = `run_id, name, template, spec, status, phase, created_at, updated_at,
	started_at, warmup_ended_at, ended_at, workers_target, workers_live, workers_lost,
	outcome, summary, rows_dropped`

func (s *Store) CreateRun(ctx context.Context, r store.Run) error {
	if r.ID == "" {
		return errors.New("store: create run: empty run id")
	}
	spec, err := json.Marshal(r.Spec.Redacted())
	if err != nil {
		return fmt.Errorf("store: create run %s: spec: %w", r.ID, err)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now()
	}
	b := s.d
	_, err = b.Exec(ctx, s.Q(`INSERT INTO {run_status} (`+runColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.ID, r.Name, nullStr(r.Template), string(spec), string(r.Status), string(r.Phase),
		b.Time(utc(r.CreatedAt)), b.Time(now()), b.Time(utc(r.StartedAt)), b.Time(utc(r.WarmupEndedAt)), b.Time(utc(r.EndedAt)),
		int64(r.WorkersTarget), int64(r.WorkersLive), int64(r.WorkersLost),
		nullStr(r.Outcome), nullJSON(r.Summary), r.RowsDropped)
	if b.IsUniqueViolation(err) {
		return fmt.Errorf("store: create run %s: %w", r.ID, store.ErrExists)
	}
	if err != nil {
		return b.Errorf(err, "create run %s", r.ID)
	}
	return nil
}

func (s *Store) UpdateRun(ctx context.Context, runID string, u store.RunUpdate) error {
	set, args := s.runSet(u)
	args = append(args, runID)
	n, err := s.d.Exec(ctx, s.Q(`UPDATE {run_status} SET `+set+` WHERE run_id = ?`), args...)
	if err != nil {
		return s.d.Errorf(err, "update run %s", runID)
	}
	if n == 0 {
		return fmt.Errorf("store: update run %s: %w", runID, store.ErrNotFound)
	}
	return nil
}

// runSet returns UpdateRun's SET clause for u, updated_at included, and
// its arguments.
func (s *Store) runSet(u store.RunUpdate) (string, []any) {
	b := s.d
	var set []string
	var args []any
	add := func(col string, v any) {
		set = append(set, col+" = ?")
		args = append(args, v)
	}
	if u.Status != nil {
		add("status", string(*u.Status))
	}
	if u.Phase != nil {
		add("phase", string(*u.Phase))
	}
	if u.StartedAt != nil {
		add("started_at", b.Time(utc(*u.StartedAt)))
	}
	if u.WarmupEndedAt != nil {
		add("warmup_ended_at", b.Time(utc(*u.WarmupEndedAt)))
	}
	if u.EndedAt != nil {
		add("ended_at", b.Time(utc(*u.EndedAt)))
	}
	if u.WorkersTarget != nil {
		add("workers_target", int64(*u.WorkersTarget))
	}
	if u.WorkersLive != nil {
		add("workers_live", int64(*u.WorkersLive))
	}
	if u.WorkersLost != nil {
		add("workers_lost", int64(*u.WorkersLost))
	}
	if u.Outcome != nil {
		add("outcome", nullStr(*u.Outcome))
	}
	if u.Summary != nil {
		add("summary", nullJSON(u.Summary))
	}
	if u.RowsDropped != nil {
		add("rows_dropped", *u.RowsDropped)
	}
	add("updated_at", b.Time(now()))
	return strings.Join(set, ", "), args
}

func (s *Store) GetRun(ctx context.Context, runID string) (store.Run, error) {
	runs, err := s.listRuns(ctx, `SELECT `+runColumns+` FROM {run_status} WHERE run_id = ?`, runID)
	if err != nil {
		return store.Run{}, s.d.Errorf(err, "get run %s", runID)
	}
	if len(runs) == 0 {
		return store.Run{}, fmt.Errorf("store: run %s: %w", runID, store.ErrNotFound)
	}
	return runs[0], nil
}

func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, error) {
	q := `SELECT ` + runColumns + ` FROM {run_status}`
	var args []any
	if f.Status != "" {
		q += ` WHERE status = ?`
		args = append(args, string(f.Status))
	}
	q += ` ORDER BY created_at DESC, run_id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	runs, err := s.listRuns(ctx, q, args...)
	if err != nil {
		return nil, s.d.Errorf(err, "list runs")
	}
	return runs, nil
}

func (s *Store) listRuns(ctx context.Context, q string, args ...any) ([]store.Run, error) {
	rs, err := s.d.Query(ctx, s.Q(q), args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []store.Run
	for rs.Next() {
		var r store.Run
		var spec, summary json.RawMessage
		var status, phase string
		var target, live, lost int64
		if err := rs.Scan(&r.ID, &r.Name, strCol{&r.Template}, jsonCol{&spec}, &status, &phase,
			timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}, timeCol{&r.StartedAt}, timeCol{&r.WarmupEndedAt}, timeCol{&r.EndedAt},
			&target, &live, &lost, strCol{&r.Outcome}, jsonCol{&summary}, &r.RowsDropped); err != nil {
			return nil, err
		}
		if len(spec) > 0 {
			if err := json.Unmarshal(spec, &r.Spec); err != nil {
				return nil, fmt.Errorf("run %s: stored spec: %w", r.ID, err)
			}
		}
		r.Summary = summary
		r.Status, r.Phase = core.Status(status), core.Phase(phase)
		r.WorkersTarget, r.WorkersLive, r.WorkersLost = int(target), int(live), int(lost)
		out = append(out, r)
	}
	return out, rs.Err()
}

// ---- control events

// appendRetries bounds AppendEvent's retries when a concurrent append took
// the same sequence number.
const appendRetries = 10

func (s *Store) AppendEvent(ctx context.Context, e store.Event) (store.Event, error) {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now()
	}
	e.CreatedAt = utc(e.CreatedAt)
	if a, ok := s.d.(EventAppender); ok {
		return a.AppendEvent(ctx, s, e)
	}
	// The sequence is MAX+1 computed in the insert itself: no sequence
	// object (and no USAGE grant), no read-then-write race beyond the
	// primary key, which turns a concurrent duplicate into a retry.
	q := s.Q(`INSERT INTO {run_control_events} (run_id, seq, kind, payload, created_at)
		SELECT r.run_id, COALESCE((SELECT MAX(e.seq) FROM {run_control_events} e WHERE e.run_id = r.run_id), 0) + 1, ?, ?, ?
		FROM {run_status} r WHERE r.run_id = ?
		RETURNING seq`)
	for attempt := 0; ; attempt++ {
		rs, err := s.d.Query(ctx, q, string(e.Kind), nullJSON(e.Payload), s.d.Time(e.CreatedAt), e.RunID)
		found := false
		if err == nil {
			for rs.Next() {
				found = true
				err = rs.Scan(&e.Seq)
			}
			if err == nil {
				err = rs.Err()
			}
			rs.Close()
		}
		switch {
		case err == nil && !found:
			return store.Event{}, fmt.Errorf("store: append event to run %s: %w", e.RunID, store.ErrNotFound)
		case err == nil:
			return e, nil
		case s.d.IsUniqueViolation(err) && attempt < appendRetries:
			continue
		default:
			return store.Event{}, s.d.Errorf(err, "append event to run %s", e.RunID)
		}
	}
}

func (s *Store) EventsSince(ctx context.Context, runID string, afterSeq int64) ([]store.Event, error) {
	rs, err := s.d.Query(ctx, s.Q(`SELECT run_id, seq, kind, payload, created_at FROM {run_control_events}
		WHERE run_id = ? AND seq > ? ORDER BY seq`), runID, afterSeq)
	if err != nil {
		return nil, s.d.Errorf(err, "events of run %s", runID)
	}
	defer rs.Close()
	var out []store.Event
	for rs.Next() {
		var e store.Event
		var kind string
		if err := rs.Scan(&e.RunID, &e.Seq, &kind, jsonCol{&e.Payload}, timeCol{&e.CreatedAt}); err != nil {
			return nil, s.d.Errorf(err, "events of run %s", runID)
		}
		e.Kind = control.EventKind(kind)
		out = append(out, e)
	}
	if err := rs.Err(); err != nil {
		return nil, s.d.Errorf(err, "events of run %s", runID)
	}
	return out, nil
}

// ---- heartbeats

func (s *Store) PutHeartbeat(ctx context.Context, h store.Heartbeat) error {
	if p, ok := s.d.(HeartbeatPutter); ok {
		return p.PutHeartbeat(ctx, s, h)
	}
	if h.LastSeen.IsZero() {
		h.LastSeen = now()
	}
	var pid any
	if h.PID != 0 {
		pid = int64(h.PID)
	}
	_, err := s.d.Exec(ctx, s.Q(`INSERT INTO {worker_heartbeats}
		(run_id, worker_id, worker_group, status, phase, last_seen, connections, host, pid, rows_dropped)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, worker_id) DO UPDATE SET
			worker_group = excluded.worker_group, status = excluded.status, phase = excluded.phase,
			last_seen = excluded.last_seen, connections = excluded.connections, host = excluded.host,
			pid = excluded.pid, rows_dropped = excluded.rows_dropped`),
		h.RunID, h.WorkerID, int64(h.Group), string(h.Status), string(h.Phase), s.d.Time(utc(h.LastSeen)),
		int64(h.Connections), nullStr(h.Host), pid, h.RowsDropped)
	if err != nil {
		return s.d.Errorf(err, "heartbeat %s/%s", h.RunID, h.WorkerID)
	}
	return nil
}

func (s *Store) ListHeartbeats(ctx context.Context, runID string) ([]store.Heartbeat, error) {
	rs, err := s.d.Query(ctx, s.Q(`SELECT run_id, worker_id, worker_group, status, phase, last_seen,
		connections, host, pid, rows_dropped FROM {worker_heartbeats}
		WHERE run_id = ? ORDER BY worker_group, worker_id`), runID)
	if err != nil {
		return nil, s.d.Errorf(err, "heartbeats of run %s", runID)
	}
	defer rs.Close()
	var out []store.Heartbeat
	for rs.Next() {
		var h store.Heartbeat
		var group, conns, pid int64
		var status, phase string
		if err := rs.Scan(&h.RunID, &h.WorkerID, &group, &status, &phase, timeCol{&h.LastSeen},
			&conns, strCol{&h.Host}, intCol{&pid}, &h.RowsDropped); err != nil {
			return nil, s.d.Errorf(err, "heartbeats of run %s", runID)
		}
		h.Group, h.Connections, h.PID, h.Phase = int(group), int(conns), int(pid), core.Phase(phase)
		h.Status = control.WorkerState(status)
		out = append(out, h)
	}
	if err := rs.Err(); err != nil {
		return nil, s.d.Errorf(err, "heartbeats of run %s", runID)
	}
	return out, nil
}

// ---- snapshots and executions

// SnapshotColumns and ExecutionColumns are the bulk tables' columns in the
// order SnapshotValues and ExecutionValues produce them.
var (
	SnapshotColumns = []string{"run_id", "worker_id", "worker_group", "interval_start", "interval_end",
		"phase", "operation", "op_count", "error_count", "errors_by_class",
		"histogram", "response_histogram", "error_histogram",
		"open_intended", "open_started", "open_late", "open_skipped"}
	ExecutionColumns = []string{"run_id", "worker_id", "worker_group", "connection_id", "operation",
		"phase", "intended_at", "started_at", "ended_at", "ok", "error_class", "sqlstate", "rows_affected"}
)

// SnapshotValues appends the row's values in SnapshotColumns order,
// binding times with ts (a Dialect's Time).
func SnapshotValues(dst []any, r *store.Snapshot, ts func(time.Time) any) []any {
	var byClass any
	if m := r.Errors.Map(); m != nil {
		b, _ := json.Marshal(m) // a map[string]int64 always marshals
		byClass = string(b)
	}
	return append(dst, r.RunID, r.WorkerID, int64(r.Group), ts(utc(r.IntervalStart)), ts(utc(r.IntervalEnd)),
		string(r.Phase), r.Operation, r.Count, r.Errors.Total(), byClass,
		r.Histogram, nullStr(r.ResponseHistogram), nullStr(r.ErrorHistogram),
		r.OpenIntended, r.OpenStarted, r.OpenLate, r.OpenSkipped)
}

// ExecutionValues appends the row's values in ExecutionColumns order.
func ExecutionValues(dst []any, r *store.Execution, ts func(time.Time) any) []any {
	var class any
	if r.ErrorClass != core.ErrNone {
		class = r.ErrorClass.String()
	}
	return append(dst, r.RunID, r.WorkerID, int64(r.Group), int64(r.Connection), r.Operation,
		string(r.Phase), ts(utc(r.IntendedAt)), ts(utc(r.StartedAt)), ts(utc(r.EndedAt)),
		r.OK, class, nullStr(r.SQLState), r.RowsAffected)
}

func (s *Store) WriteSnapshots(ctx context.Context, rows []store.Snapshot) error {
	return s.WriteSnapshotBatch(ctx, "", rows)
}

func (s *Store) WriteExecutions(ctx context.Context, rows []store.Execution) error {
	return s.WriteExecutionBatch(ctx, "", rows)
}

// WriteSnapshotBatch implements store.BatchWriter.
func (s *Store) WriteSnapshotBatch(ctx context.Context, id string, rows []store.Snapshot) error {
	if len(rows) == 0 {
		return nil
	}
	if err := s.d.WriteSnapshots(ctx, mark(id, rows[0].RunID, store.KindSnapshots, len(rows)), rows); err != nil {
		return s.d.Errorf(err, "write %d snapshots", len(rows))
	}
	return nil
}

// WriteExecutionBatch implements store.BatchWriter.
func (s *Store) WriteExecutionBatch(ctx context.Context, id string, rows []store.Execution) error {
	if len(rows) == 0 {
		return nil
	}
	if err := s.d.WriteExecutions(ctx, mark(id, rows[0].RunID, store.KindExecutions, len(rows)), rows); err != nil {
		return s.d.Errorf(err, "write %d executions", len(rows))
	}
	return nil
}

func (s *Store) Snapshots(ctx context.Context, runID string) ([]store.Snapshot, error) {
	return s.SnapshotsSince(ctx, runID, time.Time{})
}

func (s *Store) SnapshotsSince(ctx context.Context, runID string, since time.Time) ([]store.Snapshot, error) {
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	rs, err := s.d.Query(ctx, s.Q(`SELECT `+strings.Join(SnapshotColumns, ", ")+` FROM {worker_metrics_snapshots}
		WHERE run_id = ? AND interval_end > ? ORDER BY interval_start, worker_id, phase, operation`), runID, s.d.Time(utc(since)))
	if err != nil {
		return nil, s.d.Errorf(err, "snapshots of run %s", runID)
	}
	defer rs.Close()
	var out []store.Snapshot
	for rs.Next() {
		var r store.Snapshot
		var group, errTotal int64
		var phase, byClass string
		if err := rs.Scan(&r.RunID, &r.WorkerID, &group, timeCol{&r.IntervalStart}, timeCol{&r.IntervalEnd},
			&phase, &r.Operation, &r.Count, &errTotal, strCol{&byClass},
			&r.Histogram, strCol{&r.ResponseHistogram}, strCol{&r.ErrorHistogram},
			&r.OpenIntended, &r.OpenStarted, &r.OpenLate, &r.OpenSkipped); err != nil {
			return nil, s.d.Errorf(err, "snapshots of run %s", runID)
		}
		r.Group, r.Phase = int(group), core.Phase(phase)
		if byClass != "" {
			var m map[string]int64
			if err := json.Unmarshal([]byte(byClass), &m); err != nil {
				return nil, fmt.Errorf("store: snapshots of run %s: errors_by_class: %w", runID, err)
			}
			for name, n := range m {
				r.Errors[core.ParseErrorClass(name)] += n
			}
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, s.d.Errorf(err, "snapshots of run %s", runID)
	}
	return out, nil
}

func (s *Store) CountExecutions(ctx context.Context, runID string) (int64, error) {
	rs, err := s.d.Query(ctx, s.Q(`SELECT COUNT(*) FROM {query_executions} WHERE run_id = ?`), runID)
	if err != nil {
		return 0, s.d.Errorf(err, "count executions of run %s", runID)
	}
	defer rs.Close()
	var n int64
	for rs.Next() {
		if err := rs.Scan(&n); err != nil {
			return 0, s.d.Errorf(err, "count executions of run %s", runID)
		}
	}
	if err := rs.Err(); err != nil {
		return 0, s.d.Errorf(err, "count executions of run %s", runID)
	}
	return n, nil
}

func (s *Store) Executions(ctx context.Context, f store.ExecutionFilter) ([]store.Execution, error) {
	q := `SELECT ` + strings.Join(ExecutionColumns, ", ") + ` FROM {query_executions} WHERE run_id = ?`
	args := []any{f.RunID}
	if f.WorkerID != "" {
		q += ` AND worker_id = ?`
		args = append(args, f.WorkerID)
	}
	q += ` ORDER BY started_at, worker_id, connection_id`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	if f.Offset > 0 {
		if f.Limit <= 0 {
			q += s.noLimit
		}
		q += fmt.Sprintf(` OFFSET %d`, f.Offset)
	}
	rs, err := s.d.Query(ctx, s.Q(q), args...)
	if err != nil {
		return nil, s.d.Errorf(err, "executions of run %s", f.RunID)
	}
	defer rs.Close()
	var out []store.Execution
	for rs.Next() {
		var r store.Execution
		var group, conn int64
		var phase, class string
		if err := rs.Scan(&r.RunID, &r.WorkerID, &group, &conn, &r.Operation, &phase,
			timeCol{&r.IntendedAt}, timeCol{&r.StartedAt}, timeCol{&r.EndedAt},
			&r.OK, strCol{&class}, strCol{&r.SQLState}, &r.RowsAffected); err != nil {
			return nil, s.d.Errorf(err, "executions of run %s", f.RunID)
		}
		r.Group, r.Connection, r.Phase = int(group), int(conn), core.Phase(phase)
		if class != "" {
			r.ErrorClass = core.ParseErrorClass(class)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, s.d.Errorf(err, "executions of run %s", f.RunID)
	}
	return out, nil
}

// ---- templates

func (s *Store) SaveTemplate(ctx context.Context, t store.Template) (store.Template, error) {
	if t.Name == "" {
		return store.Template{}, errors.New("store: save template: empty name")
	}
	if ts, ok := s.d.(TemplateSaver); ok {
		return ts.SaveTemplate(ctx, s, t)
	}
	ts := now()
	rs, err := s.d.Query(ctx, s.Q(`INSERT INTO {test_templates} (name, version, body, created_at, updated_at)
		VALUES (?, 1, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET version = {test_templates}.version + 1,
			body = excluded.body, updated_at = excluded.updated_at
		RETURNING name, version, body, created_at, updated_at`),
		t.Name, t.Body, s.d.Time(ts), s.d.Time(ts))
	if err != nil {
		return store.Template{}, s.d.Errorf(err, "save template %q", t.Name)
	}
	out, err := scanTemplates(rs)
	if err == nil && len(out) != 1 {
		err = fmt.Errorf("insert returned %d rows", len(out))
	}
	if err != nil {
		return store.Template{}, s.d.Errorf(err, "save template %q", t.Name)
	}
	return out[0], nil
}

func (s *Store) GetTemplate(ctx context.Context, name string) (store.Template, error) {
	rs, err := s.d.Query(ctx, s.Q(`SELECT name, version, body, created_at, updated_at
		FROM {test_templates} WHERE name = ?`), name)
	if err != nil {
		return store.Template{}, s.d.Errorf(err, "get template %q", name)
	}
	out, err := scanTemplates(rs)
	if err != nil {
		return store.Template{}, s.d.Errorf(err, "get template %q", name)
	}
	if len(out) == 0 {
		return store.Template{}, fmt.Errorf("store: template %q: %w", name, store.ErrNotFound)
	}
	return out[0], nil
}

func (s *Store) ListTemplates(ctx context.Context) ([]store.Template, error) {
	rs, err := s.d.Query(ctx, s.Q(`SELECT name, version, body, created_at, updated_at
		FROM {test_templates} ORDER BY name`))
	if err != nil {
		return nil, s.d.Errorf(err, "list templates")
	}
	out, err := scanTemplates(rs)
	if err != nil {
		return nil, s.d.Errorf(err, "list templates")
	}
	return out, nil
}

func (s *Store) DeleteTemplate(ctx context.Context, name string) error {
	n, err := s.d.Exec(ctx, s.Q(`DELETE FROM {test_templates} WHERE name = ?`), name)
	if err != nil {
		return s.d.Errorf(err, "delete template %q", name)
	}
	if n == 0 {
		return fmt.Errorf("store: template %q: %w", name, store.ErrNotFound)
	}
	return nil
}

func scanTemplates(rs Rows) ([]store.Template, error) {
	defer rs.Close()
	var out []store.Template
	for rs.Next() {
		var t store.Template
		var v int64
		if err := rs.Scan(&t.Name, &v, &t.Body, timeCol{&t.CreatedAt}, timeCol{&t.UpdatedAt}); err != nil {
			return nil, err
		}
		t.Version = int(v)
		out = append(out, t)
	}
	return out, rs.Err()
}
