package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/unistore-bench/unistore/emulator"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/internal/testsf"
	"github.com/unistore-bench/unistore/sql/schema"
	"github.com/unistore-bench/unistore/store"
)

// dumpSQLite lists the catalog and the version rows of a SQLite store.
func dumpSQLite(t *testing.T, dsn string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", strings.TrimPrefix(dsn, "sqlite://"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return queryStrings(t, db,
		`SELECT type || ' ' || name || ' ' || tbl_name || ' ' || COALESCE(sql, '') FROM sqlite_master ORDER BY type, name`,
		`SELECT 'column ' || m.name || '.' || p.name || ' ' || p.type || ' ' || p."notnull" || ' ' || COALESCE(p.dflt_value, '') || ' ' || p.pk
			FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.cid`,
		`SELECT 'version ' || version || ' ' || applied_at FROM schema_version ORDER BY version`)
}

func queryStrings(t *testing.T, db *sql.DB, queries ...string) []string {
	t.Helper()
	var out []string
	for _, q := range queries {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}

// dumpPostgres lists the store's schemas, tables, columns, indexes,
// constraints, and version rows.
func dumpPostgres(t *testing.T, dsn string) []string {
	t.Helper()
	ctx := ctxT(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var out []string
	for _, q := range []string{
		`SELECT 'schema ' || nspname || ' ' || oid FROM pg_namespace WHERE nspname IN ('test_results', 'config') ORDER BY 1`,
		`SELECT 'table ' || schemaname || '.' || tablename FROM pg_tables WHERE schemaname IN ('test_results', 'config') ORDER BY 1`,
		`SELECT 'relation ' || n.nspname || '.' || c.relname || ' ' || c.oid || ' ' || c.relfilenode FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('test_results', 'config') ORDER BY 1`,
		`SELECT 'column ' || table_schema || '.' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || COALESCE(column_default, '')
			FROM information_schema.columns WHERE table_schema IN ('test_results', 'config') ORDER BY table_schema, table_name, ordinal_position`,
		`SELECT 'index ' || schemaname || '.' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname IN ('test_results', 'config') ORDER BY 1`,
		`SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
			WHERE connamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN ('test_results', 'config')) ORDER BY 1`,
		`SELECT 'version ' || version || ' ' || applied_at FROM test_results.schema_version ORDER BY version`,
	} {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		ss, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, ss...)
	}
	return out
}

// emptyEmulator starts an emulator (cfg) without the store schema.
func emptyEmulator(t *testing.T, cfg emulator.Config) *testsf.Server {
	t.Helper()
	s, err := emulator.Start(cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &testsf.Server{Server: s}
}

// dumpEmulator dumps every namespace file of the emulator whose DSN is
// dsn (started with Config.DB "sqlite://DIR"): the catalog of each, and
// the version rows.
func dumpEmulator(t *testing.T, dsn string) []string {
	t.Helper()
	v, _ := emulatorDirs.Load(dsn)
	dir, _ := v.(string)
	files, err := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no namespace files in %q (%v)", dir, err)
	}
	var out []string
	for _, f := range files {
		db, err := sql.Open("sqlite", "file:"+f+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		qs := []string{
			`SELECT type || ' ' || name || ' ' || tbl_name || ' ' || COALESCE(sql, '') FROM sqlite_master ORDER BY type, name`,
			`SELECT 'column ' || m.name || '.' || p.name || ' ' || p.type || ' ' || p."notnull" || ' ' || COALESCE(p.dflt_value, '') || ' ' || p.pk
				FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.cid`,
		}
		if strings.Contains(filepath.Base(f), ".TEST_RESULTS.") {
			qs = append(qs, `SELECT 'version ' || VERSION || ' ' || APPLIED_AT FROM SCHEMA_VERSION ORDER BY VERSION`)
		}
		for _, row := range queryStrings(t, db, qs...) {
			out = append(out, filepath.Base(f)+": "+row)
		}
		db.Close()
	}
	return out
}

// emulatorDirs maps an emulator store DSN (its port makes it unique) to
// its namespace directory, for dumpEmulator.
var emulatorDirs sync.Map

func TestApplySchemaTwiceChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
		dump func(t *testing.T, dsn string) []string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "u.db") }, dumpSQLite},
		{"postgres", func(t *testing.T) string { return testpg.NewDatabase(t) }, dumpPostgres},
		{"snowflake-emulator", func(t *testing.T) string {
			dir := t.TempDir()
			cfg := testsf.Config()
			cfg.DB = "sqlite://" + dir
			dsn := emptyEmulator(t, cfg).AdminDSN()
			emulatorDirs.Store(dsn, dir)
			return dsn
		}, dumpEmulator},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dsn := tc.dsn(t)
			if err := store.ApplySchema(ctxT(t), dsn); err != nil {
				t.Fatalf("first apply: %v", err)
			}
			before := tc.dump(t, dsn)
			if len(before) < 20 {
				t.Fatalf("catalog dump too small, the dump is broken:\n%s", strings.Join(before, "\n"))
			}
			if err := store.ApplySchema(ctxT(t), dsn); err != nil {
				t.Fatalf("second apply: %v", err)
			}
			after := tc.dump(t, dsn)
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("second apply changed the catalog (-before +after):\n%s", diff)
			}
			// And the store opens.
			st, err := store.Open(ctxT(t), dsn)
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
		})
	}
}

func TestOpenWithoutSchema(t *testing.T) {
	t.Parallel()
	emptySQLite := "sqlite://" + filepath.Join(t.TempDir(), "empty.db")
	db, err := sql.Open("sqlite", strings.TrimPrefix(emptySQLite, "sqlite://"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE unrelated (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	newerSQLite := sqliteDSN(t)
	db, err = sql.Open("sqlite", strings.TrimPrefix(newerSQLite, "sqlite://"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_version (version) VALUES (?)`, schema.Version+1); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
		want string
	}{
		{"sqlite missing file", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "nope.db") }, "has no unistore schema"},
		{"sqlite empty file", func(*testing.T) string { return emptySQLite }, "has no unistore schema"},
		{"sqlite newer version", func(*testing.T) string { return newerSQLite }, fmt.Sprintf("has schema version %d, newer than this unistore's %d", schema.Version+1, schema.Version)},
		{"postgres empty database", func(t *testing.T) string { return testpg.NewDatabase(t) }, "has no unistore schema"},
		{"postgres newer version", func(t *testing.T) string {
			dsn := pgDSN(t)
			testpg.Exec(t, dsn, fmt.Sprintf(`INSERT INTO test_results.schema_version (version) VALUES (%d)`, schema.Version+1))
			return dsn
		}, "newer than this unistore's"},
		{"snowflake empty account", func(t *testing.T) string { return emptyEmulator(t, testsf.Config()).RunDSN() }, "has no unistore schema"},
		{"snowflake newer version", func(t *testing.T) string {
			sf := testsf.Start(t, testsf.Config())
			if err := sf.Exec(fmt.Sprintf(`INSERT INTO UNISTORE_BENCHMARK.TEST_RESULTS.SCHEMA_VERSION (VERSION) VALUES (%d)`, schema.Version+1)); err != nil {
				t.Fatal(err)
			}
			return sf.RunDSN()
		}, "newer than this unistore's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := tc.dsn(t)
			st, err := store.Open(ctxT(t), dsn)
			if err == nil {
				st.Close()
				t.Fatal("Open succeeded, want a schema error")
			}
			if !errors.Is(err, store.ErrSchema) {
				t.Errorf("got %v, want errors.Is(err, store.ErrSchema)", err)
			}
			for _, want := range []string{tc.want, "unistore schema apply --store"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestSchemaErrorOlderVersion(t *testing.T) {
	err := &store.SchemaError{Dialect: "postgres", DSN: "postgres://u:xxxxx@h/db", Have: 1, Want: 2}
	want := "store: postgres store postgres://u:xxxxx@h/db has schema version 1, this unistore needs 2: run `unistore schema apply --store postgres://u:xxxxx@h/db`"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

func TestUnreachableStoreErrorHasNoPassword(t *testing.T) {
	t.Parallel()
	const secret = "s3cretPW-do-not-print"
	port := testpg.ClosedPort(t)
	for _, dsn := range []string{
		fmt.Sprintf("postgres://bob:%s@127.0.0.1:%d/results?sslmode=disable&connect_timeout=2", secret, port),
		fmt.Sprintf("postgresql://bob@127.0.0.1:%d/results?sslmode=disable&connect_timeout=2&password=%s", port, secret),
		fmt.Sprintf("snowflake://bob:%s@127.0.0.1:%d/RESULTS?account=acct&protocol=http&loginTimeout=2", secret, port),
	} {
		kind, _, _ := strings.Cut(dsn, "://")
		kind = strings.TrimSuffix(kind, "ql")
		for name, call := range map[string]func(context.Context, string) error{
			"Open": func(ctx context.Context, dsn string) error {
				st, err := store.Open(ctx, dsn)
				if err == nil {
					st.Close()
				}
				return err
			},
			"ApplySchema": store.ApplySchema,
		} {
			err := call(ctxT(t), dsn)
			if err == nil {
				t.Fatalf("%s succeeded on a closed port", name)
			}
			msg := err.Error()
			if strings.Contains(msg, secret) {
				t.Errorf("%s error shows the password: %s", name, msg)
			}
			for _, want := range []string{kind + " store", fmt.Sprintf("127.0.0.1:%d", port), "bob"} {
				if !strings.Contains(msg, want) {
					t.Errorf("%s error %q does not name %q", name, msg, want)
				}
			}
			if errors.Is(err, store.ErrSchema) {
				t.Errorf("%s: an unreachable store is not a schema problem: %v", name, err)
			}
			t.Logf("%s: %s", name, msg)
		}
	}
}

func TestOpenBadDSN(t *testing.T) {
	for _, dsn := range []string{"mysql://u:pw@h/db", "no-scheme", "sqlite://"} {
		_, err := store.Open(context.Background(), dsn)
		if err == nil {
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if strings.Contains(err.Error(), ":pw@") {
			t.Errorf("Open(%q): error shows the password: %v", dsn, err)
		}
	}
	_, err := store.Open(context.Background(), "oracle://u:pw@host/db")
	if !errors.Is(err, store.ErrUnknownStore) || !strings.Contains(err.Error(), `unknown store "oracle" (forgotten import?)`) ||
		!strings.Contains(err.Error(), "postgres, postgresql, snowflake, sqlite, sqlite3") {
		t.Errorf("oracle: got %v, want ErrUnknownStore listing the registered schemes", err)
	}
}
