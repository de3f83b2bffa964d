package emulator_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/snowflakedb/gosnowflake"
	"github.com/unistore-bench/unistore/emulator"
)

func TestMain(m *testing.M) {
	// Before the first connect: no cloud metadata probes, no native library.
	os.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	os.Setenv("SF_DISABLE_MINICORE", "true")
	gosnowflake.GetLogger().SetLogLevel("fatal")
	os.Exit(m.Run())
}

// start runs an emulator for one test and closes it at the end, checking
// that no goroutine outlives it.
func start(t *testing.T, cfg emulator.Config) *emulator.Server {
	t.Helper()
	before := runtime.NumGoroutine()
	s, err := emulator.Start(cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checkGoroutines(t, before)
	})
	return s
}

// checkGoroutines waits (bounded) for the goroutine count to settle back.
// gosnowflake keeps a few process-wide goroutines of its own (OCSP cache,
// log), so the bound allows a small constant above the start.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before+4 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("goroutines: %d before, %d after Close\n%s", before, n, buf)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("snowflake", dsn+"&disableTelemetry=true")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sfErr(t *testing.T, err error) *gosnowflake.SnowflakeError {
	t.Helper()
	var se *gosnowflake.SnowflakeError
	if !errors.As(err, &se) {
		t.Fatalf("want a SnowflakeError, got %T: %v", err, err)
	}
	return se
}

func TestLoginAndSelect(t *testing.T) {
	s := start(t, emulator.Config{Users: []emulator.User{{Name: "alice", Password: "s3cret-pw"}}})
	ctx := ctxT(t)
	db := open(t, s.DSN("alice", "s3cret-pw", "APP", "PUBLIC"))
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE HYBRID TABLE IF NOT EXISTS items (
		id NUMBER(38,0) PRIMARY KEY,
		name VARCHAR(100) NOT NULL,
		price NUMBER(10,2),
		ratio FLOAT,
		active BOOLEAN,
		doc VARIANT,
		note STRING,
		created_at TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP(),
		INDEX idx_name (name)
	)`); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	res, err := db.ExecContext(ctx, `INSERT INTO items (id, name, price, ratio, active, doc, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		int64(1), "widget", "12.50", 0.25, true, `{"a":1}`, "007", ts)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("inserted %d, want 1", n)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO items (id, name) VALUES (2, 'gadget'), (3, 'gizmo')`); err != nil {
		t.Fatal(err)
	}
	var (
		id     int64
		name   string
		price  float64
		ratio  float64
		active bool
		doc    string
		note   string
		at     time.Time
	)
	row := db.QueryRowContext(ctx, `SELECT id, name, price, ratio, active, doc, note, created_at FROM items WHERE id = ?`, int64(1))
	if err := row.Scan(&id, &name, &price, &ratio, &active, &doc, &note, &at); err != nil {
		t.Fatal(err)
	}
	if id != 1 || name != "widget" || price != 12.5 || ratio != 0.25 || !active || doc != `{"a":1}` || note != "007" || !at.Equal(ts) {
		t.Fatalf("got %v %q %v %v %v %q %q %v", id, name, price, ratio, active, doc, note, at)
	}
	rows, err := db.QueryContext(ctx, `SELECT id, name AS "lowerName", COUNT(*) OVER () FROM items ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	if strings.Join(cols, ",") != "ID,lowerName,COUNT(*) OVER ()" {
		t.Errorf("columns %q", cols)
	}
	cts, _ := rows.ColumnTypes()
	if cts[0].DatabaseTypeName() != "FIXED" || cts[1].DatabaseTypeName() != "TEXT" {
		t.Errorf("types %s %s", cts[0].DatabaseTypeName(), cts[1].DatabaseTypeName())
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if n != 3 {
		t.Errorf("%d rows, want 3", n)
	}
	res, err = db.ExecContext(ctx, `UPDATE items SET price = price + 1 WHERE id >= ?`, int64(2))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Errorf("updated %d, want 2", n)
	}
	res, err = db.ExecContext(ctx, `DELETE FROM items WHERE id = 3`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Errorf("deleted %d, want 1", n)
	}
	// Duplicate key on a hybrid table.
	_, err = db.ExecContext(ctx, `INSERT INTO items (id, name) VALUES (1, 'again')`)
	if se := sfErr(t, err); se.Number != 200001 {
		t.Errorf("duplicate: %v", se)
	}
	_, err = db.ExecContext(ctx, `SELECT nope FROM items`)
	if se := sfErr(t, err); se.Number != 904 {
		t.Errorf("missing column: %v", se)
	}
	_, err = db.ExecContext(ctx, `SELECT * FROM missing_table`)
	if se := sfErr(t, err); se.Number != 2003 || se.SQLState != "42S02" || !strings.Contains(se.Message, "Object 'MISSING_TABLE' does not exist or not authorized.") {
		t.Errorf("missing table: %v", se)
	}
	var v, cdb string
	if err := db.QueryRowContext(ctx, `SELECT CURRENT_VERSION(), CURRENT_DATABASE()`).Scan(&v, &cdb); err != nil || v == "" || cdb != "APP" {
		t.Errorf("current: %q %q %v", v, cdb, err)
	}
}

func TestWrongPassword(t *testing.T) {
	s := start(t, emulator.Config{Users: []emulator.User{{Name: "alice", Password: "right-pw"}}})
	db := open(t, s.DSN("alice", "wrong-pw", "", ""))
	err := db.PingContext(ctxT(t))
	if se := sfErr(t, err); se.Number != 390100 || se.Message != "Incorrect username or password was specified." {
		t.Fatalf("got %v", se)
	}
	if st := s.Stats(); st.Logins != 0 || st.LoginFailures != 1 {
		t.Errorf("stats %+v", st)
	}
}
