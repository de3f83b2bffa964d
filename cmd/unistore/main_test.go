package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
	if code != 1 || !strings.Contains(stderr, `unknown driver "oracle" (forgotten import?)`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if strings.Contains(stderr, "tiger") {
		t.Errorf("password in stderr: %q", stderr)
	}
}

func TestQuickstartJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	stdout, stderr, code := unistore(t, "quickstart", "--duration", "1s", "--json", out)
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
