package main_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/examples"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
)

// TestServeRefusesOpenListen: no token, no network address; a token file
// that is missing or empty is an error, not "no token".
func TestServeRefusesOpenListen(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"serve", "--listen", "0.0.0.0:0"},
		{"serve", "--listen", ":0"},
		{"serve", "--listen", "127.0.0.1:0", "--token-file", empty},
		{"serve", "--listen", "127.0.0.1:0", "--token-file", filepath.Join(t.TempDir(), "missing")},
	} {
		_, stderr, code := unistore(t, args...)
		if code != 2 || !strings.Contains(stderr, "unistore:") {
			t.Errorf("%v: exit %d, stderr %q; want 2 with the reason", args, code, stderr)
		}
	}
}

// TestServeSIGTERM: serve with worker processes (the default) drives two
// runs at once (one of two workers); SIGTERM stops both — each stored with
// its summary and CANCELLED — and leaves no worker process behind.
func TestServeSIGTERM(t *testing.T) {
	dir := t.TempDir()
	storeDSN := "sqlite://" + filepath.Join(dir, "store.db")
	if out, err := execOut(bin, "schema", "apply", "--store", storeDSN); err != nil {
		t.Fatalf("schema apply: %v\n%s", err, out)
	}
	target := filepath.Join(dir, "target.db")
	if err := examples.SetupQuickstart(context.Background(), target, 1000); err != nil {
		t.Fatal(err)
	}
	const token = "serve-test-token"
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: storeDSN, dir: dir}
	p := f.start(t, "serve", "--listen", "127.0.0.1:0", "--store", storeDSN, "--token-file", tokenFile)
	line := p.waitLine(t, regexp.MustCompile(`"serve: listening" addr=`), 30*time.Second)
	base := "http://" + regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(line)[1]

	call := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	yaml := `name: serve-e2e
connections: 2
warmup: 0s
duration: 120s
rate: 400
workload:
  operations:
    - name: get
      sql: SELECT balance FROM accounts WHERE id = ?
      params: [{gen: uniform, min: 1, max: 1000}]
`
	var ids []string
	for _, workers := range []int{1, 2} {
		body, _ := json.Marshal(map[string]any{"spec_yaml": yaml, "target": "sqlite://" + target, "workers": workers})
		code, b := call("POST", "/api/v1/runs", string(body))
		if code != http.StatusCreated {
			t.Fatalf("POST run: %d %s", code, b)
		}
		var r struct {
			RunID string `json:"run_id"`
		}
		_ = json.Unmarshal(b, &r)
		ids = append(ids, r.RunID)
	}
	for _, id := range ids {
		eventually(t, 60*time.Second, "run "+id+" measuring", func() bool {
			code, b := call("GET", "/api/v1/runs/"+id, "")
			var r core.Result
			return code == 200 && json.Unmarshal(b, &r) == nil && r.Status == core.StatusRunning && r.Total.Count > 0
		})
	}
	st, err := store.Open(context.Background(), storeDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var pids []int
	for _, id := range ids {
		hbs, err := st.ListHeartbeats(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hbs {
			pids = append(pids, h.PID)
		}
	}
	if len(pids) != 3 {
		t.Errorf("%d worker heartbeats, want 3 (1 + 2 worker processes)", len(pids))
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Errorf("serve exited %d after SIGTERM, want 0", code)
	}
	for _, id := range ids {
		res, err := rollup.Result(context.Background(), st, id)
		if err != nil {
			t.Fatal(err)
		}
		run, _ := st.GetRun(context.Background(), id)
		if res.Status != core.StatusCancelled || len(run.Summary) == 0 || res.Total.Count == 0 {
			t.Errorf("run %s after SIGTERM: %s, summary %d bytes, %d operations; want CANCELLED with its summary",
				id, res.Status, len(run.Summary), res.Total.Count)
		}
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("worker process %d outlived serve", pid)
		}
	}
	if strings.Contains(p.stderr(), token) {
		t.Error("the token is in serve's output")
	}
}

func execOut(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// TestServeLauncherFlags: serve takes run's launcher flags and checks
// them before it opens the store or listens: a bad choice exits 2 with the
// reason, and never serves.
func TestServeLauncherFlags(t *testing.T) {
	sqlite := "sqlite://" + filepath.Join(t.TempDir(), "store.db")
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"kubernetes without image, on a SQLite store", []string{"--launcher", "kubernetes", "--store", sqlite},
			[]string{"serve --launcher kubernetes", "image: missing", "shared store"}},
		{"spcs, bad pool and a PostgreSQL store", []string{"--launcher", "spcs", "--compute-pool", "a pool", "--image", "/d/s/r/u:1",
			"--store", "postgres://u:Secr3t@127.0.0.1:1/x"}, []string{"serve --launcher spcs", "--compute-pool \"a pool\"", "need a snowflake:// store"}},
		{"unknown launcher", []string{"--launcher", "nomad", "--store", sqlite}, []string{"serve: --launcher \"nomad\"", "kubernetes", "spcs", "external"}},
		{"contradiction", []string{"--in-process", "--launcher", "kubernetes", "--store", sqlite}, []string{"serve: --in-process and --launcher kubernetes contradict"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := unistore(t, append([]string{"serve", "--listen", "127.0.0.1:0"}, c.args...)...)
			if code != 2 || strings.Contains(stdout, "serving") {
				t.Errorf("exit %d, stdout %q; want 2 before serving", code, stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "Secr3t") {
				t.Errorf("stderr holds a password:\n%s", stderr)
			}
		})
	}
	// Every API run gets an id of its own: serve has no --run-id.
	if _, _, code := unistore(t, "serve", "--listen", "127.0.0.1:0", "--store", sqlite, "--run-id", "x"); code == 0 {
		t.Error("serve --run-id: exit 0")
	}
}

// TestServeExternalLauncher: a run started through the API uses serve's
// --launcher. With external, serve starts no worker: the run waits for one
// started elsewhere with its id, as a pod applied from a manifest would
// be, follows it, and completes — its one heartbeat is that process's.
func TestServeExternalLauncher(t *testing.T) {
	f := newFixture(t)
	p := f.start(t, "serve", "--listen", "127.0.0.1:0", "--store", f.store, "--launcher", "external")
	line := p.waitLine(t, regexp.MustCompile(`"serve: listening" addr=`), 30*time.Second)
	base := "http://" + regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(line)[1]
	yaml, err := os.ReadFile(f.template(t, tmpl{Workers: 1, Duration: "2s"}))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"spec_yaml": string(yaml)})
	resp, err := http.Post(base+"/api/v1/runs", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST run: %d %s", resp.StatusCode, b)
	}
	var r struct {
		RunID string `json:"run_id"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.RunID == "" {
		t.Fatalf("POST run: %s", b)
	}
	w := f.start(t, "worker", "--run-id", r.RunID, "--group", "0", "--join-wait", "60s")
	var res core.Result
	eventually(t, 90*time.Second, "run "+r.RunID+" ended", func() bool {
		resp, err := http.Get(base + "/api/v1/runs/" + r.RunID)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&res) == nil && res.Status.Terminal()
	})
	if res.Status != core.StatusCompleted || res.Total.Count == 0 || res.Workers.Lost != 0 {
		t.Fatalf("run through serve --launcher external: %s, %d operations, %d lost\nworker:\n%s", res.Status, res.Total.Count, res.Workers.Lost, w.stderr())
	}
	if code := w.wait(t, 60*time.Second); code != 0 {
		t.Errorf("worker exited %d:\n%s", code, w.stderr())
	}
	hbs, err := f.st.ListHeartbeats(context.Background(), r.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hbs) != 1 || hbs[0].PID != w.cmd.Process.Pid {
		t.Errorf("heartbeats %+v: want one, of the worker we started (pid %d)", hbs, w.cmd.Process.Pid)
	}
}
