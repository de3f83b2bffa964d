package postgres

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// cancelTimeout bounds CancelQuery's cancel request.
const cancelTimeout = 2 * time.Second

type conn struct {
	c     *Connector
	pgx   *pgx.Conn
	pg    *pgconn.PgConn
	nstmt int
	raw   *rawConn // statement_mode=raw (or Connector.rawIO) on a plain socket, else nil
}

var (
	_ driver.Conn       = (*conn)(nil)
	_ driver.Canceler   = (*conn)(nil)
	_ driver.Classifier = (*conn)(nil)
)

func newConn(c *Connector, pc *pgx.Conn) *conn {
	cn := &conn{c: c, pgx: pc, pg: pc.PgConn()}
	if c.mode == ModeRaw || c.rawIO {
		cn.raw = newRawConn(cn)
	}
	return cn
}

func (c *conn) Classify(err error) (core.ErrorClass, string) { return Classify(err) }

// Prepare rewrites "?" placeholders to $n and has the server parse and
// describe the statement in every mode, so a statement that cannot run
// fails here.
func (c *conn) Prepare(ctx context.Context, sql string) (driver.Stmt, error) {
	c.raw.leave()
	q := core.RewritePlaceholders(sql, func(i int) string { return "$" + strconv.Itoa(i) })
	if c.c.mode == ModePrepared || c.c.mode == ModeRaw {
		c.nstmt++
		name := "unistore_" + strconv.Itoa(c.nstmt)
		sd, err := c.pg.Prepare(ctx, name, q, nil)
		if err != nil {
			return nil, fmt.Errorf("postgres: prepare %q: %w", sql, err)
		}
		s := &preparedStmt{c: c, sd: sd, sql: sql}
		s.vals = make([][]byte, len(sd.ParamOIDs))
		s.bufs = make([][]byte, len(sd.ParamOIDs))
		for i := range s.bufs {
			s.bufs[i] = make([]byte, 0, 64)
		}
		return s, nil
	}
	// extended and simple: validate with the unnamed statement, which the
	// server drops at the next Parse; no named statement lingers.
	sd, err := c.pg.Prepare(ctx, "", q, nil)
	if err != nil {
		return nil, fmt.Errorf("postgres: prepare %q: %w", sql, err)
	}
	return &pgxStmt{c: c, sql: q, nparams: len(sd.ParamOIDs), args: make([]any, 0, len(sd.ParamOIDs))}, nil
}

// QueryColumn runs sql with the simple protocol and converts the first
// column of every row.
func (c *conn) QueryColumn(ctx context.Context, sql string) ([]core.Value, error) {
	c.raw.leave()
	rows, err := c.pgx.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, fmt.Errorf("postgres: query %q: %w", sql, err)
	}
	defer rows.Close()
	var out []core.Value
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, fmt.Errorf("postgres: query %q: %w", sql, err)
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("postgres: query %q returns no columns", sql)
		}
		out = append(out, toValue(vals[0], rows.RawValues()[0]))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: query %q: %w", sql, err)
	}
	return out, nil
}

// toValue converts a value decoded by pgx; raw is its text form (the simple
// protocol returns text), used for every type without a core.Kind.
func toValue(v any, raw []byte) core.Value {
	switch v := v.(type) {
	case nil:
		return core.Value{}
	case int64:
		return core.Int(v)
	case int32:
		return core.Int(int64(v))
	case int16:
		return core.Int(int64(v))
	case int8:
		return core.Int(int64(v))
	case uint32:
		return core.Int(int64(v))
	case float64:
		return core.Value{Kind: core.KindFloat, Float: v}
	case float32:
		return core.Value{Kind: core.KindFloat, Float: float64(v)}
	case string:
		return core.Text(v)
	case bool:
		if v {
			return core.Value{Kind: core.KindBool, Int: 1}
		}
		return core.Value{Kind: core.KindBool}
	case time.Time:
		return core.Value{Kind: core.KindTime, Time: v}
	}
	return core.Value{Kind: core.KindText, Text: append([]byte(nil), raw...)}
}

// CancelQuery implements driver.Canceler: it sends a PostgreSQL cancel
// request for whatever the connection is running. If the request cannot be
// delivered it closes the socket, which also ends a blocked read. It is safe
// to call from another goroutine while Exec runs.
func (c *conn) CancelQuery() error {
	ctx, cancel := context.WithTimeout(context.Background(), cancelTimeout)
	defer cancel()
	if err := c.pg.CancelRequest(ctx); err != nil {
		_ = c.pg.Conn().Close()
		return fmt.Errorf("postgres: cancel request failed, connection closed: %w", err)
	}
	return nil
}

// Close closes the connection. Calling it again does nothing.
func (c *conn) Close() error {
	if c.pgx.IsClosed() {
		return nil
	}
	c.raw.leave()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.pgx.Close(ctx)
	if c.raw.failed() {
		return nil // the raw engine closed the socket already
	}
	return err
}

// preparedStmt is a named server-side statement executed at the pgconn
// level. Its buffers are reused across calls: one statement belongs to one
// connection, used by one goroutine at a time.
type preparedStmt struct {
	c    *conn
	sd   *pgconn.StatementDescription
	sql  string
	vals [][]byte // what is sent: nil for NULL, else a bufs entry or the Text bytes
	bufs [][]byte // per-parameter encoding buffers
}

// nonNilEmpty encodes an empty text parameter (a nil slice would mean NULL).
var nonNilEmpty = []byte{}

// Exec encodes args in text format, runs the statement and counts rows.
// The pgconn call gets context.Background(), which pgconn does not watch:
// see the package documentation for why and for how cancellation works.
func (s *preparedStmt) Exec(ctx context.Context, args []core.Value) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(args) != len(s.vals) {
		return 0, fmt.Errorf("postgres: %q takes %d parameters, got %d", s.sql, len(s.vals), len(args))
	}
	if s.c.raw != nil {
		return s.execRaw(s.c.raw, args)
	}
	for i := range args {
		s.vals[i] = s.encode(i, &args[i])
	}
	rr := s.c.pg.ExecStatement(context.Background(), s.sd, s.vals, nil, nil)
	var n int64
	for rr.NextRow() {
		n++
	}
	tag, err := rr.Close()
	clear(s.vals) // do not keep the caller's Text alive
	if err != nil {
		return 0, err
	}
	if len(s.sd.Fields) == 0 {
		n = tag.RowsAffected()
	}
	return n, nil
}

func (s *preparedStmt) encode(i int, v *core.Value) []byte {
	b := s.bufs[i][:0]
	switch v.Kind {
	case core.KindNull:
		return nil
	case core.KindText:
		if v.Text == nil {
			return nonNilEmpty
		}
		return v.Text
	case core.KindInt:
		b = strconv.AppendInt(b, v.Int, 10)
	case core.KindFloat:
		b = appendFloat(b, v.Float)
	case core.KindBool:
		if v.Int != 0 {
			b = append(b, 't')
		} else {
			b = append(b, 'f')
		}
	case core.KindTime:
		b = v.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	default:
		return nil
	}
	s.bufs[i] = b
	return b
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// pgxStmt runs through pgx's query path in the extended (QueryExecModeExec)
// or simple protocol mode, for comparison with the prepared mode.
type pgxStmt struct {
	c       *conn
	sql     string
	nparams int
	args    []any
}

func (s *pgxStmt) Exec(ctx context.Context, args []core.Value) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var err error
	if s.args, err = driver.AnyArgs(s.args, "postgres", s.sql, s.nparams, args); err != nil {
		return 0, err
	}
	rows, err := s.c.pgx.Query(ctx, s.sql, s.args...)
	if err != nil {
		return 0, err
	}
	var n int64
	for rows.Next() {
		n++
	}
	rows.Close()
	clear(s.args)
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(rows.FieldDescriptions()) == 0 {
		n = rows.CommandTag().RowsAffected()
	}
	return n, nil
}

var _ driver.Capacity = (*conn)(nil)

// Capacity reads max_connections, the slots reserved for superusers (none
// for a superuser, who may take them) and the connections open now other
// than this one: every backend of pg_stat_activity that holds a client
// slot (client backends and walsenders).
func (c *conn) Capacity(ctx context.Context) (driver.Slots, error) {
	c.raw.leave()
	var s driver.Slots
	err := c.pgx.QueryRow(ctx, `SELECT current_setting('max_connections')::int,
       CASE WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN 0
            ELSE current_setting('superuser_reserved_connections')::int END,
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type IN ('client backend', 'walsender') AND pid <> pg_backend_pid())::int`,
		pgx.QueryExecModeSimpleProtocol).Scan(&s.Max, &s.Reserved, &s.InUse)
	if err != nil {
		return driver.Slots{}, fmt.Errorf("postgres: read connection capacity: %w", err)
	}
	return s, nil
}
