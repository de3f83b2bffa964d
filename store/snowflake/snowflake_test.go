package snowflake_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/emulator"
	"github.com/unistore-bench/unistore/internal/testsf"
	"github.com/unistore-bench/unistore/store"
	sfstore "github.com/unistore-bench/unistore/store/snowflake"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func open(t *testing.T, dsn string) *sfstore.Store {
	t.Helper()
	st, err := sfstore.Open(ctxT(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func count(t *testing.T, st *sfstore.Store, runID string) int64 {
	t.Helper()
	n, err := st.CountExecutions(ctxT(t), runID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func executions(runID string, n int) []store.Execution {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	out := make([]store.Execution, n)
	for i := range out {
		start := t0.Add(time.Duration(i) * time.Microsecond)
		out[i] = store.Execution{RunID: runID, WorkerID: "worker-0", Connection: i % 8, Operation: "get",
			Phase: core.PhaseMeasurement, StartedAt: start, EndedAt: start.Add(time.Millisecond), OK: true, RowsAffected: int64(i)}
	}
	return out
}

// The store never binds a float: gosnowflake would send float32 precision.
func TestFloatBindRefused(t *testing.T) {
	st := open(t, testsf.StoreDSN(t))
	for _, arg := range []any{1.2345678901234, float32(0.5)} {
		_, err := st.Dialect().Exec(ctxT(t), `SELECT ?`, arg)
		if !errors.Is(err, sfstore.ErrFloatBind) {
			t.Errorf("Exec with %T: got %v, want ErrFloatBind", arg, err)
		}
		if _, err := st.Dialect().Query(ctxT(t), `SELECT ?`, "x", arg); !errors.Is(err, sfstore.ErrFloatBind) {
			t.Errorf("Query with %T: got %v, want ErrFloatBind", arg, err)
		}
	}
}

// A batch too big for one statement goes as several INSERTs in one
// transaction, each within the bind bound; a batch that fits is one
// statement with no transaction. Every statement carries the store's tag.
func TestBulkStatements(t *testing.T) {
	sf := testsf.Start(t, testsf.Config())
	st := open(t, sf.RunDSN())
	first := len(sf.Requests())
	if err := st.WriteExecutions(ctxT(t), executions("small", 2000)); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteExecutions(ctxT(t), executions("big", 5000)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sf.Requests()[first:] {
		if r.Kind != "query" {
			continue
		}
		// Every statement names its run and kind (the runs "small", "big").
		if r.QueryTag != sfstore.RunTag("small", sfstore.OpWriteExecs) && r.QueryTag != sfstore.RunTag("big", sfstore.OpWriteExecs) {
			t.Errorf("store statement tagged %q, want the run's write_executions tag: %.60q", r.QueryTag, r.SQL)
		}
		kind := r.SQL
		if strings.HasPrefix(kind, "INSERT") {
			kind = fmt.Sprintf("INSERT %d rows", len(r.Binds)/13)
		}
		got = append(got, kind)
	}
	// 32,000 binds / 13 columns = 2,461 rows a statement.
	want := []string{"INSERT 2000 rows", "BEGIN", "INSERT 2461 rows", "INSERT 2461 rows", "INSERT 78 rows", "COMMIT"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("statements\n got %v\nwant %v", got, want)
	}
	if n := count(t, st, "small"); n != 2000 {
		t.Errorf("small: %d rows, want 2000", n)
	}
	if n := count(t, st, "big"); n != 5000 {
		t.Errorf("big: %d rows, want 5000", n)
	}
}

// A multi-statement batch whose COMMIT fails stores nothing — also when
// its ROLLBACK fails as well, leaving the transaction open on the server:
// the session is discarded, so the next batch's COMMIT, on another
// session, does not carry the failed batch's rows along.
func TestFailedBatchIsNotCommittedLater(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults []string
	}{
		{"commit fails", []string{"COMMIT"}},
		{"commit and rollback fail", []string{"COMMIT", "ROLLBACK"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sf := testsf.Start(t, testsf.Config())
			st := open(t, sf.RunDSN())
			for _, f := range tc.faults {
				sf.Inject(emulator.Fault{Kind: emulator.HTTPError, Match: f, Count: 1})
			}
			if err := st.WriteExecutions(ctxT(t), executions("failed", 3000)); err == nil {
				t.Fatal("the batch succeeded through a failed COMMIT")
			}
			var failedSession int64
			for _, r := range sf.Requests() {
				if r.SQL == "COMMIT" {
					failedSession = r.SessionID
				}
			}
			if err := st.WriteExecutions(ctxT(t), executions("next", 3000)); err != nil {
				t.Fatal(err)
			}
			if n := count(t, st, "failed"); n != 0 {
				t.Errorf("%d rows of the failed batch stored, want none", n)
			}
			if n := count(t, st, "next"); n != 3000 {
				t.Errorf("next batch: %d rows, want 3000", n)
			}
			deleted := false
			for _, r := range sf.Requests() {
				if r.SessionID == failedSession && r.Kind == "delete" {
					deleted = true
				}
			}
			if !deleted {
				t.Errorf("session %d of the failed transaction was not ended", failedSession)
			}
		})
	}
}

// The DSN's database holds the store: the schema is applied there and
// the store reads and writes there, not in UNISTORE_BENCHMARK.
func TestDatabaseFromDSN(t *testing.T) {
	dir := t.TempDir()
	cfg := testsf.Config()
	cfg.DB = "sqlite://" + dir
	sf, err := emulator.Start(cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	admin := "snowflake://" + sf.DSN(testsf.AdminUser, testsf.AdminPassword, "perf_results", "")
	if err := store.ApplySchema(ctxT(t), admin); err != nil {
		t.Fatal(err)
	}
	st := open(t, "snowflake://"+sf.DSN(testsf.RunUser, testsf.RunPassword, "PERF_RESULTS", "WHATEVER"))
	if st.Database() != "PERF_RESULTS" {
		t.Errorf("database %q, want PERF_RESULTS", st.Database())
	}
	if _, err := st.SaveTemplate(ctxT(t), store.Template{Name: "t", Body: "x: 1\n"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	joined := strings.Join(names, " ")
	for _, want := range []string{"PERF_RESULTS.TEST_RESULTS.sqlite", "PERF_RESULTS.CONFIG.sqlite"} {
		if !strings.Contains(joined, want) {
			t.Errorf("namespaces %v: want %s", names, want)
		}
	}
	if strings.Contains(joined, "UNISTORE_BENCHMARK") {
		t.Errorf("namespaces %v: the default database was used", names)
	}
}

// The driver's DSN forms reach the store: a connection from
// connections.toml (password there, never in an error), and key-pair
// login with private_key_file.
func TestDSNForms(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testsf.Config()
	cfg.Users = append(cfg.Users, emulator.User{Name: "KEY_RW", PublicKey: &key.PublicKey, ReadWrite: true})
	sf := testsf.Start(t, cfg)
	_, port, _ := strings.Cut(sf.Addr(), ":")

	home := t.TempDir()
	t.Setenv("SNOWFLAKE_HOME", home)
	for _, v := range []string{"SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD", "SNOWFLAKE_DATABASE", "SNOWFLAKE_SCHEMA"} {
		t.Setenv(v, "")
	}
	toml := fmt.Sprintf("[results]\naccount = %q\nhost = \"127.0.0.1\"\nport = %s\nprotocol = \"http\"\nuser = %q\npassword = %q\ndatabase = \"UNISTORE_BENCHMARK\"\n",
		emulator.Account, port, testsf.RunUser, testsf.RunPassword)
	if err := os.WriteFile(filepath.Join(home, "connections.toml"), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	st := open(t, "snowflake://?connection=results")
	if _, err := st.ListRuns(ctxT(t), store.RunFilter{}); err != nil {
		t.Fatal(err)
	}
	// A failing statement's error holds no password from the file.
	_, err = st.Dialect().Exec(ctxT(t), `SELECT * FROM nope WHERE x = ?`, testsf.RunPassword)
	if err == nil {
		t.Fatal("a query of a missing table succeeded")
	}
	if err := st.Dialect().Errorf(err, "probe"); strings.Contains(err.Error(), testsf.RunPassword) {
		t.Errorf("error shows the password: %v", err)
	}

	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "rsa_key.p8")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	kst := open(t, fmt.Sprintf("snowflake://KEY_RW@%s/UNISTORE_BENCHMARK/TEST_RESULTS?account=%s&protocol=http&private_key_file=%s",
		sf.Addr(), emulator.Account, keyFile))
	if _, err := kst.SaveTemplate(ctxT(t), store.Template{Name: "by-key", Body: "x: 1\n"}); err != nil {
		t.Fatal(err)
	}
}

func TestControlDefaults(t *testing.T) {
	st := open(t, testsf.StoreDSN(t))
	got := store.ControlDefaults(st, core.ControlSpec{Lease: core.Duration(90 * time.Second)})
	want := core.ControlSpec{Poll: core.Duration(time.Second), Heartbeat: core.Duration(time.Second),
		HeartbeatTimeout: core.Duration(30 * time.Second), Lease: core.Duration(90 * time.Second)}
	if got != want {
		t.Errorf("ControlDefaults: got %+v, want %+v (the spec's lease kept)", got, want)
	}
}

// The store answers 503 to everything for ~2 s while executions stream
// through a Writer: the writer retries and recovers, and every row it
// counts as stored is in the table exactly once (the writer-level twin of
// the PostgreSQL stop/start test in package store).
func TestOutageWriterRecovers(t *testing.T) {
	sf := testsf.Start(t, testsf.Config())
	st := open(t, sf.RunDSN())
	w := store.NewWriter(st.WriteExecutions, store.WriterConfig{
		Buffer: 100_000, BatchSize: 500, FlushInterval: 50 * time.Millisecond, FlushTimeout: 5 * time.Second,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
	})
	var seq int64
	produce := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			for range 5 { // ~1000 rows/s, each numbered in RowsAffected
				seq++
				now := time.Now()
				w.Offer(store.Execution{RunID: "outage", WorkerID: "worker-0", Operation: "get", Phase: core.PhaseMeasurement,
					StartedAt: now, EndedAt: now.Add(time.Millisecond), OK: true, RowsAffected: seq})
			}
		}
	}
	produce(time.Second)
	sf.Inject(emulator.Fault{Kind: emulator.HTTPError, Status: 503})
	produce(2 * time.Second)
	sf.ClearFaults()
	restart := seq
	produce(time.Second)
	if err := w.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	t.Logf("writer: %+v", s)
	if s.Failures == 0 {
		t.Error("no flush failed: the outage was not seen")
	}
	if s.Stored != seq || s.Dropped != 0 {
		t.Errorf("stored %d, dropped %d of %d produced: want all stored", s.Stored, s.Dropped, seq)
	}
	var rows, distinct, after int64
	if err := st.DB().QueryRowContext(ctxT(t), `SELECT COUNT(*), COUNT(DISTINCT rows_affected), SUM(IFF(rows_affected > ?, 1, 0))
		FROM UNISTORE_BENCHMARK.TEST_RESULTS.QUERY_EXECUTIONS WHERE run_id = 'outage'`, restart).Scan(&rows, &distinct, &after); err != nil {
		t.Fatal(err)
	}
	if rows != s.Stored || distinct != rows || after != seq-restart {
		t.Errorf("table holds %d rows (%d distinct, %d after the restart); writer stored %d, %d produced after the restart",
			rows, distinct, after, s.Stored, seq-restart)
	}
}
