package emulator_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snowflakedb/gosnowflake"
	"github.com/unistore-bench/unistore/emulator"
)

func jwtConfig(t *testing.T, s *emulator.Server, user string, key *rsa.PrivateKey) *sql.DB {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.Addr())
	p, _ := strconv.Atoi(port)
	cfg := &gosnowflake.Config{
		Account:          emulator.Account,
		User:             user,
		Host:             host,
		Port:             p,
		Protocol:         "http",
		Authenticator:    gosnowflake.AuthTypeJwt,
		PrivateKey:       key,
		Database:         "APP",
		Schema:           "PUBLIC",
		DisableTelemetry: true,
	}
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, *cfg))
	t.Cleanup(func() { db.Close() })
	return db
}

func TestKeyPairLogin(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, emulator.Config{Users: []emulator.User{
		{Name: "bob", PublicKey: &key.PublicKey, Role: "loader"},
		{Name: "carol", PublicKey: &other.PublicKey},
	}})
	ctx := ctxT(t)
	db := jwtConfig(t, s, "bob", key)
	var role string
	if err := db.QueryRowContext(ctx, "SELECT CURRENT_ROLE()").Scan(&role); err != nil {
		t.Fatal(err)
	}
	if role != "LOADER" {
		t.Errorf("role %q", role)
	}
	// carol's JWT signed with bob's key: fingerprint and signature fail.
	bad := jwtConfig(t, s, "carol", key)
	err = bad.PingContext(ctx)
	if se := sfErr(t, err); se.Number != 390144 {
		t.Errorf("bad key: %v", se)
	}
	// A password login for a key-only user fails.
	pw := open(t, s.DSN("bob", "guess", "", ""))
	if se := sfErr(t, pw.PingContext(ctx)); se.Number != 390100 {
		t.Errorf("password for key user: %v", se)
	}
	for _, r := range s.Requests() {
		if strings.Contains(fmt.Sprintf("%+v", r), "eyJ") {
			t.Errorf("a JWT in the request log: %+v", r)
		}
	}
}

func TestDescribeOnlyAndQueryTag(t *testing.T) {
	s := start(t, emulator.Config{})
	if err := s.Exec(`CREATE HYBRID TABLE accounts (id NUMBER PRIMARY KEY, balance NUMBER(12,2), owner STRING)`); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	db := open(t, s.DSN("", "", "", ""))
	dctx := gosnowflake.WithDescribeOnly(ctx)
	rows, err := db.QueryContext(dctx, `SELECT id, balance, owner FROM accounts WHERE id = ?`)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.ColumnTypes()
	if rows.Next() {
		t.Error("describe-only returned a row")
	}
	rows.Close()
	if len(cols) != 3 || cols[1].DatabaseTypeName() != "FIXED" || cols[2].DatabaseTypeName() != "TEXT" {
		t.Errorf("describe columns %v", cols)
	}
	if p, sc, _ := cols[1].DecimalSize(); p != 12 || sc != 2 {
		t.Errorf("balance NUMBER(%d,%d)", p, sc)
	}
	_, err = db.ExecContext(dctx, `UPDATE missing SET x = ? WHERE id = ?`)
	if se := sfErr(t, err); se.Number != 2003 || se.SQLState != "42S02" {
		t.Errorf("describe missing table: %v", se)
	}
	tag := "unistore:run=r1:worker=3:phase=MEASUREMENT:op=read"
	tctx := gosnowflake.WithQueryTag(ctx, tag)
	if _, err := db.ExecContext(tctx, `INSERT INTO accounts VALUES (?, ?, ?)`, int64(1), "10.25", "ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `SELECT 1`); err != nil {
		t.Fatal(err)
	}
	var tagged, untagged, described int
	for _, r := range s.Requests() {
		if r.Kind != "query" {
			continue
		}
		switch {
		case r.DescribeOnly:
			described++
		case r.QueryTag == tag && strings.HasPrefix(r.SQL, "INSERT"):
			tagged++
			if strings.Join(r.Binds, "|") != "1|10.25|ann" {
				t.Errorf("binds %q", r.Binds)
			}
		case r.QueryTag == "" && r.SQL == "SELECT 1":
			untagged++
		}
	}
	if tagged != 1 || untagged != 1 || described != 2 {
		t.Errorf("tagged %d, untagged %d, described %d", tagged, untagged, described)
	}
	if st := s.Stats(); st.DescribeOnly != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestSessionExpiryRenews(t *testing.T) {
	s := start(t, emulator.Config{})
	ctx := ctxT(t)
	db := open(t, s.DSN("", "", "", ""))
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	s.Inject(emulator.Fault{Kind: emulator.ExpireSession, Match: "SELECT 42", Count: 1})
	var n int
	if err := db.QueryRowContext(ctx, "SELECT 42").Scan(&n); err != nil || n != 42 {
		t.Fatalf("after expiry: %d %v", n, err)
	}
	st := s.Stats()
	if st.Renewals != 1 || st.Logins != 1 {
		t.Errorf("stats %+v", st)
	}
	var codes []string
	for _, r := range s.Requests() {
		if r.Kind == "query" && r.SQL == "SELECT 42" || r.Kind == "renew" {
			codes = append(codes, r.Kind+":"+r.Code)
		}
	}
	if strings.Join(codes, ",") != "query:390112,renew:,query:" {
		t.Errorf("sequence %v", codes)
	}
}

func TestHTTPErrorAndThrottleAreRetried(t *testing.T) {
	s := start(t, emulator.Config{})
	ctx := ctxT(t)
	db := open(t, s.DSN("", "", "", "")+"&maxRetryCount=1")
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []emulator.Fault{
		{Kind: emulator.HTTPError, Status: 503, Match: "SELECT 7", Count: 1},
		{Kind: emulator.Throttle, Match: "SELECT 7", Count: 1},
	} {
		s.Inject(f)
		var n int
		if err := db.QueryRowContext(ctx, "SELECT 7").Scan(&n); err != nil || n != 7 {
			t.Fatalf("%v once: %d %v", f.Kind, n, err)
		}
	}
	var statuses []string
	for _, r := range s.Requests() {
		if r.SQL == "SELECT 7" {
			statuses = append(statuses, fmt.Sprintf("%d/%d", r.Status, r.Retry))
		}
	}
	if strings.Join(statuses, ",") != "503/0,200/1,429/0,200/1" {
		t.Errorf("status/retry sequence %v", statuses)
	}
	// A fault that persists: the driver gives up after maxRetryCount retries.
	s.Inject(emulator.Fault{Kind: emulator.HTTPError, Status: 502, Match: "SELECT 8"})
	_, err := db.ExecContext(ctx, "SELECT 8")
	if err == nil || !strings.Contains(err.Error(), "HTTP Status: 502") {
		t.Errorf("persistent 502: %v", err)
	}
	s.ClearFaults()
	if _, err := db.ExecContext(ctx, "SELECT 8"); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
}

func TestHangUntilAbort(t *testing.T) {
	hung := make(chan struct{}, 1)
	s := start(t, emulator.Config{Logf: func(format string, args ...any) {
		if strings.Contains(fmt.Sprintf(format, args...), "fault HangUntilAbort applied") {
			select {
			case hung <- struct{}{}:
			default:
			}
		}
	}})
	ctx := ctxT(t)
	db := open(t, s.DSN("", "", "", ""))
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	s.Inject(emulator.Fault{Kind: emulator.HangUntilAbort, Match: "SLOW", Count: 1})
	qctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(qctx, "SELECT 'SLOW'")
		done <- err
	}()
	select {
	case <-hung:
	case <-ctx.Done():
		t.Fatal("the query never reached the emulator")
	}
	began := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled query: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the cancelled query did not return")
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("cancel took %v", d)
	}
	// The driver sends abort-request before returning; the hung request
	// then answers 000604.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var abort, canceled bool
		for _, r := range s.Requests() {
			abort = abort || r.Kind == "abort" && r.Code == ""
			canceled = canceled || r.Kind == "query" && r.SQL == "SELECT 'SLOW'" && r.Code == "000604"
		}
		if abort && canceled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("abort %v, canceled %v: %+v", abort, canceled, s.Requests())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.Stats(); st.Aborts < 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestDatabasesAndSchemasAreSeparate(t *testing.T) {
	dir := t.TempDir()
	s := start(t, emulator.Config{DB: "sqlite://" + dir})
	err := s.Exec(`
		CREATE DATABASE IF NOT EXISTS target;
		CREATE TABLE t (id INT, src STRING);
		INSERT INTO t VALUES (1, 'target');
		CREATE DATABASE IF NOT EXISTS results;
		CREATE SCHEMA IF NOT EXISTS store;
		CREATE TABLE t (id INT, src STRING);
		INSERT INTO t VALUES (2, 'results.store');
	`)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	target := open(t, s.DSN("", "", "TARGET", "PUBLIC"))
	results := open(t, s.DSN("", "", "RESULTS", "STORE"))
	var src string
	if err := target.QueryRowContext(ctx, "SELECT src FROM t").Scan(&src); err != nil || src != "target" {
		t.Errorf("target: %q %v", src, err)
	}
	if err := results.QueryRowContext(ctx, "SELECT src FROM t").Scan(&src); err != nil || src != "results.store" {
		t.Errorf("results: %q %v", src, err)
	}
	if err := target.QueryRowContext(ctx, "SELECT src FROM results.store.t").Scan(&src); err != nil || src != "results.store" {
		t.Errorf("qualified from target: %q %v", src, err)
	}
	if _, err := results.ExecContext(ctx, "INSERT INTO target.public.t SELECT id + 10, src FROM t"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := target.QueryRowContext(ctx, "SELECT COUNT(*) FROM public.t").Scan(&n); err != nil || n != 2 {
		t.Errorf("target rows %d %v", n, err)
	}
	_, err = target.ExecContext(ctx, "SELECT * FROM nodb.public.t")
	if se := sfErr(t, err); se.Number != 2003 {
		t.Errorf("missing database: %v", se)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if len(files) < 3 {
		t.Errorf("files %v", files)
	}
}

func TestReadWriteUserRefusedDDL(t *testing.T) {
	s := start(t, emulator.Config{Users: []emulator.User{{Name: "app", Password: "pw-app", ReadWrite: true}}})
	if err := s.Exec(`CREATE TABLE kv (k STRING PRIMARY KEY, v STRING)`); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	db := open(t, s.DSN("app", "", "", ""))
	for _, q := range []string{"CREATE TABLE x (a INT)", "DROP TABLE kv", "ALTER TABLE kv ADD COLUMN z INT", "TRUNCATE TABLE kv", "CREATE OR REPLACE HYBRID TABLE kv (k INT PRIMARY KEY)"} {
		_, err := db.ExecContext(ctx, q)
		if se := sfErr(t, err); se.Number != 3001 {
			t.Errorf("%s: %v", q, se)
		}
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO kv VALUES ('a', 'b')"); err != nil {
		t.Errorf("DML: %v", err)
	}
	if _, err := db.ExecContext(ctx, "ALTER SESSION SET QUERY_TAG = 'x'"); err != nil {
		t.Errorf("ALTER SESSION: %v", err)
	}
}

func TestParallelLogins(t *testing.T) {
	s := start(t, emulator.Config{})
	if err := s.Exec(`CREATE HYBRID TABLE c (id INT PRIMARY KEY, n INT)`); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	db := open(t, s.DSN("", "", "", ""))
	const n = 100
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	began := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	conns := make([]*sql.Conn, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := db.Conn(ctx)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("%d logins took %v", n, d)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 5 {
				if _, err := c.ExecContext(ctx, "INSERT INTO c VALUES (?, ?)", int64(i*10+k), int64(k)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range conns {
		c.Close()
	}
	var cnt int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM c").Scan(&cnt); err != nil || cnt != 5*n {
		t.Errorf("count %d %v", cnt, err)
	}
	if st := s.Stats(); st.Logins != n {
		t.Errorf("logins %d, want %d", st.Logins, n)
	}
}

func TestRequestLogHasNoSecrets(t *testing.T) {
	const password = "Pw-very-secret-42"
	var logged strings.Builder
	var mu sync.Mutex
	s := start(t, emulator.Config{
		Users: []emulator.User{{Name: "dora", Password: password}},
		Logf: func(format string, args ...any) {
			mu.Lock()
			fmt.Fprintf(&logged, format+"\n", args...)
			mu.Unlock()
		},
	})
	ctx := ctxT(t)
	db := open(t, s.DSN("dora", password, "", ""))
	db.SetMaxOpenConns(1)
	s.Inject(emulator.Fault{Kind: emulator.ExpireSession, Count: 1})
	if _, err := db.ExecContext(ctx, "SELECT ?", "bound"); err != nil {
		t.Fatal(err)
	}
	bad := open(t, s.DSN("dora", password+"x", "", ""))
	bad.PingContext(ctx)
	db.Close()
	dump := fmt.Sprintf("%+v", s.Requests())
	mu.Lock()
	dump += logged.String()
	mu.Unlock()
	for _, secret := range []string{password, "ETMs"} {
		if strings.Contains(dump, secret) {
			t.Errorf("%q appears in the request log or diagnostics:\n%s", secret, dump)
		}
	}
	kinds := map[string]int{}
	for _, r := range s.Requests() {
		kinds[r.Kind]++
	}
	if kinds["login"] != 2 || kinds["renew"] != 1 || kinds["delete"] != 1 {
		t.Errorf("kinds %v", kinds)
	}
}

func TestInitScriptsAndGenerator(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "setup.sql")
	os.WriteFile(good, []byte(`-- setup; with a semicolon in a comment
CREATE DATABASE IF NOT EXISTS bench;
CREATE OR REPLACE HYBRID TABLE bench.public.orders (
  o_id NUMBER(38,0) NOT NULL,
  o_customer NUMBER(38,0),
  o_note VARCHAR(50) DEFAULT 'it''s; fine',
  o_payload VARIANT,
  o_created TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP(),
  PRIMARY KEY (o_id),
  INDEX idx_customer (o_customer)
);
ALTER TABLE bench.public.orders ADD COLUMN IF NOT EXISTS o_status STRING;
ALTER TABLE bench.public.orders ADD COLUMN IF NOT EXISTS o_status STRING;
INSERT INTO bench.public.orders (o_id, o_customer, o_payload, o_status)
  SELECT SEQ4(), UNIFORM(1, 100, RANDOM()), PARSE_JSON('{"k":1}'), RANDSTR(8, RANDOM())
  FROM TABLE(GENERATOR(ROWCOUNT => 1000));
`), 0o644)
	bad := filepath.Join(dir, "bad.sql")
	os.WriteFile(bad, []byte("CREATE TABLE ok1 (a INT);\n\nSELECT * FROM\n  nowhere;\n"), 0o644)

	if _, err := emulator.New(emulator.Config{Init: []string{good, bad}}); err == nil || !strings.Contains(err.Error(), "bad.sql:3") || !strings.Contains(err.Error(), "002003") {
		t.Errorf("bad init: %v", err)
	}
	s := start(t, emulator.Config{Init: []string{good}})
	ctx := ctxT(t)
	db := open(t, s.DSN("", "", "BENCH", "PUBLIC"))
	var n, lo, hi int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*), MIN(o_customer), MAX(o_customer) FROM orders").Scan(&n, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if n != 1000 || lo < 1 || hi > 100 {
		t.Errorf("generated %d rows, customers %d..%d", n, lo, hi)
	}
	var note, status string
	var created time.Time
	if err := db.QueryRowContext(ctx, "SELECT o_note, o_status, o_created FROM orders WHERE o_id = 999").Scan(&note, &status, &created); err != nil {
		t.Fatal(err)
	}
	if note != "it's; fine" || len(status) != 8 || time.Since(created) > time.Hour {
		t.Errorf("row: %q %q %v", note, status, created)
	}
	rows, err := db.QueryContext(ctx, "SHOW WAREHOUSES")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if !rows.Next() {
		t.Fatal("SHOW WAREHOUSES: no row")
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	got := map[string]string{}
	for i, c := range cols {
		got[c] = vals[i].String
	}
	if got["size"] != "X-Small" || got["min_cluster_count"] != "1" || got["max_cluster_count"] != "1" || got["name"] != emulator.DefaultWarehouse {
		t.Errorf("SHOW WAREHOUSES %v", got)
	}
}

func TestArrayBindingAndSessionParameters(t *testing.T) {
	s := start(t, emulator.Config{})
	if err := s.Exec(`CREATE HYBRID TABLE a (id INT PRIMARY KEY, name STRING)`); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	db := open(t, s.DSN("", "", "", "")+"&USE_CACHED_RESULT=false")
	db.SetMaxOpenConns(1)
	res, err := db.ExecContext(ctx, "INSERT INTO a VALUES (?, ?)", gosnowflake.Array(&[]int64{1, 2, 3}), gosnowflake.Array(&[]string{"x", "y", "z"}))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 3 {
		t.Errorf("array insert affected %d", n)
	}
	if _, err := db.ExecContext(ctx, "ALTER SESSION SET QUERY_TAG = 'session-tag'"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	rows, err := db.QueryContext(ctx, "SHOW PARAMETERS")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, v, d, l, desc, typ string
		rows.Scan(&k, &v, &d, &l, &desc, &typ)
		params[k] = v
	}
	rows.Close()
	if params["USE_CACHED_RESULT"] != "false" || params["QUERY_TAG"] != "session-tag" {
		t.Errorf("session parameters %v", params)
	}
	reqs := s.Requests()
	if last := reqs[len(reqs)-2]; last.SQL != "SELECT 1" || last.QueryTag != "session-tag" {
		t.Errorf("session tag not recorded: %+v", last)
	}
}

// TestIdleTransactionAborted: a session that leaves a transaction open
// while holding SQLite's write lock on its schema (as a client killed
// between INSERT and COMMIT does) would stop every other writer of that
// schema for good. After Config.IdleTxAbort the emulator rolls it back: the
// other session's INSERT, waiting on the lock, then succeeds; the idle
// session's next statements fail with 000625 until its COMMIT, which
// fails too, so its client never believes the rows were stored.
func TestIdleTransactionAborted(t *testing.T) {
	var mu sync.Mutex
	var logs []string
	s := start(t, emulator.Config{IdleTxAbort: 2 * time.Second, Logf: func(f string, a ...any) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf(f, a...))
		mu.Unlock()
	}})
	if err := s.Exec("CREATE TABLE idle_t (id NUMBER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	db := open(t, s.DSN("", "", "", ""))
	a, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, q := range []string{"BEGIN", "INSERT INTO idle_t VALUES (1)"} {
		if _, err := a.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// a is now idle holding the lock: b's autocommit INSERT waits for it.
	if _, err := b.ExecContext(ctx, "INSERT INTO idle_t VALUES (2)"); err != nil {
		t.Fatalf("insert while the other transaction is idle: %v", err)
	}
	for _, q := range []string{"INSERT INTO idle_t VALUES (3)", "COMMIT"} {
		_, err := a.ExecContext(ctx, q)
		if err == nil {
			t.Fatalf("%s in the aborted transaction succeeded", q)
		}
		if se := sfErr(t, err); se.Number != 625 {
			t.Errorf("%s: %v, want 000625", q, err)
		}
	}
	// The aborted transaction is over: the session works again, and a
	// transaction that is not left idle commits.
	for _, q := range []string{"BEGIN", "INSERT INTO idle_t VALUES (4)", "COMMIT"} {
		if _, err := a.ExecContext(ctx, q); err != nil {
			t.Fatalf("after the abort, %s: %v", q, err)
		}
	}
	var ids []int
	rows, err := b.QueryContext(ctx, "SELECT id FROM idle_t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids) != "[2 4]" {
		t.Errorf("rows %v, want [2 4]: the idle transaction's row 1 rolled back", ids)
	}
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, l := range logs {
		found = found || strings.Contains(l, "rolled back (Config.IdleTxAbort)")
	}
	if !found {
		t.Errorf("no log line names the rollback: %q", logs)
	}
}
