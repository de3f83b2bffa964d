package snowflake

import (
	"context"
	sqldriver "database/sql/driver"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// conn is one Snowflake session: one gosnowflake connection used at the
// database/sql/driver level, without database/sql's pool.
type conn struct {
	c      *Connector
	sc     sqldriver.Conn
	ex     sqldriver.ExecerContext
	q      sqldriver.QueryerContext
	closed bool
}

var (
	_ driver.Conn       = (*conn)(nil)
	_ driver.Classifier = (*conn)(nil)
	_ driver.Labeler    = (*conn)(nil)
)

func newConn(c *Connector, sc sqldriver.Conn) (*conn, error) {
	ex, ok1 := sc.(sqldriver.ExecerContext)
	q, ok2 := sc.(sqldriver.QueryerContext)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("snowflake: gosnowflake connection %T lacks ExecContext or QueryContext", sc)
	}
	return &conn{c: c, sc: sc, ex: ex, q: q}, nil
}

func (c *conn) Classify(err error) (core.ErrorClass, string) { return Classify(err) }

// Label implements driver.Labeler: statements run under the returned
// context carry QueryTag(l) as their QUERY_TAG, set per statement in the
// query request (no ALTER SESSION round trip).
func (c *conn) Label(ctx context.Context, l driver.Label) context.Context {
	return gosnowflake.WithQueryTag(context.WithValue(ctx, labeledKey{}, true), QueryTag(l))
}

// labeledKey marks a context Label made: its tag is the caller's.
type labeledKey struct{}

func labeled(ctx context.Context) bool { b, _ := ctx.Value(labeledKey{}).(bool); return b }

// Prepare has Snowflake compile sql without running it (describe-only), so
// a missing table or column, a syntax error or a missing privilege is an
// error now, before load. Statements use Snowflake's own "?" placeholders;
// Exec checks the argument count against them.
func (c *conn) Prepare(ctx context.Context, sql string) (driver.Stmt, error) {
	if c.closed {
		return nil, errClosed
	}
	rows, err := c.q.QueryContext(gosnowflake.WithDescribeOnly(ctx), sql, nil)
	if err != nil {
		return nil, fmt.Errorf("snowflake: prepare %q: %w", sql, err)
	}
	rows.Close()
	n := core.CountPlaceholders(sql)
	return &stmt{c: c, sql: sql, rows: returnsRows(sql), nparams: n, args: make([]sqldriver.NamedValue, n)}, nil
}

// QueryColumn returns the first column of every row, converted by the
// column's Snowflake type: FIXED with scale 0 as KindInt, FIXED with a
// scale and REAL as KindFloat, BOOLEAN as KindBool, DATE, TIME and
// TIMESTAMP_* as KindTime, everything else as KindText.
func (c *conn) QueryColumn(ctx context.Context, sql string) ([]core.Value, error) {
	if c.closed {
		return nil, errClosed
	}
	rows, err := c.q.QueryContext(ctx, sql, nil)
	if err != nil {
		return nil, fmt.Errorf("snowflake: query %q: %w", sql, err)
	}
	defer rows.Close()
	cols := rows.Columns()
	if len(cols) == 0 {
		return nil, fmt.Errorf("snowflake: query %q returns no columns", sql)
	}
	typ, scale := "TEXT", int64(0)
	if t, ok := rows.(sqldriver.RowsColumnTypeDatabaseTypeName); ok {
		typ = strings.ToUpper(t.ColumnTypeDatabaseTypeName(0))
	}
	if t, ok := rows.(sqldriver.RowsColumnTypePrecisionScale); ok {
		if _, s, ok := t.ColumnTypePrecisionScale(0); ok {
			scale = s
		}
	}
	dest := make([]sqldriver.Value, len(cols))
	var out []core.Value
	for {
		if err := rows.Next(dest); err != nil {
			if err == io.EOF {
				break
			}
			return nil, fmt.Errorf("snowflake: query %q: %w", sql, err)
		}
		v, err := toValue(dest[0], typ, scale)
		if err != nil {
			return nil, fmt.Errorf("snowflake: query %q: %w", sql, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func toValue(v sqldriver.Value, typ string, scale int64) (core.Value, error) {
	switch v := v.(type) {
	case nil:
		return core.Value{}, nil
	case int64:
		return core.Int(v), nil
	case float64:
		return core.Value{Kind: core.KindFloat, Float: v}, nil
	case bool:
		if v {
			return core.Value{Kind: core.KindBool, Int: 1}, nil
		}
		return core.Value{Kind: core.KindBool}, nil
	case time.Time:
		return core.Value{Kind: core.KindTime, Time: v}, nil
	case []byte:
		return core.Value{Kind: core.KindText, Text: append([]byte(nil), v...)}, nil
	case string:
		switch typ {
		case "FIXED", "NUMBER":
			if scale == 0 {
				i, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return core.Value{}, fmt.Errorf("%s value %q: %w", typ, v, err)
				}
				return core.Int(i), nil
			}
			fallthrough
		case "REAL", "FLOAT", "DOUBLE":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return core.Value{}, fmt.Errorf("%s value %q: %w", typ, v, err)
			}
			return core.Value{Kind: core.KindFloat, Float: f}, nil
		case "BOOLEAN":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return core.Value{}, fmt.Errorf("%s value %q: %w", typ, v, err)
			}
			return toValue(b, typ, scale)
		}
		return core.Text(v), nil
	}
	return core.Text(fmt.Sprint(v)), nil
}

// Close logs the session out (gosnowflake's session?delete). Calling it
// again does nothing.
func (c *conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.sc.Close()
}

// stmt is a statement of one conn. Its argument slice is reused across
// calls: one statement belongs to one connection, used by one goroutine at
// a time.
type stmt struct {
	c       *conn
	sql     string
	rows    bool
	nparams int
	args    []sqldriver.NamedValue
	dest    []sqldriver.Value
}

// Exec binds args and runs the statement. A statement that returns rows
// (see returnsRows) runs as a query whose rows are read and counted; others
// report rows affected. Integers, text, booleans and times bind as
// themselves (times in UTC, as TIMESTAMP_NTZ); floats bind as text at full
// precision, since gosnowflake sends float64 at float32 precision.
//
// Cancelling ctx while the statement runs makes gosnowflake send an
// abort-request for it (see the package documentation).
func (s *stmt) Exec(ctx context.Context, args []core.Value) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.c.closed {
		return 0, errClosed
	}
	if len(args) != s.nparams {
		return 0, fmt.Errorf("snowflake: %q takes %d parameters, got %d", s.sql, s.nparams, len(args))
	}
	for i := range args {
		s.args[i] = sqldriver.NamedValue{Ordinal: i + 1, Value: bindValue(&args[i])}
	}
	defer clear(s.args) // do not keep the caller's text alive
	if !s.rows {
		res, err := s.c.ex.ExecContext(ctx, s.sql, s.args)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, nil // DDL and other statements without a row count
		}
		return n, nil
	}
	rows, err := s.c.q.QueryContext(ctx, s.sql, s.args)
	if err != nil {
		return 0, err
	}
	var n int64
	n, s.dest, err = drain(rows, s.dest)
	return n, err
}

func bindValue(v *core.Value) sqldriver.Value {
	switch v.Kind {
	case core.KindInt:
		return v.Int
	case core.KindFloat:
		return formatFloat(v.Float)
	case core.KindText:
		return string(v.Text)
	case core.KindBool:
		return v.Int != 0
	case core.KindTime:
		return v.Time.UTC()
	}
	return nil
}

// returnsRows guesses from the SQL whether a statement returns rows: its
// first keyword (after comments and parentheses) is SELECT, WITH, SHOW,
// DESCRIBE, DESC, VALUES, LIST or EXPLAIN. DML reports rows affected.
func returnsRows(sql string) bool {
	switch driver.LeadingKeyword(sql) {
	case "SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "VALUES", "LIST", "EXPLAIN":
		return true
	}
	return false
}
