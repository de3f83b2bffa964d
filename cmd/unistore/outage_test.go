package main_test

// Store-outage tests: the results store is a private PostgreSQL cluster
// (testpg.StartPrivate) that the test stops and starts; the target stays
// up on the shared server. A store outage must never lose or distort a
// run: it ends on time with its full figures, exits 4 ("measured, not
// fully recorded") with what was not stored in the spool, and `runs
// recover` loads it so that `runs show` gives the result the run printed.

import (
	"context"
	"encoding/json"
	"fmt"
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

	"github.com/google/go-cmp/cmp"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/store"
)

// outageFixture is a fixture whose store is a private cluster, and whose
// runs spool to a directory of the test's.
func outageFixture(t *testing.T) (*fixture, *testpg.Private, string) {
	t.Helper()
	f := newFixture(t)
	priv := testpg.StartPrivate(t)
	if out, err := runBin("schema", "apply", "--store", priv.DSN); err != nil {
		t.Fatalf("schema apply: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, priv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.store, f.st = priv.DSN, st
	spool := t.TempDir()
	t.Setenv(store.EnvSpoolDir, spool)
	return f, priv, spool
}

func runBin(args ...string) ([]byte, error) {
	return exec.Command(bin, args...).CombinedOutput()
}

// readResult reads a --json result file.
func readCoreResult(t *testing.T, path string) core.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r core.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

var recordedIn = regexp.MustCompile(`run \S+ recorded in`)

// TestStoreDownOverRunEnd: the store goes down as measurement begins and
// stays down past the end of a 3 s run of two worker processes. STOP
// reaches them over their local channel, so the load ends on time; the
// result is computed from the snapshots they sent the orchestrator, so it
// is whole; what the store did not take is spooled, and the run exits 4.
// Once the store is back, `runs recover` loads the spool and `runs show`
// prints the result the run printed.
func TestStoreDownOverRunEnd(t *testing.T) {
	f, priv, spool := outageFixture(t)
	const duration = 3 * time.Second
	out := filepath.Join(t.TempDir(), "result.json")
	p := f.start(t, "run", f.template(t, tmpl{Duration: core.Duration(duration).String(), Workers: 2}),
		"--store", f.store, "--json", out)
	p.waitLine(t, measuring, 60*time.Second)
	id := f.runID(t)
	priv.Stop()
	down := time.Now()
	code := p.wait(t, 90*time.Second)
	t.Logf("exit %d, %v after the store went down (duration %v, flush timeout %v)", code, time.Since(down).Round(time.Millisecond),
		duration, 5*time.Second)
	stderr := p.stderr()
	if code != 4 {
		t.Errorf("exit %d, want 4 (measured, not fully recorded)", code)
	}
	if recordedIn.MatchString(stderr) {
		t.Errorf("says the run was recorded, though the store was down:\n%s", stderr)
	}
	if !strings.Contains(stderr, "NOT fully recorded") || !strings.Contains(stderr, "runs recover") {
		t.Errorf("stderr does not say the run is not fully recorded and how to recover it:\n%s", stderr)
	}
	// Quiet: one warning when the outage began; none per failed write, no
	// TLS attempts.
	if n := strings.Count(stderr, "results store unreachable"); n != 1 {
		t.Errorf("%d 'results store unreachable' warnings, want 1", n)
	}
	if n := strings.Count(stderr, "level=WARN"); n > 2 {
		t.Errorf("%d WARN lines during one outage, want at most 2:\n%s", n, stderr)
	}
	if strings.Contains(strings.ToLower(stderr), "tls") {
		t.Errorf("TLS noise on a loopback store without sslmode:\n%s", stderr)
	}

	printed := readCoreResult(t, out)
	if printed.RunID != id || printed.Name != "orchestrator-e2e" || printed.Connections != 2 || printed.Status != core.StatusCompleted {
		t.Errorf("result: run %q name %q connections %d status %s, want %s orchestrator-e2e 2 COMPLETED",
			printed.RunID, printed.Name, printed.Connections, printed.Status, id)
	}
	// On time: the load stopped when the duration ended, not when the
	// store came back (it never did while the run lasted).
	if printed.MeasuredSeconds < duration.Seconds()-1 || printed.MeasuredSeconds > duration.Seconds()+1.5 {
		t.Errorf("measured %.2fs, want about %v", printed.MeasuredSeconds, duration)
	}
	// Full figures: an open model at fixtureRate, every start counted.
	want := int64(float64(fixtureRate) * printed.MeasuredSeconds)
	if printed.Total.Count < want*7/10 {
		t.Errorf("measured %d operations in %.2fs, want about %d (rate %d/s)", printed.Total.Count, printed.MeasuredSeconds, want, fixtureRate)
	}
	if printed.Store == nil || printed.RowsSpooled == 0 || !printed.Store.StatusSpooled || printed.RowsDropped != 0 {
		t.Fatalf("store figures: spooled %d, dropped %d, %+v; want rows and the status spooled, none dropped",
			printed.RowsSpooled, printed.RowsDropped, printed.Store)
	}
	if got := printed.Store.SnapshotsSpooled + printed.Store.ExecutionsSpooled; got != printed.RowsSpooled {
		t.Errorf("rows_spooled %d, store says %d", printed.RowsSpooled, got)
	}
	if !strings.Contains(p.stdout.String(), "not fully recorded") {
		t.Errorf("the summary does not say what went unstored:\n%s", p.stdout.String())
	}

	priv.Start()
	stdout, stderr2, code := f.unistore(t, "runs", "recover", "--store", f.store, "--spool-dir", spool)
	if code != 0 || !strings.Contains(stdout, id) || !strings.Contains(stdout, "status COMPLETED") {
		t.Fatalf("runs recover: exit %d\n%s%s", code, stdout, stderr2)
	}
	t.Logf("runs recover: %s", strings.TrimSpace(stdout))
	if r := f.getRun(t, id); r.Status != core.StatusCompleted || r.Phase != core.PhaseDone {
		t.Errorf("RUN_STATUS after recover: %s %s, want COMPLETED DONE", r.Status, r.Phase)
	}
	stdout, stderr2, code = f.unistore(t, "runs", "show", id, "--json", "--store", f.store)
	if code != 0 {
		t.Fatalf("runs show: exit %d\n%s", code, stderr2)
	}
	var shown core.Result
	if err := json.Unmarshal([]byte(stdout), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Store == nil || shown.Store.RecoveredAt == nil {
		t.Errorf("runs show: the summary does not say it was recovered: %+v", shown.Store)
	} else {
		shown.Store.RecoveredAt = nil
	}
	if diff := cmp.Diff(printed, shown); diff != "" {
		t.Errorf("runs show differs from the printed result (-printed +shown):\n%s", diff)
	}
	snaps := len(f.snapshots(t, id))

	// Loading again stores nothing twice: the spool is gone, and the
	// batches it held are known by id (store tests load one twice).
	stdout, _, code = f.unistore(t, "runs", "recover", "--store", f.store, "--spool-dir", spool)
	if code != 0 || !strings.Contains(stdout, "nothing spooled") {
		t.Errorf("second runs recover: exit %d: %s", code, stdout)
	}
	if again := len(f.snapshots(t, id)); again != snaps {
		t.Errorf("%d snapshot rows after a second recover, %d before", again, snaps)
	}
	stdout, _, _ = f.unistore(t, "runs", "list", "--store", f.store)
	if !strings.Contains(stdout, "rows spooled, recovered") {
		t.Errorf("runs list does not show the spooled rows:\n%s", stdout)
	}
}

// TestCtrlCWithStoreDown: with the store down, one Ctrl-C ends the run
// within the flush timeout (control.DefaultFlushTimeout, 5 s), from the
// signal to the exit — the workers' flush and the final status's try
// share that one window — with the summary printed, the status spooled
// and exit 4; a second Ctrl-C ends it at once (the workers get a second
// to spool). A --flush-timeout reaches the worker processes: they wait
// that long, not the default, before they spool during the outage (their
// log says so), and the stop fits it.
func TestCtrlCWithStoreDown(t *testing.T) {
	again := regexp.MustCompile(`Ctrl-C again`)
	for _, tc := range []struct {
		name    string
		workers string
		signals int
		flush   time.Duration // --flush-timeout; 0: the default
	}{
		{"inprocess_one_signal", "1", 1, 0},
		{"processes_one_signal", "2", 1, 0},
		{"processes_two_signals", "2", 2, 0},
		{"processes_flush_timeout", "2", 1, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, priv, spool := outageFixture(t)
			out := filepath.Join(t.TempDir(), "result.json")
			args := []string{"run", f.template(t, tmpl{Duration: "1h"}), "--workers", tc.workers, "--store", f.store, "--json", out}
			flush := control.DefaultFlushTimeout
			if tc.flush > 0 {
				flush = tc.flush
				args = append(args, "--flush-timeout", tc.flush.String())
			}
			p := f.start(t, args...)
			p.waitLine(t, measuring, 60*time.Second)
			priv.Stop()
			// Measurement goes on while the store is down: the progress
			// lines come from the workers' local channels.
			p.waitLine(t, regexp.MustCompile(`results store unreachable`), 30*time.Second)
			eventually(t, 30*time.Second, "a progress line while the store is down", func() bool {
				s := p.stderr()
				i := strings.Index(s, "results store unreachable")
				return measuring.MatchString(s[i:]) || regexp.MustCompile(`(?m)^\s+\S+ MEASUREMENT qps`).MatchString(s[i:])
			})
			sent := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			// The first signal is taken once the process says so: two
			// signals sent back to back may arrive as one.
			p.waitLine(t, again, 10*time.Second)
			second := time.Now()
			if tc.signals == 2 {
				if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
					t.Fatal(err)
				}
			}
			code := p.wait(t, 60*time.Second)
			took := time.Since(sent)
			t.Logf("%d SIGINT: exit %d after %v (%v after the second)", tc.signals, code, took.Round(time.Millisecond),
				time.Since(second).Round(time.Millisecond))
			// The budget itself, no margin: the window's last fifth is the
			// final status's, which gets one quick try with the store down,
			// so the process exits about a second before the window ends.
			if took > flush {
				t.Errorf("exited %v after Ctrl-C, want within the flush timeout (%v)", took, flush)
			}
			// At once: the Hurry leaves the workers a second to spool.
			if limit := 2 * time.Second; tc.signals == 2 && time.Since(second) > limit {
				t.Errorf("exited %v after the second Ctrl-C, want at once (a second for the workers to spool; with the process's exit, %v)",
					time.Since(second), limit)
			}
			if code != 4 {
				t.Errorf("exit %d, want 4", code)
			}
			r := readCoreResult(t, out)
			if r.Status != core.StatusCancelled || r.Total.Count == 0 || r.RowsDropped != 0 || r.Store == nil || !r.Store.StatusSpooled {
				t.Errorf("result: status %s, %d ops, dropped %d, store %+v; want CANCELLED, ops, none dropped, status spooled",
					r.Status, r.Total.Count, r.RowsDropped, r.Store)
			}
			if !strings.Contains(p.stdout.String(), "not fully recorded") {
				t.Errorf("summary:\n%s", p.stdout.String())
			}
			if !strings.Contains(p.stderr(), "its final status spooled") {
				t.Errorf("stderr does not say the final status was spooled:\n%s", p.stderr())
			}
			if tc.workers != "1" {
				// Each worker process logs the flush timeout it holds when
				// its store writes first fail.
				want := fmt.Sprintf("spool_after=%v", flush)
				for _, w := range []string{"worker-0", "worker-1"} {
					if !regexp.MustCompile(`(?m)^` + w + `: .*store writes failing.*` + regexp.QuoteMeta(want)).MatchString(p.stderr()) {
						t.Errorf("%s does not say it spools after %v (%s):\n%s", w, flush, want, p.stderr())
					}
				}
			}
			// The snapshots cut while the store was down were spooled,
			// with the final status, before the exit.
			files, _ := filepath.Glob(filepath.Join(spool, r.RunID, "*"))
			t.Logf("spooled: %d rows, files %v", r.RowsSpooled, files)
			if r.RowsSpooled == 0 || len(files) < 2 {
				t.Errorf("spooled %d rows in %d files, want rows and the status", r.RowsSpooled, len(files))
			}
		})
	}
}

// TestServeSecondSignalHurries: `unistore serve` drives a run of two
// worker processes when the store goes down. The first SIGTERM stops the
// run (its workers flush for up to the flush timeout); a second one
// hurries it, as a second Ctrl-C does to `unistore run`: the workers
// spool what the store has not taken, the final status is spooled, and
// serve exits at once, leaving no worker behind. (Without the hurry, a
// second signal exited there and then: nothing spooled the status.)
func TestServeSecondSignalHurries(t *testing.T) {
	f, priv, spool := outageFixture(t)
	p := f.start(t, "serve", "--listen", "127.0.0.1:0", "--store", f.store)
	line := p.waitLine(t, regexp.MustCompile(`"serve: listening" addr=`), 30*time.Second)
	base := "http://" + regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(line)[1]
	call := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	yaml, err := os.ReadFile(f.template(t, tmpl{Duration: "1h", Workers: 2}))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"spec_yaml": string(yaml)})
	code, b := call("POST", "/api/v1/runs", string(body))
	if code != http.StatusCreated {
		t.Fatalf("POST run: %d %s", code, b)
	}
	var created struct {
		RunID string `json:"run_id"`
	}
	_ = json.Unmarshal(b, &created)
	id := created.RunID
	eventually(t, 60*time.Second, "run "+id+" measuring", func() bool {
		code, b := call("GET", "/api/v1/runs/"+id, "")
		var r core.Result
		return code == 200 && json.Unmarshal(b, &r) == nil && r.Status == core.StatusRunning && r.Total.Count > 0
	})
	var pids []int
	eventually(t, 30*time.Second, "two worker heartbeats", func() bool {
		hbs, err := f.st.ListHeartbeats(context.Background(), id)
		pids = pids[:0]
		for _, h := range hbs {
			pids = append(pids, h.PID)
		}
		return err == nil && len(pids) == 2
	})

	priv.Stop()
	p.waitLine(t, regexp.MustCompile(`results store unreachable`), 30*time.Second)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The first signal is taken once serve says so: two signals sent
	// back to back may arrive as one.
	p.waitLine(t, regexp.MustCompile(`again to spool`), 10*time.Second)
	second := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code = p.wait(t, 60*time.Second)
	took := time.Since(second)
	t.Logf("serve: exit %d %v after the second SIGTERM", code, took.Round(time.Millisecond))
	if code != 0 {
		t.Errorf("serve exited %d, want 0 (it stopped its runs and spooled them)", code)
	}
	// At once: the hurry leaves the workers a second to spool.
	if limit := 2 * time.Second; took > limit {
		t.Errorf("serve exited %v after the second SIGTERM, want at once (a second for the workers to spool; with the exit, %v)", took, limit)
	}
	if _, err := os.Stat(filepath.Join(spool, id, "status.json")); err != nil {
		t.Errorf("the run's final status is not in the spool: %v", err)
	}
	rows, _ := filepath.Glob(filepath.Join(spool, id, "worker-*"))
	if len(rows) == 0 {
		t.Errorf("no worker rows in the spool (%s)", filepath.Join(spool, id))
	}
	if !strings.Contains(p.stderr(), "NOT fully recorded") {
		t.Errorf("serve does not say the run is not fully recorded:\n%s", p.stderr())
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("worker process %d outlived serve", pid)
		}
	}

	// Once the store is back, the run recovers as CANCELLED.
	priv.Start()
	stdout, stderr, code := f.unistore(t, "runs", "recover", "--store", f.store, "--spool-dir", spool)
	if code != 0 || !strings.Contains(stdout, id) || !strings.Contains(stdout, "status CANCELLED") {
		t.Errorf("runs recover: exit %d\n%s%s", code, stdout, stderr)
	}
}
