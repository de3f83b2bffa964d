package snowflake_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/driver/drivertest"
	"github.com/unistore-bench/unistore/driver/snowflake"
	"github.com/unistore-bench/unistore/emulator"
)

const (
	testUser     = "LOADER"
	testPassword = "p4ss-w0rd!"
)

// startEmulator starts an in-process emulator with one password user and
// closes it when the test ends.
func startEmulator(t testing.TB, users ...emulator.User) *emulator.Server {
	t.Helper()
	if len(users) == 0 {
		users = []emulator.User{{Name: testUser, Password: testPassword, Role: "LOADER_ROLE", ReadWrite: false}}
	}
	s, err := emulator.Start(emulator.Config{Users: users}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("emulator.Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// connector opens a unistore Snowflake connector on s's default database
// and schema (where s.Exec runs).
func connector(t testing.TB, s *emulator.Server, user, password string) *snowflake.Connector {
	t.Helper()
	c, err := snowflake.NewConnector("snowflake://" + s.DSN(user, password, "", ""))
	if err != nil {
		t.Fatalf("NewConnector: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func connect(t testing.TB, c driver.Connector) driver.Conn {
	t.Helper()
	cn, err := c.Connect(ctxT(t))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { cn.Close() })
	return cn
}

func mustExec(t testing.TB, s *emulator.Server, sql string) {
	t.Helper()
	if err := s.Exec(sql); err != nil {
		t.Fatalf("emulator Exec(%q): %v", sql, err)
	}
}

func TestConformance(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) drivertest.Target {
		s := startEmulator(t)
		c := connector(t, s, testUser, testPassword)
		return drivertest.Target{
			Connector: c,
			Exec:      func(t *testing.T, sql string) { mustExec(t, s, sql) },
			Types:     drivertest.Types{Int: "NUMBER(38,0)", Float: "FLOAT", Text: "VARCHAR", Bool: "BOOLEAN", Time: "TIMESTAMP_NTZ"},
		}
	})
}

func TestLoginsEqualConnections(t *testing.T) {
	s := startEmulator(t)
	mustExec(t, s, "CREATE TABLE kv (id NUMBER PRIMARY KEY, v NUMBER)")
	c := connector(t, s, testUser, testPassword)
	const conns, each = 3, 20
	var cs []driver.Conn
	for range conns {
		cn := connect(t, c)
		cs = append(cs, cn)
		st, err := cn.Prepare(ctxT(t), "SELECT v FROM kv WHERE id = ?")
		if err != nil {
			t.Fatal(err)
		}
		for i := range each {
			if _, err := st.Exec(ctxT(t), []core.Value{core.Int(int64(i))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	st := s.Stats()
	// No warehouse in the DSN, so no SHOW WAREHOUSES for Settings.
	if st.Logins != conns || st.Queries != conns*each || st.DescribeOnly != conns {
		t.Errorf("stats %+v: want %d logins, %d queries, %d describe-only", st, conns, conns*each, conns)
	}
	for _, cn := range cs {
		if err := cn.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if st := s.Stats(); st.SessionDeletes != conns {
		t.Errorf("%d sessions deleted after closing %d connections", st.SessionDeletes, conns)
	}
}

func TestParallelConnect(t *testing.T) {
	s := startEmulator(t)
	c := connector(t, s, testUser, testPassword)
	const n = 50
	conns := make([]driver.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() { conns[i], errs[i] = c.Connect(ctxT(t)) })
	}
	wg.Wait()
	t.Logf("%d parallel logins in %v", n, time.Since(start))
	for i, err := range errs {
		if err != nil {
			t.Errorf("Connect %d: %v", i, err)
			continue
		}
		conns[i].Close()
	}
	if st := s.Stats(); st.Logins != n {
		t.Errorf("%d logins, want %d", st.Logins, n)
	}
}

func TestQueryTagArrives(t *testing.T) {
	s := startEmulator(t)
	c := connector(t, s, testUser, testPassword)
	cn := connect(t, c)
	l := driver.Label{Run: "20260101-000000-abcdef", Worker: "worker-1", Operation: "one", Phase: core.PhaseWarmup}
	ctx := cn.(driver.Labeler).Label(ctxT(t), l)
	st, err := cn.Prepare(ctx, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := st.Exec(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := "unistore:run=20260101-000000-abcdef:worker=worker-1:phase=WARMUP:op=one"
	n := 0
	for _, r := range s.Requests() {
		if r.Kind == "query" && !r.DescribeOnly && r.SQL == "SELECT 1" {
			n++
			if r.QueryTag != want {
				t.Errorf("query tag %q, want %q", r.QueryTag, want)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d tagged SELECT 1 queries logged, want 3", n)
	}
}

func TestSettings(t *testing.T) {
	s := startEmulator(t)
	c, err := snowflake.NewConnector("snowflake://" + s.DSN(testUser, testPassword, "", "") + "&warehouse=" + emulator.DefaultWarehouse)
	if err != nil {
		t.Fatal(err)
	}
	connect(t, c)
	got := c.Settings()
	t.Logf("settings: %v", got)
	for _, k := range []string{"account", "user", "warehouse", "driver_version", "USE_CACHED_RESULT", "warehouse_size"} {
		if got[k] == "" {
			t.Errorf("Settings lacks %s: %v", k, got)
		}
	}
	for k, v := range got {
		if strings.Contains(v, testPassword) {
			t.Errorf("Settings[%s] holds the password", k)
		}
	}
}

func TestFloatPrecision(t *testing.T) {
	s := startEmulator(t)
	mustExec(t, s, "CREATE TABLE f (id NUMBER PRIMARY KEY, x FLOAT)")
	cn := connect(t, connector(t, s, testUser, testPassword))
	st, err := cn.Prepare(ctxT(t), "INSERT INTO f (id, x) VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	const x = 1.2345678901234
	if _, err := st.Exec(ctxT(t), []core.Value{core.Int(1), {Kind: core.KindFloat, Float: x}}); err != nil {
		t.Fatal(err)
	}
	got, err := cn.QueryColumn(ctxT(t), "SELECT x FROM f")
	if err != nil || len(got) != 1 || got[0].Float != x {
		t.Errorf("float round trip: %v, %v; want %v", got, err, x)
	}
}

func TestMissingTableBeforeLoad(t *testing.T) {
	s := startEmulator(t)
	c := connector(t, s, testUser, testPassword)
	cn := connect(t, c)
	before := s.Stats().Queries
	start := time.Now()
	_, err := cn.Prepare(ctxT(t), "SELECT v FROM no_such_table WHERE id = ?")
	if err == nil {
		t.Fatal("Prepare of a missing table succeeded")
	}
	t.Logf("missing table after %v: %v", time.Since(start), err)
	if !strings.Contains(strings.ToUpper(err.Error()), "NO_SUCH_TABLE") || !strings.Contains(err.Error(), "SELECT v FROM no_such_table") {
		t.Errorf("error names neither table nor statement: %v", err)
	}
	if class, code := driver.Classify(c, err); class != core.ErrSyntax || code != "002003" {
		t.Errorf("classified %v %q, want syntax 002003", class, code)
	}
	if after := s.Stats().Queries; after != before {
		t.Errorf("Prepare executed %d statements, want describe-only", after-before)
	}
}

func TestWrongPassword(t *testing.T) {
	s := startEmulator(t)
	const wrong = "not-the-password-42"
	c := connector(t, s, testUser, wrong)
	start := time.Now()
	_, err := c.Connect(ctxT(t))
	if err == nil {
		t.Fatal("Connect with a wrong password succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("wrong password took %v", d)
	}
	t.Logf("wrong password: %v", err)
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error shows the password: %v", err)
	}
	if class, _ := driver.Classify(c, err); class != core.ErrConnection {
		t.Errorf("classified %v, want connection", class)
	}
	if st := s.Stats(); st.LoginFailures != 1 || st.Logins != 0 {
		t.Errorf("stats %+v: want one refused login, no retry", st)
	}
}

func TestUnknownHost(t *testing.T) {
	clearEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := snowflake.NewConnector("snowflake://u:pw@" + addr + "/db/s?account=nobody&protocol=http")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Connect(ctxT(t))
	if err == nil {
		t.Fatal("Connect to a closed port succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closed port took %v", d)
	}
	t.Logf("closed port: %v", err)
	if !strings.Contains(err.Error(), addr) && !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("error does not name the host: %v", err)
	}
	if class, _ := driver.Classify(c, err); class != core.ErrConnection {
		t.Errorf("classified %v, want connection", class)
	}
}

func TestKeyPairLogin(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := startEmulator(t, emulator.User{Name: "KEYUSER", PublicKey: &key.PublicKey})
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rsa_key.p8")
	writeFile(t, path, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	dsn := s.DSN("KEYUSER", "", "", "")
	if at := strings.Index(dsn, "@"); at >= 0 {
		dsn = "KEYUSER" + dsn[at:] // no password
	}
	c, err := snowflake.NewConnector("snowflake://" + dsn + "&private_key_file=" + path)
	if err != nil {
		t.Fatal(err)
	}
	cn := connect(t, c)
	st, err := cn.Prepare(ctxT(t), "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.Exec(ctxT(t), nil); err != nil || n != 1 {
		t.Errorf("SELECT 1 over a key-pair session: %d, %v", n, err)
	}
}

// faultConn connects and prepares "SELECT v FROM kv WHERE id = ?" on a
// table with one row.
func faultConn(t *testing.T) (*emulator.Server, *snowflake.Connector, driver.Stmt) {
	s := startEmulator(t)
	mustExec(t, s, "CREATE TABLE kv (id NUMBER PRIMARY KEY, v NUMBER)")
	mustExec(t, s, "INSERT INTO kv VALUES (1, 10)")
	c := connector(t, s, testUser, testPassword)
	cn := connect(t, c)
	st, err := cn.Prepare(ctxT(t), "SELECT v FROM kv WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	return s, c, st
}

var one = []core.Value{core.Int(1)}

func TestFaultCancelSendsAbort(t *testing.T) {
	s, c, st := faultConn(t)
	s.Inject(emulator.Fault{Kind: emulator.HangUntilAbort, Match: "FROM kv", Count: 1})
	// The statement hangs until aborted: the deadline is what ends it, and
	// gosnowflake must then send abort-request before Exec returns.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := st.Exec(ctx, one)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Exec: %v, want deadline exceeded", err)
	}
	if class, _ := driver.Classify(c, err); class != core.ErrTimeout {
		t.Errorf("classified %v, want timeout", class)
	}
	if got := s.Stats().Aborts; got != 1 {
		t.Errorf("%d abort-requests, want 1", got)
	}
	if n, err := st.Exec(ctxT(t), one); err != nil || n != 1 {
		t.Errorf("Exec after the abort: %d, %v", n, err)
	}
	// The hung request is logged when its handler ends, after the abort;
	// Close waits for every handler, so the log is complete after it.
	s.Close()
	var abortIDs []string
	queries := map[string]bool{}
	for _, r := range s.Requests() {
		switch {
		case r.Kind == "query" && strings.Contains(r.SQL, "FROM kv") && !r.DescribeOnly:
			queries[r.RequestID] = true
		case r.Kind == "abort":
			abortIDs = append(abortIDs, r.RequestID)
		}
	}
	if len(abortIDs) != 1 || !queries[abortIDs[0]] {
		t.Errorf("abort-requests %q do not name one of the queries %v", abortIDs, queries)
	}
}

func TestFaultSessionExpiryRenews(t *testing.T) {
	s, _, st := faultConn(t)
	s.Inject(emulator.Fault{Kind: emulator.ExpireSession, Match: "FROM kv", Count: 1})
	if n, err := st.Exec(ctxT(t), one); err != nil || n != 1 {
		t.Fatalf("Exec across a session expiry: %d, %v", n, err)
	}
	if st := s.Stats(); st.Renewals != 1 || st.Logins != 1 {
		t.Errorf("stats %+v: want one renewal and no new login", st)
	}
}

func TestFaultHTTP5xxCounted(t *testing.T) {
	s, c, st := faultConn(t)
	s.Inject(emulator.Fault{Kind: emulator.HTTPError, Status: 500, Match: "FROM kv", Count: 1})
	start := time.Now()
	_, err := st.Exec(ctxT(t), one)
	if err == nil {
		t.Fatal("Exec under HTTP 500 succeeded: was it retried?")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("HTTP 500 took %v to surface (retried?)", d)
	}
	if class, code := driver.Classify(c, err); class != core.ErrConnection || code != "HTTP 500" {
		t.Errorf("classified %v %q, want connection, HTTP 500 (err %v)", class, code, err)
	}
	if n, err := st.Exec(ctxT(t), one); err != nil || n != 1 {
		t.Errorf("next Exec: %d, %v", n, err)
	}
}

func TestFaultThrottleClassified(t *testing.T) {
	s, c, st := faultConn(t)
	s.Inject(emulator.Fault{Kind: emulator.Throttle, Match: "FROM kv", Count: 1})
	_, err := st.Exec(ctxT(t), one)
	if err == nil {
		t.Fatal("Exec under throttling succeeded")
	}
	if class, code := driver.Classify(c, err); class != core.ErrThrottled {
		t.Errorf("classified %v %q, want throttled (err %v)", class, code, err)
	}
	if n, err := st.Exec(ctxT(t), one); err != nil || n != 1 {
		t.Errorf("next Exec: %d, %v", n, err)
	}
}
