package postgres_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/driver/drivertest"
	"github.com/unistore-bench/unistore/driver/postgres"
	"github.com/unistore-bench/unistore/internal/testpg"
)

var pgTypes = drivertest.Types{Int: "bigint", Float: "double precision", Text: "text", Bool: "boolean", Time: "timestamptz"}

func withMode(t testing.TB, dsn string, mode postgres.Mode) string {
	t.Helper()
	return withParam(t, dsn, postgres.ModeParam, string(mode))
}

func withParam(t testing.TB, dsn, name, value string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// modes are the statement modes this platform supports.
func modes() []postgres.Mode {
	m := []postgres.Mode{postgres.ModePrepared, postgres.ModeExtended, postgres.ModeSimple}
	if runtime.GOOS == "linux" {
		m = append(m, postgres.ModeRaw)
	}
	return m
}

// TestConformance runs the suite in every statement mode with the engine
// the DSN gets by default (epoll for prepared and raw on Linux: the suite
// then runs once more through the engine), and in the modes the engine
// serves with engine=goroutine, the pgconn path on Go's own sockets; on
// Linux, also prepared under auto with a plan too wide for the event loops
// (goroutines with the raw mode's wire code, engine_io=raw).
func TestConformance(t *testing.T) {
	type variant struct {
		name, engine string
		wide         bool // a plan of 1000 connections first
	}
	var variants []variant
	for _, mode := range modes() {
		variants = append(variants, variant{name: string(mode)})
	}
	variants = append(variants, variant{name: "prepared", engine: "goroutine"})
	if runtime.GOOS == "linux" {
		variants = append(variants, variant{name: "raw", engine: "goroutine"}, variant{name: "prepared", wide: true})
	}
	for _, v := range variants {
		name := v.name
		if v.engine != "" {
			name += "/engine=" + v.engine
		}
		if v.wide {
			name += "/auto-wide-plan"
		}
		t.Run(name, func(t *testing.T) {
			drivertest.Run(t, func(t *testing.T) drivertest.Target {
				dsn := testpg.NewDatabase(t)
				target := withMode(t, dsn, postgres.Mode(v.name))
				if v.engine != "" {
					target = withParam(t, target, postgres.EngineParam, v.engine)
				}
				c, err := postgres.NewConnector(target)
				if err != nil {
					t.Fatal(err)
				}
				if v.wide {
					c.Plan(driver.Plan{Workers: 1, Connections: 1000})
					if s := c.Settings(); s["engine"] != "goroutine" || s[postgres.EngineIOParam] != "raw" {
						t.Fatalf("Settings %v after a plan of 1000 connections: want engine goroutine, engine_io raw", s)
					}
				}
				return drivertest.Target{
					Connector: c,
					Exec:      func(t *testing.T, sql string) { testpg.Exec(t, dsn, sql) },
					Types:     pgTypes,
				}
			})
		})
	}
}

func TestTimestampWithoutTimeZone(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	testpg.Exec(t, dsn, "CREATE TABLE ts (id int PRIMARY KEY, v timestamp)")
	for i, mode := range modes() {
		c := connect(t, withMode(t, dsn, mode))
		ctx := context.Background()
		s, err := c.Prepare(ctx, "INSERT INTO ts VALUES (?, ?)")
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
		in := want.In(time.FixedZone("plus2", 2*3600)) // the same instant, another zone
		if _, err := s.Exec(ctx, []core.Value{core.Int(int64(i)), {Kind: core.KindTime, Time: in}}); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		got, err := c.QueryColumn(ctx, "SELECT v FROM ts WHERE id = "+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !got[0].Time.Equal(want) {
			t.Errorf("%s: got %v, want %v (stored in UTC)", mode, got, want)
		}
	}
}

func connect(t testing.TB, dsn string) driver.Conn {
	t.Helper()
	c, err := postgres.NewConnector(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestStatementModes(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	testpg.Exec(t, dsn, "CREATE TABLE m (id int PRIMARY KEY, v text)")
	for i, mode := range modes() {
		t.Run(string(mode), func(t *testing.T) {
			c, err := postgres.NewConnector(withMode(t, dsn, mode))
			if err != nil {
				t.Fatal(err)
			}
			wantSettings := map[string]string{"statement_mode": string(mode), "engine": string(c.Engine())}
			if c.Engine() == postgres.EngineEpoll {
				wantSettings["engine_loops"] = strconv.Itoa(postgres.DefaultEngineLoops())
				wantSettings["engine_procs"] = string(postgres.ProcsShared)
				wantSettings["engine_affinity"] = string(postgres.AffinityRX)
			}
			if got := c.Settings(); !maps.Equal(got, wantSettings) {
				t.Errorf("Settings() = %v, want %v", got, wantSettings)
			}
			conn, err := c.Connect(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx := context.Background()
			ins, err := conn.Prepare(ctx, "INSERT INTO m VALUES (?, ?)")
			if err != nil {
				t.Fatal(err)
			}
			id := int64(i)
			if n, err := ins.Exec(ctx, []core.Value{core.Int(id), core.Text("it's ?")}); err != nil || n != 1 {
				t.Fatalf("insert: n=%d err=%v", n, err)
			}
			sel, err := conn.Prepare(ctx, "SELECT v FROM m WHERE id = ? AND v = ?")
			if err != nil {
				t.Fatal(err)
			}
			if n, err := sel.Exec(ctx, []core.Value{core.Int(id), core.Text("it's ?")}); err != nil || n != 1 {
				t.Fatalf("select: n=%d err=%v", n, err)
			}
			// What the server holds: only the prepared and raw modes keep
			// named statements.
			names, err := conn.QueryColumn(ctx, "SELECT name FROM pg_prepared_statements")
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if mode == postgres.ModePrepared || mode == postgres.ModeRaw {
				want = 2
			}
			if len(names) != want {
				t.Errorf("%d named statements on the server, want %d", len(names), want)
			}
		})
	}
}

func TestDefaultModeAndDSNForms(t *testing.T) {
	for _, tc := range []struct {
		dsn  string
		want postgres.Mode
	}{
		{"postgres://u@h/db", postgres.ModePrepared},
		{"postgresql://u@h/db?statement_mode=simple&sslmode=disable", postgres.ModeSimple},
		{"host=h user=u dbname=db statement_mode=extended sslmode=disable", postgres.ModeExtended},
		{"statement_mode='prepared' host=h", postgres.ModePrepared},
	} {
		c, err := postgres.NewConnector(tc.dsn)
		if err != nil {
			t.Errorf("NewConnector(%q): %v", tc.dsn, err)
			continue
		}
		if got := c.Mode(); got != tc.want {
			t.Errorf("NewConnector(%q).Mode() = %s, want %s", tc.dsn, got, tc.want)
		}
	}
	_, err := postgres.NewConnector("postgres://u:s3cret@h/db?statement_mode=fast")
	if err == nil || !strings.Contains(err.Error(), "statement_mode") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad statement_mode: err = %v, want a statement_mode error without the password", err)
	}
	_, err = postgres.NewConnector("postgres://u:s3cret@h:notaport/db")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad port: err = %v, want an error without the password", err)
	}
	_, err = postgres.NewConnector("host=h password=s3cret port=xx")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad kv port: err = %v, want an error without the password", err)
	}
}

func TestRegistry(t *testing.T) {
	for _, dsn := range []string{"postgres://u@h/db", "postgresql://u@h/db", "POSTGRESQL://u@h/db"} {
		name, _, err := driver.Resolve("", dsn)
		if err != nil || name != "postgres" {
			t.Errorf("Resolve(%q) = %q, %v; want postgres", dsn, name, err)
		}
	}
	name, c, err := driver.Open("", "postgres://u:pw@h/db?statement_mode=extended")
	if err != nil || name != "postgres" {
		t.Fatalf("Open = %q, %v", name, err)
	}
	if d, ok := c.(driver.Describer); !ok || d.Settings()["statement_mode"] != "extended" {
		t.Errorf("connector settings = %v", c)
	}
}

func TestConnectErrors(t *testing.T) {
	const pw = "Sup3rS3cretPw"
	// A closed port: listen, note the port, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cases := []struct{ name, dsn string }{
		{"closed port", "postgres://bench:" + pw + "@127.0.0.1:" + strconv.Itoa(port) + "/benchdb?sslmode=disable&connect_timeout=3"},
	}
	if base := testpg.DSN(t); base != "" {
		u, _ := url.Parse(base)
		u.User = url.UserPassword(u.User.Username(), pw)
		u.Path = "/no_such_database_xyz"
		cases = append(cases, struct{ name, dsn string }{"nonexistent database", u.String()})
		u.Path = "/postgres"
		u.User = url.UserPassword("no_such_role_xyz", pw)
		cases = append(cases, struct{ name, dsn string }{"unknown role", u.String()})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := postgres.NewConnector(tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := c.Connect(ctx)
			if err == nil {
				conn.Close()
				t.Fatal("Connect succeeded, want an error")
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			if strings.Contains(msg, pw) {
				t.Errorf("error contains the password: %s", msg)
			}
			if !strings.Contains(msg, "user=") || !strings.Contains(msg, "database=") || !strings.Contains(msg, "host=127.0.0.1") {
				t.Errorf("error does not name host, user and database: %s", msg)
			}
			if class, _ := driver.Classify(c, err); class != core.ErrConnection {
				t.Errorf("classified %v, want connection", class)
			}
		})
	}
}

func TestCancelQuery(t *testing.T) {
	for _, mode := range modes() {
		t.Run(string(mode), func(t *testing.T) {
			conn := connect(t, withMode(t, testpg.DSN(t), mode))
			ctx := context.Background()
			s, err := conn.Prepare(ctx, "SELECT pg_sleep(10)")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				_, err := s.Exec(ctx, nil)
				done <- err
			}()
			time.Sleep(200 * time.Millisecond) // let the query reach the server
			if err := conn.(driver.Canceler).CancelQuery(); err != nil {
				t.Fatalf("CancelQuery: %v", err)
			}
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("pg_sleep(10) succeeded after CancelQuery, want an error")
				}
				if d := time.Since(start); d > 1200*time.Millisecond {
					t.Errorf("cancelled after %v, want within a second of the cancel", d)
				}
				class, code := driver.Classify(conn, err)
				if class != core.ErrTimeout || code != "57014" {
					t.Errorf("classified %v %q, want timeout 57014 (err: %v)", class, code, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Exec still running 5s after CancelQuery")
			}
			// The connection survives a cancelled query.
			one, err := conn.Prepare(ctx, "SELECT 1")
			if err != nil {
				t.Fatal(err)
			}
			if n, err := one.Exec(ctx, nil); err != nil || n != 1 {
				t.Errorf("SELECT 1 after cancel: n=%d err=%v", n, err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		code string
		want core.ErrorClass
	}{
		{"08006", core.ErrConnection}, {"57014", core.ErrTimeout}, {"25P03", core.ErrTimeout},
		{"40001", core.ErrSerialization}, {"40P01", core.ErrSerialization}, {"55P03", core.ErrSerialization},
		{"23505", core.ErrConstraint}, {"23503", core.ErrConstraint}, {"22003", core.ErrData},
		{"42P01", core.ErrSyntax}, {"42501", core.ErrSyntax}, {"53300", core.ErrResource},
		{"57P03", core.ErrResource}, {"XX000", core.ErrOther},
	} {
		err := &pgconn.PgError{Code: tc.code, Message: "x"}
		got, code := postgres.Classify(errors.Join(errors.New("wrapped"), err))
		if got != tc.want || code != tc.code {
			t.Errorf("Classify(%s) = %v %q, want %v %q", tc.code, got, code, tc.want, tc.code)
		}
	}
	if got, code := driver.Classify(postgres.Driver{}, context.DeadlineExceeded); got != core.ErrTimeout || code != "" {
		t.Errorf("Classify(DeadlineExceeded) = %v %q, want timeout via the generic fallback", got, code)
	}
	if got, _ := postgres.Classify(errors.New("boom")); got != core.ErrOther {
		t.Errorf("Classify(boom) = %v, want other", got)
	}
}

func TestExecAfterServerKillsSession(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	conn := connect(t, dsn)
	ctx := context.Background()
	pid, err := conn.QueryColumn(ctx, "SELECT pg_backend_pid()")
	if err != nil {
		t.Fatal(err)
	}
	s, err := conn.Prepare(ctx, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	testpg.QueryInt(t, dsn, "SELECT count(*) FROM (SELECT pg_terminate_backend($1)) x", pid[0].Int)
	var last error
	for range 2 { // the first may see the FATAL message, the second the closed conn
		_, last = s.Exec(ctx, nil)
		if last == nil {
			t.Fatal("Exec on a terminated session succeeded")
		}
	}
	if class, _ := driver.Classify(conn, last); class != core.ErrConnection {
		t.Errorf("Exec on a terminated session classified %v, want connection (err: %v)", class, last)
	}
}

// TestRawWire drives the raw engine's reader through what the conformance
// suite does not: rows larger than its buffer, many rows, an error followed
// by a good query, a query after pgconn used the connection, and a server
// that goes away.
func TestRawWire(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("statement_mode=raw is Linux-only")
	}
	dsn := testpg.NewDatabase(t)
	conn := connect(t, withMode(t, dsn, postgres.ModeRaw))
	ctx := context.Background()
	exec := func(sql string, args ...core.Value) (int64, error) {
		t.Helper()
		s, err := conn.Prepare(ctx, sql)
		if err != nil {
			t.Fatalf("prepare %q: %v", sql, err)
		}
		return s.Exec(ctx, args)
	}
	if n, err := exec("SELECT repeat('x', ?::int) FROM generate_series(1, 3)", core.Int(100_000)); err != nil || n != 3 {
		t.Errorf("big rows: n=%d err=%v, want 3 rows", n, err)
	}
	if n, err := exec("SELECT g FROM generate_series(1, ?::int) g", core.Int(20_000)); err != nil || n != 20_000 {
		t.Errorf("many rows: n=%d err=%v, want 20000", n, err)
	}
	_, err := exec("SELECT 1 / ?::int", core.Int(0))
	if class, code := driver.Classify(conn, err); class != core.ErrData || code != "22012" {
		t.Errorf("division by zero: %v %q (err %v), want data 22012", class, code, err)
	}
	if n, err := exec("SELECT ?::int", core.Value{}); err != nil || n != 1 {
		t.Errorf("after an error: n=%d err=%v, want 1 row", n, err)
	}
	if _, err := conn.QueryColumn(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if n, err := exec("UPDATE pg_class SET relname = relname WHERE false"); err != nil || n != 0 {
		t.Errorf("update: n=%d err=%v", n, err)
	}
	pid, err := conn.QueryColumn(ctx, "SELECT pg_backend_pid()")
	if err != nil {
		t.Fatal(err)
	}
	s, err := conn.Prepare(ctx, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	testpg.Exec(t, dsn, "SELECT pg_terminate_backend("+strconv.FormatInt(pid[0].Int, 10)+")")
	_, err = s.Exec(ctx, nil)
	if class, _ := driver.Classify(conn, err); class != core.ErrConnection {
		t.Errorf("after pg_terminate_backend: %v (err %v), want a connection error", class, err)
	}
}
