package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/driver/drivertest"
	"github.com/unistore-bench/unistore/driver/sqlite"
)

var sqliteTypes = drivertest.Types{Int: "INTEGER", Float: "REAL", Text: "TEXT", Bool: "BOOLEAN", Time: "TIMESTAMP"}

func newDB(t *testing.T) (dsn string, setup *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bench.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return "sqlite://" + path, db
}

func TestConformance(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) drivertest.Target {
		dsn, db := newDB(t)
		c, err := sqlite.NewConnector(dsn)
		if err != nil {
			t.Fatal(err)
		}
		return drivertest.Target{
			Connector: c,
			Exec: func(t *testing.T, q string) {
				t.Helper()
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			},
			Types: sqliteTypes,
		}
	})
}

func TestDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn     string
		wantErr string
		busy    string
	}{
		{"sqlite://./bench.db", "", "5000"},
		{"sqlite:///abs/path.db?busy_timeout=250", "", "250"},
		{"sqlite://bench.db?busy_timeout=x", "busy_timeout", ""},
		{"sqlite://bench.db?cache=shared", "unknown parameter", ""},
		{"sqlite://:memory:", "in-memory", ""},
		{"sqlite://", "missing file path", ""},
		{"postgres://x", "want sqlite://PATH", ""},
	} {
		c, err := sqlite.NewConnector(tc.dsn)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("NewConnector(%q) err = %v, want one containing %q", tc.dsn, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewConnector(%q): %v", tc.dsn, err)
			continue
		}
		if got := c.Settings(); got["busy_timeout_ms"] != tc.busy || got["journal_mode"] != "wal" {
			t.Errorf("NewConnector(%q).Settings() = %v, want busy_timeout_ms=%s journal_mode=wal", tc.dsn, got, tc.busy)
		}
		c.Close()
	}
}

func TestRegistry(t *testing.T) {
	dsn, _ := newDB(t)
	name, c, err := driver.Open("", dsn)
	if err != nil || name != "sqlite" {
		t.Fatalf("Open(%q) = %q, %v", dsn, name, err)
	}
	defer c.Close()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestPragmasApplied(t *testing.T) {
	dsn, _ := newDB(t)
	c, err := sqlite.NewConnector(dsn + "?busy_timeout=1234")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn, err := c.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for q, want := range map[string]core.Value{
		"PRAGMA journal_mode": core.Text("wal"),
		"PRAGMA busy_timeout": core.Int(1234),
		"PRAGMA synchronous":  core.Int(1), // NORMAL
		"PRAGMA foreign_keys": core.Int(1),
	} {
		got, err := conn.QueryColumn(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if len(got) != 1 || got[0].Kind != want.Kind || got[0].Int != want.Int || string(got[0].Text) != string(want.Text) {
			t.Errorf("%s = %v, want %v", q, got, want)
		}
	}
}

func TestBusyClassifiesAsSerialization(t *testing.T) {
	dsn, db := newDB(t)
	if _, err := db.Exec("PRAGMA journal_mode=wal; CREATE TABLE t (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	c, err := sqlite.NewConnector(dsn + "?busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Hold the write lock in another connection.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	conn, err := c.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s, err := conn.Prepare(context.Background(), "INSERT INTO t VALUES (?)")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Exec(context.Background(), []core.Value{core.Int(2)})
	if class, code := driver.Classify(c, err); class != core.ErrSerialization || !strings.HasPrefix(code, "SQLITE_BUSY") {
		t.Errorf("write under a held lock: classified %v %q, want serialization SQLITE_BUSY (err: %v)", class, code, err)
	}
}

func TestClassifyCodes(t *testing.T) {
	dsn, db := newDB(t)
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	c, _ := sqlite.NewConnector(dsn)
	defer c.Close()
	conn, err := c.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	s, _ := conn.Prepare(ctx, "INSERT INTO t VALUES (?, ?)")
	if _, err := s.Exec(ctx, []core.Value{core.Int(1), core.Int(1)}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Exec(ctx, []core.Value{core.Int(1), core.Int(1)})
	if class, code := sqlite.Classify(err); class != core.ErrConstraint || code != "SQLITE_CONSTRAINT_PRIMARYKEY" {
		t.Errorf("duplicate key: %v %q (err: %v)", class, code, err)
	}
	_, err = s.Exec(ctx, []core.Value{core.Int(2), {}})
	if class, code := sqlite.Classify(err); class != core.ErrConstraint || code != "SQLITE_CONSTRAINT_NOTNULL" {
		t.Errorf("null: %v %q (err: %v)", class, code, err)
	}
	_, err = conn.Prepare(ctx, "SELEC 1")
	if class, code := sqlite.Classify(err); class != core.ErrSyntax || code != "SQLITE_ERROR" {
		t.Errorf("syntax: %v %q (err: %v)", class, code, err)
	}
	if class, code := sqlite.Classify(errors.New("x")); class != core.ErrOther || code != "" {
		t.Errorf("plain error: %v %q", class, code)
	}
}

func TestContextCancelInterruptsQuery(t *testing.T) {
	dsn, _ := newDB(t)
	c, _ := sqlite.NewConnector(dsn)
	defer c.Close()
	conn, err := c.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s, err := conn.Prepare(context.Background(),
		"WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var execErr error
	wg.Go(func() { _, execErr = s.Exec(ctx, nil) })
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	cancel()
	wg.Wait()
	if execErr == nil {
		t.Fatal("endless query returned no error after cancel")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("query ended %v after cancel, want < 1s", d)
	}
}

func TestReturnsRowsHeuristic(t *testing.T) {
	dsn, db := newDB(t)
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT)"); err != nil {
		t.Fatal(err)
	}
	c, _ := sqlite.NewConnector(dsn)
	defer c.Close()
	conn, err := c.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		sql  string
		args []core.Value
		want int64
	}{
		{"/* c */ -- c\n INSERT INTO t VALUES (?, 'returning')", []core.Value{core.Int(1)}, 1},
		{"INSERT INTO t VALUES (?, ?), (?, ?) RETURNING id", []core.Value{core.Int(2), core.Text("a"), core.Int(3), core.Text("b")}, 2},
		{"  select id FROM t", nil, 3},
		{"VALUES (1), (2)", nil, 2},
		{"UPDATE t SET note = 'x' WHERE id > ?", []core.Value{core.Int(1)}, 2},
	} {
		s, err := conn.Prepare(ctx, tc.sql)
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		if n, err := s.Exec(ctx, tc.args); err != nil || n != tc.want {
			t.Errorf("%q: n=%d err=%v, want %d", tc.sql, n, err, tc.want)
		}
	}
}

func BenchmarkExecSelect(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.db")
	c, err := sqlite.NewConnector("sqlite://" + path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	conn, err := c.Connect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"CREATE TABLE t (aid INTEGER PRIMARY KEY, abalance INTEGER NOT NULL)",
		"WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 1000) INSERT INTO t SELECT i, i * 10 FROM g"} {
		s, err := conn.Prepare(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Exec(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
	s, err := conn.Prepare(ctx, "SELECT abalance FROM t WHERE aid = ?")
	if err != nil {
		b.Fatal(err)
	}
	args := []core.Value{core.Int(0)}
	i := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		args[0].Int = i%1000 + 1
		i++
		if n, err := s.Exec(ctx, args); err != nil || n != 1 {
			b.Fatalf("n=%d err=%v", n, err)
		}
	}
}

func TestClosedConnNotReused(t *testing.T) {
	dsn, _ := newDB(t)
	c, _ := sqlite.NewConnector(dsn)
	defer c.Close()
	ctx := context.Background()
	a, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Prepare(ctx, "CREATE TEMPORARY TABLE tmp (x INTEGER)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctx, nil); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Prepare(ctx, "SELECT x FROM tmp"); err == nil {
		t.Error("a new connection sees a closed connection's temporary table")
	}
}
