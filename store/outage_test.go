package store_test

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/store"
)

// privatePG is a PostgreSQL cluster of the test's own, which the test may
// stop and start without disturbing the shared server other packages use.
type privatePG struct {
	t    *testing.T
	bin  string
	data string
	log  string
	DSN  string
}

// startPrivatePG initialises and starts a cluster in t.TempDir() on a free
// loopback port, as the postgres OS user when the test runs as root. The
// binaries come from UNISTORE_TEST_PG_BIN (set by scripts/test.sh); without
// it the test skips, or fails under CI=true.
func startPrivatePG(t *testing.T) *privatePG {
	t.Helper()
	bin := os.Getenv("UNISTORE_TEST_PG_BIN")
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("UNISTORE_TEST_PG_BIN is not set and CI=true: the store outage test must run in CI (use scripts/test.sh)")
		}
		t.Skip("UNISTORE_TEST_PG_BIN not set: store outage test skipped (scripts/test.sh sets it)")
	}
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres OS user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		// t.TempDir's parent is 0700 root: let postgres through to its own dir.
		if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	p := &privatePG{t: t, bin: bin, data: filepath.Join(dir, "data"), log: filepath.Join(dir, "server.log")}
	p.run("initdb", "-D", p.data, "-U", "postgres", "--auth=trust", "--no-sync", "--no-instructions")
	port := closedPort(t)
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
max_connections = 30
shared_buffers = 16MB
fsync = off
synchronous_commit = off
full_page_writes = off
`, port, dir)
	f, err := os.OpenFile(filepath.Join(p.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", port)
	p.Start()
	t.Cleanup(func() { _ = p.command("pg_ctl", "-D", p.data, "-w", "-t", "30", "stop", "-m", "immediate").Run() })
	return p
}

func (p *privatePG) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(p.bin, name)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (p *privatePG) run(name string, args ...string) {
	p.t.Helper()
	if out, err := p.command(name, args...).CombinedOutput(); err != nil {
		logText, _ := os.ReadFile(p.log)
		p.t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, logText)
	}
}

// Start starts the server and waits until it accepts connections.
func (p *privatePG) Start() { p.run("pg_ctl", "-D", p.data, "-l", p.log, "-w", "-t", "30", "start") }

// Stop stops it with fast shutdown: sessions are disconnected at once.
func (p *privatePG) Stop() { p.run("pg_ctl", "-D", p.data, "-w", "-t", "30", "stop", "-m", "fast") }

// The store goes down for ~3 s while executions stream through a Writer:
// the writer retries, recovers, and every row it counts as stored is in the
// table exactly once.
func TestStoreOutageWriterRecovers(t *testing.T) {
	pg := startPrivatePG(t)
	ctx := ctxT(t)
	if err := store.ApplySchema(ctx, pg.DSN); err != nil {
		t.Fatal(err)
	}
	st := open(t, pg.DSN)
	var failures atomic.Int64
	w := store.NewWriter(st.WriteExecutions, store.WriterConfig{
		Buffer: 100_000, BatchSize: 500, FlushInterval: 50 * time.Millisecond, FlushTimeout: 3 * time.Second,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
		OnError: func(error) { failures.Add(1) },
	})

	// ~4000 rows/s, each numbered in RowsAffected.
	var seq atomic.Int64
	stop := make(chan struct{})
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for range 20 {
				n := seq.Add(1)
				now := time.Now()
				w.Offer(store.Execution{RunID: "outage", WorkerID: "worker-0", Connection: int(n % 4), Operation: "get",
					Phase: core.PhaseMeasurement, StartedAt: now, EndedAt: now.Add(time.Millisecond), OK: true, RowsAffected: n})
			}
		}
	}()

	time.Sleep(time.Second)
	storedBefore := w.Stats().Stored
	pg.Stop()
	t.Logf("store stopped: %d rows stored before", storedBefore)
	time.Sleep(3 * time.Second)
	pg.Start()
	restartSeq := seq.Load()
	t.Logf("store started: %d rows produced so far, %d flush failures", restartSeq, failures.Load())

	// Recovery: rows produced after the restart reach the table.
	deadline := time.Now().Add(15 * time.Second)
	for w.Stats().Stored <= restartSeq {
		if time.Now().After(deadline) {
			t.Fatalf("writer did not recover: %+v", w.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	<-produced
	if err := w.Close(ctx); err != nil {
		t.Logf("Close: %v", err)
	}
	s := w.Stats()
	t.Logf("writer: %+v", s)
	checkInvariant(t, s)
	if s.Failures == 0 {
		t.Error("no flush failed: the outage was not seen")
	}
	inTable := testpg.QueryInt(t, pg.DSN, `SELECT COUNT(*) FROM test_results.query_executions`)
	distinct := testpg.QueryInt(t, pg.DSN, `SELECT COUNT(DISTINCT rows_affected) FROM test_results.query_executions`)
	if inTable != s.Stored || distinct != inTable {
		t.Errorf("table holds %d rows (%d distinct), writer stored %d", inTable, distinct, s.Stored)
	}
	after := testpg.QueryInt(t, pg.DSN, `SELECT COUNT(*) FROM test_results.query_executions WHERE rows_affected > $1`, restartSeq)
	if want := s.Produced - restartSeq; after != want || want == 0 {
		t.Errorf("rows produced after the restart: %d in the table, want all %d", after, want)
	}
	if s.Dropped != 0 {
		t.Errorf("dropped %d rows with a buffer large enough for the outage", s.Dropped)
	}
}
