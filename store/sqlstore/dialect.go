package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/unistore-bench/unistore/core"
)

// ErrNoSchema is what a dialect's schema-version read returns when the
// version table is not there; store.CheckVersion(…, 0) then says what to
// run.
var ErrNoSchema = errors.New("no schema")

// secretError carries an error whose text has had the DSN's secrets
// removed. Unwrap still reaches the original for errors.Is/As.
type secretError struct {
	msg string
	err error
}

func (e *secretError) Error() string { return e.msg }
func (e *secretError) Unwrap() error { return e.err }

// Errorf returns "store: <dialect> store <redacted dsn>: <what>: <err>"
// with every secret of dsn scrubbed from err's text; nil for a nil err.
func Errorf(dialect, dsn string, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("store: %s store %s: %s: %s", dialect, core.RedactDSN(dsn), fmt.Sprintf(format, args...), err.Error())
	for _, s := range dsnSecrets(dsn) {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return &secretError{msg: msg, err: err}
}

// dsnSecrets returns the secret values in a URL DSN: the password and
// secret query parameters (those core.RedactDSN hides).
func dsnSecrets(dsn string) []string {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil
	}
	var out []string
	if p, ok := u.User.Password(); ok && p != "" {
		out = append(out, p)
	}
	red, err := url.Parse(core.RedactDSN(dsn))
	if err != nil {
		return out
	}
	q, rq := u.Query(), red.Query()
	for k, vs := range q {
		if rq.Get(k) == "xxxxx" {
			for _, v := range vs {
				if v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// FirstLine returns s's first line, with " …" if more follows: a DDL
// statement named in an error.
func FirstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}

// DB is the Exec/Query half of a Dialect over database/sql (SQLite, and
// gosnowflake later), with prepared statements cached by text: the
// control plane runs the same few queries every poll, and parsing them
// again was a visible part of a run's client CPU on SQLite.
type DB struct {
	*sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// stmt returns the cached prepared statement for q.
func (b *DB) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st, ok := b.stmts[q]; ok {
		return st, nil
	}
	st, err := b.DB.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if b.stmts == nil {
		b.stmts = map[string]*sql.Stmt{}
	}
	b.stmts[q] = st
	return st, nil
}

// Exec implements Dialect.
func (b *DB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	st, err := b.stmt(ctx, q)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// Query implements Dialect.
func (b *DB) Query(ctx context.Context, q string, args ...any) (Rows, error) {
	st, err := b.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	rs, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

// Close closes the cached statements and the database.
func (b *DB) Close() error {
	b.mu.Lock()
	for _, st := range b.stmts {
		_ = st.Close()
	}
	b.stmts = nil
	b.mu.Unlock()
	return b.DB.Close()
}

// InsertMany inserts n rows into table with multi-row INSERTs of at most
// maxVars bound parameters each ("?" placeholders), in one transaction:
// the bulk path of a database/sql dialect without COPY. values appends
// row i's values in cols order. A mark (not nil) goes first into
// stored_batches, INSERT … ON CONFLICT DO NOTHING; if it was there, the
// batch is stored already and nothing more is written.
func InsertMany(ctx context.Context, db *sql.DB, table string, cols []string, n, maxVars int, values func(dst []any, i int) []any, mark *Mark) error {
	per := max(1, maxVars/len(cols))
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	stmt := func(k int) string {
		return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(tuple+", ", k), ", ")
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if mark != nil {
		res, err := tx.ExecContext(ctx, "INSERT INTO stored_batches ("+strings.Join(MarkColumns, ", ")+
			") VALUES (?, ?, ?, ?) ON CONFLICT (run_id, batch_id) DO NOTHING", mark.Args()...)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			return err // stored already (k == 0): done
		}
	}
	args := make([]any, 0, min(n, per)*len(cols))
	var full *sql.Stmt
	for start := 0; start < n; start += per {
		k := min(per, n-start)
		args = args[:0]
		for i := start; i < start+k; i++ {
			args = values(args, i)
		}
		if k == per {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, stmt(k)); err != nil {
					return err
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, stmt(k), args...)
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}
