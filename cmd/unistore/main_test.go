package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/internal/testpg"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "unistore-cli-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "unistore")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		panic("build: " + err.Error() + "\n" + string(out))
	}
	// Every command gets a store of its own, never one in the source tree.
	os.Setenv("UNISTORE_STORE", "sqlite://"+filepath.Join(dir, "store.db"))
	if out, err := exec.Command(bin, "schema", "apply").CombinedOutput(); err != nil {
		panic("schema apply: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func unistore(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestBadTemplate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("name: bad\nconnections: 4\nwarmup: 5 parsecs\nworkload:\n  operations:\n    - name: a\n      sql: SELECT ?\n"), 0o644)
	_, stderr, code := unistore(t, "run", path)
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	for _, want := range []string{path + ":3:9: warmup: bad duration", path + ":6:7: workload.operations[0].params"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestUnknownDriver(t *testing.T) {
	_, stderr, code := unistore(t, "run", "../../examples/pgbench-select.yaml", "--target", "oracle://scott:tiger@127.0.0.1/x", "-d", "1s")
	if code != 2 || !strings.Contains(stderr, `--target: unknown driver "oracle" (forgotten import?); this unistore supports postgres://`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if strings.Contains(stderr, "tiger") {
		t.Errorf("password in stderr: %q", stderr)
	}
}

func TestQuickstartJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	stdout, stderr, code := unistore(t, "quickstart", "--duration", "3s", "--json", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "MEASUREMENT") {
		t.Errorf("no progress line on stderr:\n%s", stderr)
	}
	for _, op := range []string{"point_select", "range_scan", "update_balance", "insert_history", "TOTAL", "p99.9 ms"} {
		if !strings.Contains(stdout, op) {
			t.Errorf("summary lacks %q:\n%s", op, stdout)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		RunID       string `json:"run_id"`
		Status      string `json:"status"`
		Connections int    `json:"connections"`
		Warmup      struct {
			Count *int64 `json:"count"`
		} `json:"warmup"`
		Total      map[string]any            `json:"total"`
		Operations map[string]map[string]any `json:"operations"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.RunID == "" || r.Status != "COMPLETED" || r.Connections != 4 || r.Warmup.Count == nil || *r.Warmup.Count == 0 {
		t.Errorf("result header: %+v", r)
	}
	if len(r.Operations) != 4 {
		t.Errorf("%d operations in JSON, want 4", len(r.Operations))
	}
	var sum float64
	for name, op := range append([]map[string]any{r.Total}, valuesOf(r.Operations)...) {
		for _, k := range []string{"count", "errors", "qps"} {
			if _, ok := op[k].(float64); !ok {
				t.Errorf("entry %d lacks %s", name, k)
			}
		}
		lat, _ := op["latency_ms"].(map[string]any)
		for _, k := range []string{"mean", "p50", "p90", "p95", "p99", "p999", "max"} {
			if _, ok := lat[k].(float64); !ok {
				t.Errorf("entry %d lacks latency_ms.%s", name, k)
			}
		}
	}
	for _, op := range r.Operations {
		sum += op["count"].(float64)
	}
	if sum != r.Total["count"].(float64) {
		t.Errorf("operation counts sum to %v, total %v", sum, r.Total["count"])
	}
}

func valuesOf(m map[string]map[string]any) []map[string]any {
	var out []map[string]any
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestInterrupt: Ctrl-C stops the run, prints the summary, exits 130.
func TestInterrupt(t *testing.T) {
	cmd := exec.Command(bin, "quickstart", "--duration", "1h", "--db", filepath.Join(t.TempDir(), "q.db"))
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Wait for the first measurement progress line: the signal that load runs.
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "MEASUREMENT") {
			break
		}
	}
	go io.Copy(io.Discard, stderr)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	took := time.Since(sent)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("exit: %v, want status 130", err)
	}
	if took > 2*time.Second {
		t.Errorf("stopped %v after SIGINT", took)
	}
	if out := stdout.String(); !strings.Contains(out, "status CANCELLED") || !strings.Contains(out, "TOTAL") {
		t.Errorf("no summary after Ctrl-C:\n%s", out)
	}
}

// targetSpy listens where a run's target would be and counts the
// connections it gets: a run that fails on its store must make none.
func targetSpy(t *testing.T) (addr string, conns *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = new(atomic.Int64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String(), conns
}

// TestRunBadStoreBeforeLoad: `unistore run` with a dead store, or one
// without the schema, fails with a message about the store — the latter
// saying to run `unistore schema apply` — before it connects to the target.
func TestRunBadStoreBeforeLoad(t *testing.T) {
	const storeSecret, targetSecret = "store-pw-123", "tgt-pw-456"
	target, conns := targetSpy(t)
	deadPort := testpg.ClosedPort(t)
	cases := []struct {
		name  string
		store func(t *testing.T) string
		want  []string
	}{
		{"dead postgres", func(*testing.T) string {
			return fmt.Sprintf("postgres://bob:%s@127.0.0.1:%d/results?sslmode=disable&connect_timeout=2", storeSecret, deadPort)
		}, []string{"postgres store", fmt.Sprintf("127.0.0.1:%d", deadPort)}},
		{"sqlite without schema", func(t *testing.T) string {
			return "sqlite://" + filepath.Join(t.TempDir(), "empty.db")
		}, []string{"has no unistore schema", "unistore schema apply --store sqlite://"}},
		{"postgres without schema", func(t *testing.T) string {
			u := testpg.NewDatabase(t) // skips without a server
			return strings.Replace(u, "postgres@", "postgres:"+storeSecret+"@", 1)
		}, []string{"has no unistore schema", "unistore schema apply --store postgres://"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.store(t)
			_, stderr, code := unistore(t, "run", "../../examples/pgbench-select.yaml", "-d", "1s", "--warmup", "0s",
				"--target", fmt.Sprintf("postgres://postgres:%s@%s/bench?sslmode=disable&connect_timeout=2", targetSecret, target),
				"--store", st)
			if code == 0 {
				t.Fatalf("exit 0 with a bad store\n%s", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, target) {
				t.Errorf("the error is about the target, not the store:\n%s", stderr)
			}
			if strings.Contains(stderr, storeSecret) || strings.Contains(stderr, targetSecret) {
				t.Errorf("password in stderr:\n%s", stderr)
			}
			if n := conns.Load(); n != 0 {
				t.Errorf("the target got %d connections from a run whose store was unusable", n)
			}
			t.Logf("exit %d: %s", code, strings.TrimSpace(stderr))
		})
	}
}
