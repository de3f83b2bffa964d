package testpg

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// EnvBin is the variable naming the PostgreSQL binaries' directory
// (initdb, pg_ctl), set by scripts/test.sh.
const EnvBin = "UNISTORE_TEST_PG_BIN"

// Private is a PostgreSQL cluster of one test's own, which the test may
// stop and start without disturbing the shared server other tests use.
type Private struct {
	// DSN reaches the cluster's postgres database as the superuser
	// postgres (trust authentication: any password is accepted).
	DSN string

	t    testing.TB
	bin  string
	data string
	log  string
}

// StartPrivate initialises and starts a cluster in t.TempDir() on a free
// loopback port — as the postgres OS user when the test runs as root — and
// stops it when the test ends. The binaries come from UNISTORE_TEST_PG_BIN;
// without it the test skips, or fails under CI=true.
func StartPrivate(t testing.TB) *Private {
	t.Helper()
	bin := os.Getenv(EnvBin)
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set and CI=true: tests with a private PostgreSQL must run in CI (use scripts/test.sh)", EnvBin)
		}
		t.Skipf("%s not set: test with a private PostgreSQL skipped (scripts/test.sh sets it)", EnvBin)
	}
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("testpg: running as root needs a postgres OS user: %v", err)
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
	p := &Private{t: t, bin: bin, data: filepath.Join(dir, "data"), log: filepath.Join(dir, "server.log")}
	p.run("initdb", "-D", p.data, "-U", "postgres", "--auth=trust", "--no-sync", "--no-instructions")
	port := ClosedPort(t)
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

func (p *Private) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(p.bin, name)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (p *Private) run(name string, args ...string) {
	p.t.Helper()
	if out, err := p.command(name, args...).CombinedOutput(); err != nil {
		logText, _ := os.ReadFile(p.log)
		p.t.Fatalf("testpg: %s %v: %v\n%s\n%s", name, args, err, out, logText)
	}
}

// Start starts the server and waits until it accepts connections. Call it
// from the test's goroutine: it fails the test on error.
func (p *Private) Start() { p.run("pg_ctl", "-D", p.data, "-l", p.log, "-w", "-t", "30", "start") }

// Stop stops the server with fast shutdown: sessions are disconnected at
// once. Call it from the test's goroutine: it fails the test on error.
func (p *Private) Stop() { p.run("pg_ctl", "-D", p.data, "-w", "-t", "30", "stop", "-m", "fast") }

// ClosedPort returns a loopback port nothing listens on (at the moment of
// the call).
func ClosedPort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
