package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/unistore-bench/unistore/sql/schema"
)

// PostgresStore is the Store on PostgreSQL (pgx/v5): tables in the schemas
// test_results and config of the DSN's database, bulk rows written with
// COPY. At run time it needs USAGE on both schemas and SELECT, INSERT,
// UPDATE, DELETE on their tables, nothing more.
type PostgresStore struct {
	*sqlStore
	pool *pgxpool.Pool
}

var _ Store = (*PostgresStore)(nil)

// OpenPostgres connects to a postgres:// or postgresql:// DSN, checks the
// schema version and returns the store. It owns a pgxpool.Pool, closed by
// Close.
func OpenPostgres(ctx context.Context, dsn string) (*PostgresStore, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, wrapf(schema.Postgres, dsn, err, "parse DSN")
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "unistore-store"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrapf(schema.Postgres, dsn, err, "connect")
	}
	b := &pgBackend{pool: pool, dsn: dsn}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, b.errorf(err, "connect")
	}
	have, err := pgVersion(ctx, pool)
	if err != nil {
		pool.Close()
		if errors.Is(err, errNoSchema) {
			return nil, checkVersion(schema.Postgres, dsn, 0)
		}
		return nil, b.errorf(err, "read schema version")
	}
	if err := checkVersion(schema.Postgres, dsn, have); err != nil {
		pool.Close()
		return nil, err
	}
	return &PostgresStore{sqlStore: newSQLStore(b, "test_results.", "config.", true), pool: pool}, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func pgVersion(ctx context.Context, q querier) (int, error) {
	var v *int32
	err := q.QueryRow(ctx, `SELECT MAX(version) FROM test_results.schema_version`).Scan(&v)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000") { // undefined table, schema
		return 0, errNoSchema
	}
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, errNoSchema
	}
	return int(*v), nil
}

// Pool returns the store's connection pool, for callers that need more
// than the Store interface (tests, tools).
func (s *PostgresStore) Pool() *pgxpool.Pool { return s.pool }

func applyPostgres(ctx context.Context, dsn string) error {
	scripts, err := schema.Files(schema.Postgres)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return wrapf(schema.Postgres, dsn, err, "apply schema: connect")
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return wrapf(schema.Postgres, dsn, err, "apply schema")
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	// One applier at a time: concurrent CREATE … IF NOT EXISTS can still
	// collide in the catalog. The key is arbitrary and fixed.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7283365117)`); err != nil {
		return wrapf(schema.Postgres, dsn, err, "apply schema: lock")
	}
	for _, sc := range scripts {
		for _, st := range sc.Statements() {
			if _, err := tx.Exec(ctx, st); err != nil {
				return wrapf(schema.Postgres, dsn, err, "apply schema: %s: %s", sc.Name, firstLine(st))
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return wrapf(schema.Postgres, dsn, err, "apply schema: commit")
	}
	return nil
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}

type pgBackend struct {
	pool *pgxpool.Pool
	dsn  string
}

func (b *pgBackend) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := b.pool.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (b *pgBackend) query(ctx context.Context, q string, args ...any) (rows, error) {
	return b.pool.Query(ctx, q, args...)
}

func (b *pgBackend) ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func (b *pgBackend) isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func (b *pgBackend) errorf(err error, format string, args ...any) error {
	return wrapf(schema.Postgres, b.dsn, err, format, args...)
}

func (b *pgBackend) close() error {
	b.pool.Close()
	return nil
}

// writeSnapshots and writeExecutions use COPY: one statement, so a batch
// is stored whole or not at all. pgx encodes each row before asking for
// the next, so one values slice serves every row.
func (b *pgBackend) writeSnapshots(ctx context.Context, rows []Snapshot) error {
	buf := make([]any, 0, len(snapshotColumns))
	return b.copy(ctx, "worker_metrics_snapshots", snapshotColumns, len(rows), func(i int) ([]any, error) {
		return snapshotValues(buf[:0], &rows[i], b.ts), nil
	})
}

func (b *pgBackend) writeExecutions(ctx context.Context, rows []Execution) error {
	buf := make([]any, 0, len(executionColumns))
	return b.copy(ctx, "query_executions", executionColumns, len(rows), func(i int) ([]any, error) {
		return executionValues(buf[:0], &rows[i], b.ts), nil
	})
}

func (b *pgBackend) copy(ctx context.Context, table string, cols []string, n int, row func(int) ([]any, error)) error {
	got, err := b.pool.CopyFrom(ctx, pgx.Identifier{"test_results", table}, cols, pgx.CopyFromSlice(n, row))
	if err == nil && got != int64(n) {
		err = fmt.Errorf("copy stored %d of %d rows", got, n)
	}
	return err
}
