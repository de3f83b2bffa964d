package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"

	"github.com/unistore-bench/unistore/sql/schema"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/store/sqlstore"
)

func init() {
	store.Register("sqlite", Backend{})
	store.Register("sqlite3", Backend{})
}

// Backend is the store.Backend of sqlite:// (and sqlite3://) DSNs.
type Backend struct{}

// Open implements store.Backend.
func (Backend) Open(ctx context.Context, dsn string) (store.Store, error) { return Open(ctx, dsn) }

// ApplySchema implements store.Backend.
func (Backend) ApplySchema(ctx context.Context, dsn string) error { return ApplySchema(ctx, dsn) }

// Store is the store.Store in one SQLite file (modernc.org/sqlite, pure
// Go, through database/sql). It serves one machine: WAL mode, a busy
// timeout so concurrent writers wait their turn, and BEGIN IMMEDIATE
// transactions so a writer never deadlocks upgrading a read lock.
type Store struct {
	*sqlstore.Store
	db *sql.DB
}

var _ store.Store = (*Store)(nil)

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
		return "", "", fmt.Errorf("store: %q: no file path: want sqlite://PATH, e.g. %s", dsn, store.DefaultDSN())
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

// Open opens the store file of "sqlite://PATH", checks the schema
// version and returns the store. A missing file is a *SchemaError (the
// schema apply creates it), so a typo in the path never leaves an empty
// file behind.
func Open(ctx context.Context, dsn string) (*Store, error) {
	path, query, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, store.CheckVersion(schema.SQLite, dsn, 0)
	} else if err != nil {
		return nil, sqlstore.Errorf(schema.SQLite, dsn, err, "open")
	}
	db, err := openSQLiteDB(path, query)
	if err != nil {
		return nil, sqlstore.Errorf(schema.SQLite, dsn, err, "open")
	}
	b := &sqliteBackend{DB: &sqlstore.DB{DB: db}, dsn: dsn}
	var have sql.NullInt64
	err = db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&have)
	if err != nil && strings.Contains(err.Error(), "no such table") {
		err, have = nil, sql.NullInt64{}
	}
	if err != nil {
		db.Close()
		return nil, b.Errorf(err, "read schema version")
	}
	if err := store.CheckVersion(schema.SQLite, dsn, int(have.Int64)); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{Store: sqlstore.New(b, sqlstore.Config{NoLimit: " LIMIT -1"}), db: db}, nil
}

// DB returns the store's database handle, for callers that need more than
// the Store interface (tests, tools).
func (s *Store) DB() *sql.DB { return s.db }

// ApplySchema creates or upgrades the store's schema (see store.ApplySchema).
func ApplySchema(ctx context.Context, dsn string) error {
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
		return sqlstore.Errorf(schema.SQLite, dsn, err, "apply schema: open")
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return sqlstore.Errorf(schema.SQLite, dsn, err, "apply schema")
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, sc := range scripts {
		for _, st := range sc.Statements() {
			if _, err := tx.ExecContext(ctx, st); err != nil {
				return sqlstore.Errorf(schema.SQLite, dsn, err, "apply schema: %s: %s", sc.Name, sqlstore.FirstLine(st))
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return sqlstore.Errorf(schema.SQLite, dsn, err, "apply schema: commit")
	}
	return nil
}

type sqliteBackend struct {
	*sqlstore.DB
	dsn string
}

func (b *sqliteBackend) Time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(sqliteTime)
}

func (b *sqliteBackend) IsUniqueViolation(err error) bool {
	var e *msqlite.Error
	// SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE (extended codes are on).
	return errors.As(err, &e) && (e.Code() == 1555 || e.Code() == 2067)
}

func (b *sqliteBackend) Errorf(err error, format string, args ...any) error {
	return sqlstore.Errorf(schema.SQLite, b.dsn, err, format, args...)
}

// sqliteMaxVars bounds the bound parameters of one multi-row INSERT
// (SQLite allows 32766).
const sqliteMaxVars = 30000

func (b *sqliteBackend) WriteSnapshots(ctx context.Context, mark *sqlstore.Mark, rows []store.Snapshot) error {
	return sqlstore.InsertMany(ctx, b.DB.DB, "worker_metrics_snapshots", sqlstore.SnapshotColumns, len(rows), sqliteMaxVars, func(dst []any, i int) []any {
		return sqlstore.SnapshotValues(dst, &rows[i], b.Time)
	}, mark)
}

func (b *sqliteBackend) WriteExecutions(ctx context.Context, mark *sqlstore.Mark, rows []store.Execution) error {
	return sqlstore.InsertMany(ctx, b.DB.DB, "query_executions", sqlstore.ExecutionColumns, len(rows), sqliteMaxVars, func(dst []any, i int) []any {
		return sqlstore.ExecutionValues(dst, &rows[i], b.Time)
	}, mark)
}
