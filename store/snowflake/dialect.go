package snowflake

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/unistore-bench/unistore/sql/schema"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/store/sqlstore"
)

// dialect is the sqlstore.Dialect of Snowflake, over database/sql and
// gosnowflake: every statement tagged QueryTag, no float ever bound,
// MERGE for the upserts, read-then-insert for event numbers.
type dialect struct {
	*sqlstore.DB
	dsn      string
	password string // from the DSN, connections.toml or SNOWFLAKE_PASSWORD: scrubbed from errors
	// resultsPrefix qualifies the bulk tables: "DB.TEST_RESULTS.".
	resultsPrefix string
}

var (
	_ sqlstore.Dialect         = (*dialect)(nil)
	_ sqlstore.HeartbeatPutter = (*dialect)(nil)
	_ sqlstore.TemplateSaver   = (*dialect)(nil)
	_ sqlstore.EventAppender   = (*dialect)(nil)
)

// ErrFloatBind is matched by the error of a statement given a float
// argument: gosnowflake sends a float64 at float32 precision, so the store
// binds integers (µs) and text only.
var ErrFloatBind = errors.New("store: snowflake: a float is never bound (gosnowflake sends float32 precision)")

// checkArgs refuses float arguments (see ErrFloatBind).
func checkArgs(args []any) error {
	for i, a := range args {
		switch a.(type) {
		case float64, float32, *float64, *float32:
			return fmt.Errorf("%w: argument %d is %T", ErrFloatBind, i+1, a)
		}
	}
	return nil
}

func (d *dialect) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	if err := checkArgs(args); err != nil {
		return 0, err
	}
	return d.DB.Exec(tagged(ctx), q, args...)
}

func (d *dialect) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	return d.DB.Query(tagged(ctx), q, args...)
}

// Time binds a time as itself: gosnowflake sends a time.Time as
// TIMESTAMP_NTZ in nanoseconds, exact. The zero time is NULL.
func (d *dialect) Time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// IsUniqueViolation reports a hybrid table's duplicate key (200001), or
// the standard SQLSTATE of one.
func (d *dialect) IsUniqueViolation(err error) bool {
	var se *gosnowflake.SnowflakeError
	return errors.As(err, &se) && (se.Number == 200001 || se.SQLState == "23505")
}

// scrubbed carries an error text with the password removed; Unwrap still
// reaches the driver's error.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// Errorf is sqlstore.Errorf, also scrubbing a password that came from
// connections.toml or SNOWFLAKE_PASSWORD rather than the DSN.
func (d *dialect) Errorf(err error, format string, args ...any) error {
	out := sqlstore.Errorf(schema.Snowflake, d.dsn, err, format, args...)
	if out == nil || d.password == "" || !strings.Contains(out.Error(), d.password) {
		return out
	}
	return &scrubbed{msg: strings.ReplaceAll(out.Error(), d.password, "xxxxx"), err: out}
}

// ---- bulk rows

// Bounds of one multi-row INSERT. Snowflake keeps at most 1 MB of a
// statement, bound values included, measured after the request's gzip
// compression, and VALUES takes at most 16,384 rows. A statement is kept
// to 16,384 rows, 32,000 bound values (the emulator's SQLite takes 32,766;
// Snowflake documents no lower count) and 1 MiB of bound values before
// compression (counting bindOverhead per value), which compresses far
// below the limit: a 2,000-row batch of executions is one statement, a
// batch of snapshots (mostly base64 histograms, which compress least) one
// or a few.
const (
	maxInsertRows  = 16384
	maxInsertBinds = 32000
	maxInsertBytes = 1 << 20
	// bindOverhead is what one bound value costs besides its text, as
	// the statement's "?, " and the bindings' JSON keys compress.
	bindOverhead = 8
)

// bindSize estimates the bytes a bound value adds to the request.
func bindSize(v any) int {
	switch x := v.(type) {
	case string:
		return bindOverhead + len(x)
	case nil:
		return bindOverhead
	}
	return bindOverhead + 20
}

// insertMany inserts n rows into table with multi-row INSERTs (plain
// positional binds, never array binding: gosnowflake moves an array bind
// above CLIENT_STAGE_ARRAY_BINDING_THRESHOLD to a stage, which needs
// PUT), each within maxInsertRows, maxInsertBinds and maxInsertBytes. One statement when
// the rows fit (atomic by itself), else all of them in one transaction:
// all rows or none. values appends row i's values in cols order.
//
// A mark (not nil) is inserted first into the hybrid table
// STORED_BATCHES, in the same transaction: its primary key refuses a
// batch id stored before, and the batch then reports success having
// written nothing.
func (d *dialect) insertMany(ctx context.Context, table string, cols []string, n int, values func(dst []any, i int) []any, mark *sqlstore.Mark) error {
	ctx = tagged(ctx)
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	perStmt := min(maxInsertRows, max(1, maxInsertBinds/len(cols)))
	var stmts [][]any // each statement's arguments
	var args []any
	size, rows := 0, 0
	for i := range n {
		start := len(args)
		args = values(args, i)
		rowSize := 0
		for _, v := range args[start:] {
			rowSize += bindSize(v)
		}
		if rows > 0 && (rows == perStmt || size+rowSize > maxInsertBytes) {
			stmts = append(stmts, args[:start:start])
			args = args[start:]
			size, rows = 0, 0
		}
		size += rowSize
		rows++
	}
	if rows > 0 {
		stmts = append(stmts, args)
	}
	for _, a := range stmts {
		if err := checkArgs(a); err != nil {
			return err
		}
	}
	text := func(a []any) string {
		k := len(a) / len(cols)
		return head + strings.TrimSuffix(strings.Repeat(tuple+", ", k), ", ")
	}
	if len(stmts) == 1 && mark == nil {
		_, err := d.DB.DB.ExecContext(ctx, text(stmts[0]), stmts[0]...)
		return err
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if mark != nil {
			_, err := tx.ExecContext(ctx, "INSERT INTO "+d.results("stored_batches")+" ("+strings.Join(sqlstore.MarkColumns, ", ")+
				") VALUES (?, ?, ?, ?)", mark.Args()...)
			if d.IsUniqueViolation(err) {
				return errBatchStored
			}
			if err != nil {
				return err
			}
		}
		for _, a := range stmts {
			if _, err := tx.ExecContext(ctx, text(a), a...); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errBatchStored) {
		return nil
	}
	return err
}

// inTx runs fn in a transaction on one session and commits. If anything
// fails, the session is rolled back and then discarded, not returned to
// the pool: a ROLLBACK that failed too (the store unreachable) would leave
// the transaction open on the server, and the next BEGIN on that session
// — which Snowflake ignores inside a transaction — would later commit the
// half-written batch with the next one. A discarded session's open
// transaction never commits.
func (d *dialect) inTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	conn, err := d.DB.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = conn.Raw(func(any) error { return sqldriver.ErrBadConn })
		}
		conn.Close()
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err = fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (d *dialect) results(table string) string { return d.resultsPrefix + table }

func (d *dialect) WriteSnapshots(ctx context.Context, mark *sqlstore.Mark, rows []store.Snapshot) error {
	return d.insertMany(ctx, d.results("worker_metrics_snapshots"), sqlstore.SnapshotColumns, len(rows), func(dst []any, i int) []any {
		return sqlstore.SnapshotValues(dst, &rows[i], d.Time)
	}, mark)
}

func (d *dialect) WriteExecutions(ctx context.Context, mark *sqlstore.Mark, rows []store.Execution) error {
	return d.insertMany(ctx, d.results("query_executions"), sqlstore.ExecutionColumns, len(rows), func(dst []any, i int) []any {
		return sqlstore.ExecutionValues(dst, &rows[i], d.Time)
	}, mark)
}

// errBatchStored ends a batch's transaction whose mark was there already:
// rolled back, and the write reports success.
var errBatchStored = errors.New("batch stored already")

// ---- upserts and appends

// PutHeartbeat upserts the (run, worker) row with one MERGE: Snowflake
// has no INSERT … ON CONFLICT, and a worker's heartbeat is one round trip
// whether its row is new or not.
func (d *dialect) PutHeartbeat(ctx context.Context, s *sqlstore.Store, h store.Heartbeat) error {
	if h.LastSeen.IsZero() {
		h.LastSeen = time.Now()
	}
	var pid any
	if h.PID != 0 {
		pid = int64(h.PID)
	}
	var host any
	if h.Host != "" {
		host = h.Host
	}
	_, err := d.Exec(ctx, s.Q(`MERGE INTO {worker_heartbeats} t
		USING (SELECT ? AS run_id, ? AS worker_id, ? AS worker_group, ? AS status, ? AS phase, ? AS last_seen,
			? AS connections, ? AS host, ? AS pid, ? AS rows_dropped) s
		ON t.run_id = s.run_id AND t.worker_id = s.worker_id
		WHEN MATCHED THEN UPDATE SET worker_group = s.worker_group, status = s.status, phase = s.phase,
			last_seen = s.last_seen, connections = s.connections, host = s.host, pid = s.pid, rows_dropped = s.rows_dropped
		WHEN NOT MATCHED THEN INSERT (run_id, worker_id, worker_group, status, phase, last_seen, connections, host, pid, rows_dropped)
			VALUES (s.run_id, s.worker_id, s.worker_group, s.status, s.phase, s.last_seen, s.connections, s.host, s.pid, s.rows_dropped)`),
		h.RunID, h.WorkerID, int64(h.Group), string(h.Status), string(h.Phase), d.Time(store.UTC(h.LastSeen)),
		int64(h.Connections), host, pid, h.RowsDropped)
	if err != nil {
		return d.Errorf(err, "heartbeat %s/%s", h.RunID, h.WorkerID)
	}
	return nil
}

// SaveTemplate upserts with a MERGE (version + 1 when the name exists)
// and reads the row back in the same transaction: Snowflake has no
// RETURNING, and the transaction's lock on the table keeps a concurrent
// save from coming between the two.
func (d *dialect) SaveTemplate(ctx context.Context, s *sqlstore.Store, t store.Template) (store.Template, error) {
	ctx = tagged(ctx)
	fail := func(err error) (store.Template, error) {
		return store.Template{}, d.Errorf(err, "save template %q", t.Name)
	}
	var out store.Template
	var v int64
	now := store.UTC(time.Now())
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.Q(`MERGE INTO {test_templates} t
		USING (SELECT ? AS name, ? AS body, ? AS ts) s ON t.name = s.name
		WHEN MATCHED THEN UPDATE SET version = t.version + 1, body = s.body, updated_at = s.ts
		WHEN NOT MATCHED THEN INSERT (name, version, body, created_at, updated_at) VALUES (s.name, 1, s.body, s.ts, s.ts)`),
			t.Name, t.Body, now); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.Q(`SELECT name, version, body, created_at, updated_at FROM {test_templates} WHERE name = ?`), t.Name).
			Scan(&out.Name, &v, &out.Body, &out.CreatedAt, &out.UpdatedAt)
	})
	if err != nil {
		return fail(err)
	}
	out.Version = int(v)
	out.CreatedAt, out.UpdatedAt = store.UTC(out.CreatedAt), store.UTC(out.UpdatedAt)
	return out, nil
}

// appendRetries bounds AppendEvent's retries when a concurrent append took
// the same sequence number (the hybrid table's primary key refuses it).
// The read and the insert are two round trips, so concurrent appenders
// collide more often than with PostgreSQL's one statement: a retry first
// waits a random 0–appendJitter×attempt, so that they spread out.
const (
	appendRetries = 30
	appendJitter  = 5 * time.Millisecond
)

// AppendEvent reads the run's next sequence number (and whether the run
// exists) in one query, then inserts the event with it: Snowflake has no
// RETURNING to hand back a number computed in the INSERT. Two concurrent
// appends collide on RUN_CONTROL_EVENTS' primary key (a hybrid table
// enforces it) and the loser reads again.
func (d *dialect) AppendEvent(ctx context.Context, s *sqlstore.Store, e store.Event) (store.Event, error) {
	var payload any
	if len(e.Payload) > 0 {
		payload = string(e.Payload)
	}
	next := s.Q(`SELECT (SELECT COUNT(*) FROM {run_status} WHERE run_id = ?),
		COALESCE((SELECT MAX(seq) FROM {run_control_events} WHERE run_id = ?), 0) + 1`)
	insert := s.Q(`INSERT INTO {run_control_events} (run_id, seq, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)`)
	for attempt := 0; ; attempt++ {
		var runs, seq int64
		rs, err := d.Query(ctx, next, e.RunID, e.RunID)
		if err == nil {
			for rs.Next() {
				err = rs.Scan(&runs, &seq)
			}
			if err == nil {
				err = rs.Err()
			}
			rs.Close()
		}
		if err != nil {
			return store.Event{}, d.Errorf(err, "append event to run %s", e.RunID)
		}
		if runs == 0 {
			return store.Event{}, fmt.Errorf("store: append event to run %s: %w", e.RunID, store.ErrNotFound)
		}
		_, err = d.Exec(ctx, insert, e.RunID, seq, string(e.Kind), payload, d.Time(e.CreatedAt))
		switch {
		case err == nil:
			e.Seq = seq
			return e, nil
		case d.IsUniqueViolation(err) && attempt < appendRetries:
			t := time.NewTimer(rand.N(appendJitter * time.Duration(attempt+1)))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return store.Event{}, d.Errorf(ctx.Err(), "append event to run %s", e.RunID)
			}
			continue
		default:
			return store.Event{}, d.Errorf(err, "append event to run %s", e.RunID)
		}
	}
}
