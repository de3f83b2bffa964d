package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/unistore-bench/unistore/sql/schema"
	"modernc.org/sqlite"
)

// SQLiteStore is the Store in one SQLite file (modernc.org/sqlite, pure
// Go, through database/sql). It serves one machine: WAL mode, a busy
// timeout so concurrent writers wait their turn, and BEGIN IMMEDIATE
// transactions so a writer never deadlocks upgrading a read lock.
type SQLiteStore struct {
	*sqlStore
	db *sql.DB
}

var _ Store = (*SQLiteStore)(nil)

// sqliteTime is how a time is stored: UTC, fixed width, so text order is
// time order.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// sqliteBusyMillis is how long a statement waits for the file's write lock.
const sqliteBusyMillis = 10000

// sqlitePath returns the file path of "sqlite://PATH" (or a bare path)
// and the query the user added, if any.
func sqlitePath(dsn string) (path, query string, err error) {
	rest := dsn
	if _, r, ok := strings.Cut(dsn, "://"); ok {
		rest = r
	}
	path, query, _ = strings.Cut(rest, "?")
	if path == "" {
		return "", "", fmt.Errorf("store: %q: no file path: want sqlite://PATH, e.g. %s", dsn, DefaultDSN)
	}
	if path == ":memory:" {
		return "", "", fmt.Errorf("store: %q: an in-memory store is not supported; give a file path", dsn)
	}
	return path, query, nil
}

func openSQLiteDB(path, query string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyMillis))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	name := path + "?" + q.Encode()
	if query != "" {
		name += "&" + query
	}
	db, err := sql.Open("sqlite", name)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	return db, nil
}

// OpenSQLite opens the store file of "sqlite://PATH", checks the schema
// version and returns the store. A missing file is a *SchemaError (the
// schema apply creates it), so a typo in the path never leaves an empty
// file behind.
func OpenSQLite(ctx context.Context, dsn string) (*SQLiteStore, error) {
	path, query, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, checkVersion(schema.SQLite, dsn, 0)
	} else if err != nil {
		return nil, wrapf(schema.SQLite, dsn, err, "open")
	}
	db, err := openSQLiteDB(path, query)
	if err != nil {
		return nil, wrapf(schema.SQLite, dsn, err, "open")
	}
	b := &sqliteBackend{db: db, dsn: dsn}
	var have sql.NullInt64
	err = db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&have)
	if err != nil && strings.Contains(err.Error(), "no such table") {
		err, have = nil, sql.NullInt64{}
	}
	if err != nil {
		db.Close()
		return nil, b.errorf(err, "read schema version")
	}
	if err := checkVersion(schema.SQLite, dsn, int(have.Int64)); err != nil {
		db.Close()
		return nil, err
	}
	return &SQLiteStore{sqlStore: newSQLStore(b, "", "", false), db: db}, nil
}

// DB returns the store's database handle, for callers that need more than
// the Store interface (tests, tools).
func (s *SQLiteStore) DB() *sql.DB { return s.db }

func applySQLite(ctx context.Context, dsn string) error {
	path, query, err := sqlitePath(dsn)
	if err != nil {
		return err
	}
	scripts, err := schema.Files(schema.SQLite)
	if err != nil {
		return err
	}
	db, err := openSQLiteDB(path, query)
	if err != nil {
		return wrapf(schema.SQLite, dsn, err, "apply schema: open")
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return wrapf(schema.SQLite, dsn, err, "apply schema")
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, sc := range scripts {
		for _, st := range sc.Statements() {
			if _, err := tx.ExecContext(ctx, st); err != nil {
				return wrapf(schema.SQLite, dsn, err, "apply schema: %s: %s", sc.Name, firstLine(st))
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return wrapf(schema.SQLite, dsn, err, "apply schema: commit")
	}
	return nil
}

type sqliteBackend struct {
	db  *sql.DB
	dsn string
	// stmts caches prepared statements by text: the control plane runs
	// the same few queries every poll, and SQLite's parse was a visible
	// part of a run's client CPU.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// stmt returns the cached prepared statement for q.
func (b *sqliteBackend) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st, ok := b.stmts[q]; ok {
		return st, nil
	}
	st, err := b.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if b.stmts == nil {
		b.stmts = map[string]*sql.Stmt{}
	}
	b.stmts[q] = st
	return st, nil
}

func (b *sqliteBackend) exec(ctx context.Context, q string, args ...any) (int64, error) {
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

func (b *sqliteBackend) query(ctx context.Context, q string, args ...any) (rows, error) {
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

func (b *sqliteBackend) ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(sqliteTime)
}

func (b *sqliteBackend) isUniqueViolation(err error) bool {
	var e *sqlite.Error
	// SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE (extended codes are on).
	return errors.As(err, &e) && (e.Code() == 1555 || e.Code() == 2067)
}

func (b *sqliteBackend) errorf(err error, format string, args ...any) error {
	return wrapf(schema.SQLite, b.dsn, err, format, args...)
}

func (b *sqliteBackend) close() error {
	b.mu.Lock()
	for _, st := range b.stmts {
		_ = st.Close()
	}
	b.stmts = nil
	b.mu.Unlock()
	return b.db.Close()
}

// sqliteMaxVars bounds the bound parameters of one multi-row INSERT
// (SQLite allows 32766).
const sqliteMaxVars = 30000

func (b *sqliteBackend) writeSnapshots(ctx context.Context, rows []Snapshot) error {
	return insertMany(ctx, b.db, "worker_metrics_snapshots", snapshotColumns, len(rows), func(dst []any, i int) []any {
		return snapshotValues(dst, &rows[i], b.ts)
	})
}

func (b *sqliteBackend) writeExecutions(ctx context.Context, rows []Execution) error {
	return insertMany(ctx, b.db, "query_executions", executionColumns, len(rows), func(dst []any, i int) []any {
		return executionValues(dst, &rows[i], b.ts)
	})
}

// insertMany inserts n rows with multi-row INSERTs of up to sqliteMaxVars
// parameters, in one transaction.
func insertMany(ctx context.Context, db *sql.DB, table string, cols []string, n int, values func(dst []any, i int) []any) error {
	per := sqliteMaxVars / len(cols)
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
