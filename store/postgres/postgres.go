package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/unistore-bench/unistore/sql/schema"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/store/sqlstore"
)

func init() {
	store.Register("postgres", Backend{})
	store.Register("postgresql", Backend{})
}

// Backend is the store.Backend of postgres:// and postgresql:// DSNs.
type Backend struct{}

// Open implements store.Backend.
func (Backend) Open(ctx context.Context, dsn string) (store.Store, error) { return Open(ctx, dsn) }

// ApplySchema implements store.Backend.
func (Backend) ApplySchema(ctx context.Context, dsn string) error { return ApplySchema(ctx, dsn) }

// Store is the store.Store on PostgreSQL (pgx/v5): tables in the schemas
// test_results and config of the DSN's database, bulk rows written with
// COPY. At run time it needs USAGE on both schemas and SELECT, INSERT,
// UPDATE, DELETE on their tables, nothing more.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to a postgres:// or postgresql:// DSN, checks the
// schema version and returns the store. It owns a pgxpool.Pool, closed by
// Close.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, sqlstore.Errorf(schema.Postgres, dsn, err, "parse DSN")
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "unistore-store"
	}
	plainOnLoopback(dsn, cfg.ConnConfig)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, sqlstore.Errorf(schema.Postgres, dsn, err, "connect")
	}
	b := &pgBackend{pool: pool, dsn: dsn}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, b.Errorf(err, "connect")
	}
	have, err := pgVersion(ctx, pool)
	if err != nil {
		pool.Close()
		if errors.Is(err, sqlstore.ErrNoSchema) {
			return nil, store.CheckVersion(schema.Postgres, dsn, 0)
		}
		return nil, b.Errorf(err, "read schema version")
	}
	if err := store.CheckVersion(schema.Postgres, dsn, have); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{Store: sqlstore.New(b, sqlstore.Config{ResultsPrefix: "test_results.", ConfigPrefix: "config.",
		Placeholder: func(i int) string { return "$" + strconv.Itoa(i) }}), pool: pool}, nil
}

// plainOnLoopback turns TLS off for a store on this machine whose DSN
// does not ask for it: without sslmode, pgx "prefers" TLS — it tries TLS
// first, then plain — so every connection attempt to a store that is down
// fails twice and says so twice, and one that is up pays a refused TLS
// handshake. A loopback server has no network to protect. An explicit
// sslmode (in the DSN or PGSSLMODE) is kept as given.
func plainOnLoopback(dsn string, cc *pgx.ConnConfig) {
	if strings.Contains(dsn, "sslmode") || os.Getenv("PGSSLMODE") != "" || !loopback(cc.Host) {
		return
	}
	cc.TLSConfig = nil
	var fbs []*pgconn.FallbackConfig
	for _, fb := range cc.Fallbacks {
		if fb.TLSConfig == nil && loopback(fb.Host) && !(fb.Host == cc.Host && fb.Port == cc.Port) {
			fbs = append(fbs, fb)
		}
	}
	cc.Fallbacks = fbs
}

// loopback reports whether host is this machine: a Unix socket directory,
// localhost or a loopback address.
func loopback(host string) bool {
	if strings.HasPrefix(host, "/") || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func pgVersion(ctx context.Context, q querier) (int, error) {
	var v *int32
	err := q.QueryRow(ctx, `SELECT MAX(version) FROM test_results.schema_version`).Scan(&v)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000") { // undefined table, schema
		return 0, sqlstore.ErrNoSchema
	}
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, sqlstore.ErrNoSchema
	}
	return int(*v), nil
}

// Pool returns the store's connection pool, for callers that need more
// than the Store interface (tests, tools).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// ApplySchema creates or upgrades the store's schema (see store.ApplySchema).
func ApplySchema(ctx context.Context, dsn string) error {
	scripts, err := schema.Files(schema.Postgres)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return sqlstore.Errorf(schema.Postgres, dsn, err, "apply schema: connect")
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return sqlstore.Errorf(schema.Postgres, dsn, err, "apply schema")
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	// One applier at a time: concurrent CREATE … IF NOT EXISTS can still
	// collide in the catalog. The key is arbitrary and fixed.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7283365117)`); err != nil {
		return sqlstore.Errorf(schema.Postgres, dsn, err, "apply schema: lock")
	}
	for _, sc := range scripts {
		for _, st := range sc.Statements() {
			if _, err := tx.Exec(ctx, st); err != nil {
				return sqlstore.Errorf(schema.Postgres, dsn, err, "apply schema: %s: %s", sc.Name, sqlstore.FirstLine(st))
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return sqlstore.Errorf(schema.Postgres, dsn, err, "apply schema: commit")
	}
	return nil
}

type pgBackend struct {
	pool *pgxpool.Pool
	dsn  string
}

func (b *pgBackend) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := b.pool.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (b *pgBackend) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	return b.pool.Query(ctx, q, args...)
}

func (b *pgBackend) Time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func (b *pgBackend) IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func (b *pgBackend) Errorf(err error, format string, args ...any) error {
	return sqlstore.Errorf(schema.Postgres, b.dsn, err, format, args...)
}

func (b *pgBackend) Close() error {
	b.pool.Close()
	return nil
}

// WriteSnapshots and WriteExecutions use COPY: one statement, so a batch
// is stored whole or not at all. pgx encodes each row before asking for
// the next, so one values slice serves every row. A batch with a mark runs
// in a transaction that inserts the mark first (see markBatch).
func (b *pgBackend) WriteSnapshots(ctx context.Context, mark *sqlstore.Mark, rows []store.Snapshot) error {
	buf := make([]any, 0, len(sqlstore.SnapshotColumns))
	src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		return sqlstore.SnapshotValues(buf[:0], &rows[i], b.Time), nil
	})
	ident := pgx.Identifier{"test_results", "worker_metrics_snapshots"}
	if mark == nil {
		return checkCopied(b.pool.CopyFrom(ctx, ident, sqlstore.SnapshotColumns, src))(len(rows))
	}
	return b.inBatch(ctx, mark, func(tx pgx.Tx) error {
		return checkCopied(tx.CopyFrom(ctx, ident, sqlstore.SnapshotColumns, src))(len(rows))
	})
}

// WriteExecutions encodes its COPY itself: see copy.go.
func (b *pgBackend) WriteExecutions(ctx context.Context, mark *sqlstore.Mark, rows []store.Execution) error {
	return b.copyExecutions(ctx, mark, rows)
}

func checkCopied(got int64, err error) func(n int) error {
	return func(n int) error {
		if err == nil && got != int64(n) {
			err = fmt.Errorf("copy stored %d of %d rows", got, n)
		}
		return err
	}
}

var markSQL = "INSERT INTO test_results.stored_batches (" + strings.Join(sqlstore.MarkColumns, ", ") +
	") VALUES ($1, $2, $3, $4) ON CONFLICT (run_id, batch_id) DO NOTHING"

// inBatch runs write in a transaction on a pooled connection after
// inserting mark; if the mark was there already, the batch is stored and
// write is not called.
func (b *pgBackend) inBatch(ctx context.Context, mark *sqlstore.Mark, write func(tx pgx.Tx) error) error {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	tag, err := tx.Exec(ctx, markSQL, mark.Args()...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return nil // stored already
	}
	if err := write(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
