package main_test

// End-to-end tests of the orchestrator: real `unistore run`, `worker`,
// `stop` and `scale` processes, a real PostgreSQL results store and a real
// PostgreSQL target (UNISTORE_TEST_PG_DSN; scripts/test.sh starts one).
//
// Every test gets a fresh target database (table t, 1000 rows) and a fresh
// store database (`unistore schema apply`). The load is an open model at a
// low rate (fixtureRate) so the tests measure the control plane, not a
// saturated 2-core machine. Every run is bounded in time, every process a
// test starts is killed in t.Cleanup (worker processes too, found through
// their heartbeat rows), and waiting is on signals — progress lines,
// store rows polled against a deadline — never on a bare sleep.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"crypto/rand"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/workload"
)

// Control timings of the tests' runs. The poll is the one the STOP bound is
// stated in; heartbeat_timeout and lease leave room for a machine whose
// cores are shared with other work.
const (
	testPoll             = 100 * time.Millisecond
	testHeartbeat        = 200 * time.Millisecond
	testHeartbeatTimeout = 2 * time.Second
	testLease            = 3 * time.Second
	fixtureRate          = 600 // operations/s for the whole run
)

// fixture is one test's target and store.
type fixture struct {
	target string // target DSN, with an application_name of its own
	app    string // that application_name
	store  string // store DSN
	st     store.Store
	dir    string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	f := &fixture{app: "unistore_e2e_" + hex.EncodeToString(b[:]), dir: t.TempDir()}
	target := testpg.NewDatabase(t)
	testpg.Exec(t, target, "CREATE TABLE t (id bigint PRIMARY KEY, v bigint NOT NULL)",
		"INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g")
	f.target = target + "&application_name=" + f.app
	f.store = testpg.NewDatabase(t)
	if out, err := exec.Command(bin, "schema", "apply", "--store", f.store).CombinedOutput(); err != nil {
		t.Fatalf("schema apply: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, f.store)
	if err != nil {
		t.Fatal(err)
	}
	f.st = st
	// Registered after the databases: runs first, so every worker is gone
	// before its database is dropped.
	t.Cleanup(func() {
		f.killWorkers(t)
		st.Close()
	})
	return f
}

// tmpl are a template's settings.
type tmpl struct {
	Connections      int
	Warmup, Duration string
	Workers          int // 0: not in the template
	MaxRelaunches    int
	DefaultControl   bool // no control section: the default timings
}

// template writes a template file and returns its path.
func (f *fixture) template(t testing.TB, o tmpl) string {
	t.Helper()
	if o.Connections == 0 {
		o.Connections = 2
	}
	if o.Warmup == "" {
		o.Warmup = "1s"
	}
	if o.Duration == "" {
		o.Duration = "3s"
	}
	var extra string
	if o.Workers > 0 {
		extra += fmt.Sprintf("workers: %d\n", o.Workers)
	}
	relaunch := ""
	if o.MaxRelaunches != 0 {
		relaunch = fmt.Sprintf(", max_relaunches: %d", o.MaxRelaunches)
	}
	control := fmt.Sprintf("control: {poll: %s, heartbeat: %s, heartbeat_timeout: %s, lease: %s%s}\n",
		core.Duration(testPoll), core.Duration(testHeartbeat), core.Duration(testHeartbeatTimeout), core.Duration(testLease), relaunch)
	if o.DefaultControl {
		control = ""
	}
	body := fmt.Sprintf(`name: orchestrator-e2e
target: {dsn: %q}
connections: %d
warmup: %s
duration: %s
rate: %d
seed: 7
capture: none
%s%sworkload:
  operations:
    - name: get
      weight: 3
      sql: SELECT v FROM t WHERE id = ?
      params: [{gen: uniform, min: 1, max: 1000}]
    - name: bump
      weight: 1
      sql: UPDATE t SET v = v + 1 WHERE id = ?
      params: [{gen: uniform, min: 1, max: 1000}]
`, f.target, o.Connections, o.Warmup, o.Duration, fixtureRate, extra, control)
	path := filepath.Join(f.dir, fmt.Sprintf("t%d.yaml", time.Now().UnixNano()))
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// proc is a started unistore process whose stderr is read line by line.
type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	mu     sync.Mutex
	lines  []string
	more   chan struct{} // closed and replaced on every new line
	done   chan struct{}
	code   int // exit code; -1 if killed by a signal
	exited time.Time
}

// start starts bin with args, the store in the environment, and kills it
// when the test ends.
func (f *fixture) start(t testing.TB, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), more: make(chan struct{}), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "UNISTORE_STORE="+f.store)
	p.cmd.Stdout = &p.stdout
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.more)
			p.more = make(chan struct{})
			p.mu.Unlock()
		}
		err := p.cmd.Wait()
		p.exited = time.Now()
		p.code = p.cmd.ProcessState.ExitCode()
		_ = err
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("stderr of %s:\n%s", strings.Join(args, " "), p.stderr())
		}
	})
	return p
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitLine waits for a stderr line matching re and returns it.
func (p *proc) waitLine(t testing.TB, re *regexp.Regexp, limit time.Duration) string {
	t.Helper()
	deadline := time.After(limit)
	for i := 0; ; {
		p.mu.Lock()
		for ; i < len(p.lines); i++ {
			if re.MatchString(p.lines[i]) {
				l := p.lines[i]
				p.mu.Unlock()
				return l
			}
		}
		more := p.more
		p.mu.Unlock()
		select {
		case <-more:
		case <-p.done:
			// The reader closes done after the last line: one more pass.
			p.mu.Lock()
			n := len(p.lines)
			p.mu.Unlock()
			if i == n {
				t.Fatalf("process exited (status %d) before a line matching %q; stderr:\n%s", p.code, re, p.stderr())
			}
		case <-deadline:
			t.Fatalf("no line matching %q within %s; stderr:\n%s", re, limit, p.stderr())
		}
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t testing.TB, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(limit):
		t.Fatalf("%s still running after %s; stderr:\n%s", strings.Join(p.cmd.Args, " "), limit, p.stderr())
		return 0
	}
}

var measuring = regexp.MustCompile(`^\s+\S+ MEASUREMENT qps`)

// runID waits for the run's row and returns its id: the store holds one
// run per fixture.
func (f *fixture) runID(t testing.TB) string {
	t.Helper()
	var id string
	eventually(t, 20*time.Second, "the run's row", func() bool {
		runs, err := f.st.ListRuns(context.Background(), store.RunFilter{})
		if err == nil && len(runs) == 1 {
			id = runs[0].ID
		}
		return id != ""
	})
	return id
}

// eventually polls cond every 20 ms until it holds, failing after limit.
func eventually(t testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func (f *fixture) heartbeats(t testing.TB, runID string) []store.Heartbeat {
	t.Helper()
	hbs, err := f.st.ListHeartbeats(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	return hbs
}

func (f *fixture) getRun(t testing.TB, runID string) store.Run {
	t.Helper()
	r, err := f.st.GetRun(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) events(t testing.TB, runID string) []store.Event {
	t.Helper()
	ev, err := f.st.EventsSince(context.Background(), runID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func (f *fixture) snapshots(t testing.TB, runID string) []store.Snapshot {
	t.Helper()
	rows, err := f.st.Snapshots(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

var hostname, _ = os.Hostname()

// alive reports whether pid is a live unistore process of this test
// binary's build (not a zombie, not a recycled pid of someone else's).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' {
		return false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && exe == bin
}

// killWorkers SIGKILLs every worker process of this fixture's store that
// still runs on this machine: the processes `unistore run` spawned.
func (f *fixture) killWorkers(t testing.TB) {
	runs, err := f.st.ListRuns(context.Background(), store.RunFilter{})
	if err != nil {
		t.Logf("cleanup: list runs: %v", err)
		return
	}
	for _, r := range runs {
		hbs, _ := f.st.ListHeartbeats(context.Background(), r.ID)
		for _, h := range hbs {
			if h.Host == hostname && h.PID > 0 && alive(h.PID) {
				_ = syscall.Kill(h.PID, syscall.SIGKILL)
			}
		}
	}
}

// result is the part of the JSON result the tests read.
type result struct {
	RunID   string `json:"run_id"`
	Status  string `json:"status"`
	Workers struct {
		Target     int `json:"target"`
		Lost       int `json:"lost"`
		Relaunched int `json:"relaunched"`
		Gaps       []struct {
			Group  int       `json:"group"`
			LostAt time.Time `json:"lost_at"`
			BackAt time.Time `json:"back_at"`
			Reason string    `json:"reason"`
		} `json:"gaps"`
	} `json:"workers"`
	Total core.OpStats     `json:"total"`
	Store *core.StoreStats `json:"store"`
}

func readResult(t testing.TB, path string) result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// TestWorkersRollup: three worker processes complete a run, and the
// rollup is exactly the merge of their stored snapshots.
func TestWorkersRollup(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(f.dir, "out.json")
	p := f.start(t, "run", f.template(t, tmpl{}), "--workers", "3", "--store", f.store, "--json", out)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, p.stderr())
	}
	res := readResult(t, out)
	if res.Status != "COMPLETED" {
		t.Fatalf("status %s", res.Status)
	}
	rows := f.snapshots(t, res.RunID)
	merged := metrics.NewHistogram()
	var count int64
	snapWorkers := map[string]bool{}
	for _, r := range rows {
		snapWorkers[r.WorkerID] = true
		if r.Phase != core.PhaseMeasurement {
			continue
		}
		count += r.Count
		h, err := metrics.Decode(r.Histogram)
		if err != nil {
			t.Fatal(err)
		}
		if dropped := merged.Merge(h); dropped != 0 {
			t.Fatalf("merge dropped %d values", dropped)
		}
	}
	if count == 0 || res.Total.Count != count {
		t.Errorf("rollup count %d, sum of the workers' measurement snapshots %d", res.Total.Count, count)
	}
	if got, want := res.Total.Latency, metrics.Latency(merged); got != want {
		t.Errorf("rollup latency %+v, direct merge of the snapshots %+v", got, want)
	}
	hbWorkers := map[string]bool{}
	groups := map[int]bool{}
	for _, h := range f.heartbeats(t, res.RunID) {
		hbWorkers[h.WorkerID] = true
		groups[h.Group] = true
	}
	if len(groups) != 3 || len(snapWorkers) < 3 || len(hbWorkers) < 3 {
		t.Errorf("groups %v heartbeated; workers with heartbeats %v, with snapshots %v", groups, hbWorkers, snapWorkers)
	}
	// Distinct ids: three, plus one per relaunch (a loss on a busy machine).
	if want := 3 + res.Workers.Relaunched; len(hbWorkers) != want || len(snapWorkers) != want {
		t.Errorf("%d worker ids heartbeated, %d wrote snapshots, want %d (%d relaunched)", len(hbWorkers), len(snapWorkers), want, res.Workers.Relaunched)
	}
	// The JSON's store figures are there with worker processes too, and
	// are what the store holds.
	if res.Store == nil || res.Store.SnapshotsStored != int64(len(rows)) {
		t.Errorf("store figures %+v, want snapshots_stored %d (the rows in the store)", res.Store, len(rows))
	}
	t.Logf("run %s: %d measured operations over %d snapshot rows from %d workers; p99 %.3f ms", res.RunID, count, len(rows), len(snapWorkers), res.Total.Latency.P99)
}

// TestKillWorker: a worker process killed with SIGKILL is declared lost and
// relaunched in its group; the run still completes.
func TestKillWorker(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(f.dir, "out.json")
	p := f.start(t, "run", f.template(t, tmpl{Duration: "4s"}), "--workers", "2", "--store", f.store, "--json", out)
	p.waitLine(t, measuring, 30*time.Second)
	id := f.runID(t)
	victim, killed := f.killAndRelaunch(t, id, 1, 15*time.Second)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run exited %d", code)
	}
	run := f.getRun(t, id)
	if run.Status != core.StatusCompleted || run.WorkersLost < 1 {
		t.Errorf("RUN_STATUS: status %s, workers_lost %d", run.Status, run.WorkersLost)
	}
	res := readResult(t, out)
	gap := false
	for _, g := range res.Workers.Gaps {
		if g.Group == victim.Group {
			gap = true
			t.Logf("gap of group %d: lost %s, back %s later (%s)", g.Group, g.LostAt.Sub(killed).Round(time.Millisecond),
				g.BackAt.Sub(g.LostAt).Round(time.Millisecond), g.Reason)
		}
	}
	if res.Status != "COMPLETED" || res.Workers.Lost < 1 || res.Workers.Relaunched < 1 || !gap {
		t.Errorf("result: status %s, workers %+v; want a gap for group %d", res.Status, res.Workers, victim.Group)
	}
}

// killAndRelaunch SIGKILLs the process of group's first worker and waits
// up to limit for its relaunch (attempt 1) to heartbeat RUNNING. The
// Snowflake variant of the tests shares it (snowflake_workers_test.go).
func (f *fixture) killAndRelaunch(t testing.TB, id string, group int, limit time.Duration) (victim store.Heartbeat, killed time.Time) {
	t.Helper()
	name, relaunch := control.WorkerID(group, 0), control.WorkerID(group, 1)
	for _, h := range f.heartbeats(t, id) {
		if h.WorkerID == name {
			victim = h
		}
	}
	if victim.Host != hostname || !alive(victim.PID) {
		t.Fatalf("%s's heartbeat %+v names no live process here", name, victim)
	}
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = time.Now()
	took := eventually(t, limit, "relaunched "+relaunch+" heartbeats", func() bool {
		for _, h := range f.heartbeats(t, id) {
			if h.WorkerID == relaunch && h.Group == victim.Group && h.Status == "RUNNING" {
				return true
			}
		}
		return false
	})
	t.Logf("killed %s (pid %d); %s heartbeated %v later", name, victim.PID, relaunch, took.Round(time.Millisecond))
	return victim, killed
}

// scaleTo runs `unistore scale` (unless perWorker is the run's current
// count, first) and waits until the running workers hold workers ×
// perWorker connections by their heartbeats and, if conns is set, on the
// target's side too.
func (f *fixture) scaleTo(t testing.TB, id string, workers, perWorker int, scale bool, conns func() int64, limit time.Duration) {
	t.Helper()
	if scale {
		if out, err := exec.Command(bin, "scale", id, "--connections", strconv.Itoa(perWorker), "--store", f.store).CombinedOutput(); err != nil {
			t.Fatalf("scale: %v\n%s", err, out)
		}
	}
	want := int64(workers * perWorker)
	// Each group's newest attempt: a killed worker's row still says RUNNING.
	heldByWorkers := func() int64 {
		newest := map[int]store.Heartbeat{}
		for _, h := range f.heartbeats(t, id) {
			if cur, ok := newest[h.Group]; !ok || control.AttemptOf(h.WorkerID) > control.AttemptOf(cur.WorkerID) {
				newest[h.Group] = h
			}
		}
		var n int64
		for _, h := range newest {
			if h.Status == "RUNNING" {
				n += int64(h.Connections)
			}
		}
		return n
	}
	took := eventually(t, limit, fmt.Sprintf("%d connections held", want), func() bool {
		return heldByWorkers() == want && (conns == nil || conns() == want)
	})
	t.Logf("%d per worker: %d connections of the run held after %v", perWorker, want, took.Round(time.Millisecond))
}

// stopRun runs `unistore stop` for id.
func (f *fixture) stopRun(t testing.TB, id string) {
	t.Helper()
	if out, err := exec.Command(bin, "stop", id, "--store", f.store).CombinedOutput(); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
}

var workerStopped = regexp.MustCompile(`^(worker-\S+): time=(\S+) level=INFO msg="worker: stopped"`)

// stopSlack is what the STOP bound allows beyond two polls: process
// scheduling on a shared 2-core machine, the store round trips of the
// poll, and the worker's flush before it logs "worker: stopped".
const stopSlack = 300 * time.Millisecond

// TestStopReachesWorkers: `unistore stop` reaches every worker within two
// polls, and the run exits 5 (stopped on request: not 130, which is Ctrl-C).
func TestStopReachesWorkers(t *testing.T) {
	f := newFixture(t)
	p := f.start(t, "run", f.template(t, tmpl{Duration: "1h"}), "--workers", "3", "--store", f.store)
	p.waitLine(t, measuring, 30*time.Second)
	id := f.runID(t)
	f.stopRun(t, id)
	requested := time.Now()
	code := p.wait(t, 30*time.Second)
	exit := p.exited.Sub(requested)
	if code != 5 {
		t.Errorf("run exited %d after an external stop, want 5 (stopped on request)", code)
	}
	var stopAt time.Time
	var kinds []control.EventKind
	for _, e := range f.events(t, id) {
		kinds = append(kinds, e.Kind)
		if e.Kind == control.EventStop {
			stopAt = e.CreatedAt
		}
	}
	// One STOP: the orchestrator does not append its own after a user's.
	if want := []control.EventKind{control.EventStart, control.EventSetPhase, control.EventStop}; !slices.Equal(kinds, want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
	if stopAt.IsZero() {
		t.Fatal("no STOP event")
	}
	// The worker's own view: its last snapshot interval ends when it acted
	// on STOP (the loops stop right after the poll that saw it).
	lastCut := map[string]time.Time{}
	for _, r := range f.snapshots(t, id) {
		if r.IntervalEnd.After(lastCut[r.WorkerID]) {
			lastCut[r.WorkerID] = r.IntervalEnd
		}
	}
	bound := 2*testPoll + stopSlack
	seen := map[string]bool{}
	var figures []string
	for _, l := range strings.Split(p.stderr(), "\n") {
		m := workerStopped.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[2])
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		seen[m[1]] = true
		lat := at.Sub(stopAt)
		figures = append(figures, fmt.Sprintf("%s stopped +%v (last interval cut +%v)", m[1], lat.Round(time.Millisecond),
			lastCut[m[1]].Sub(stopAt).Round(time.Millisecond)))
		if lat > bound {
			t.Errorf("%s logged \"worker: stopped\" %v after STOP, want ≤ 2×poll + %v = %v", m[1], lat, stopSlack, bound)
		}
	}
	sort.Strings(figures)
	t.Logf("STOP at %s; %s; run exited %d, %v after `unistore stop` returned", stopAt.Format("15:04:05.000"),
		strings.Join(figures, "; "), code, exit.Round(time.Millisecond))
	for _, w := range []string{"worker-0", "worker-1", "worker-2"} {
		if !seen[w] {
			t.Errorf("%s never logged \"worker: stopped\"", w)
		}
	}
	if exit > 10*time.Second {
		t.Errorf("run took %v to exit after the stop", exit)
	}
	if run := f.getRun(t, id); run.Status != core.StatusCancelled {
		t.Errorf("RUN_STATUS status %s, want CANCELLED", run.Status)
	}
}

// TestScaleConnections: `unistore scale` moves two workers from 4 to 8 to
// 2 connections each, i.e. 8 → 16 → 4 connections of the run in
// pg_stat_activity.
func TestScaleConnections(t *testing.T) {
	f := newFixture(t)
	p := f.start(t, "run", f.template(t, tmpl{Connections: 4, Warmup: "0s", Duration: "1h"}), "--workers", "2", "--store", f.store)
	p.waitLine(t, measuring, 30*time.Second)
	id := f.runID(t)
	admin := testpg.DSN(t)
	conns := func() int64 {
		return testpg.QueryInt(t, admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", f.app)
	}
	for i, perWorker := range []int{4, 8, 2} {
		f.scaleTo(t, id, 2, perWorker, i > 0, conns, 15*time.Second)
	}
	f.stopRun(t, id)
	if code := p.wait(t, 30*time.Second); code != 5 {
		t.Errorf("run exited %d, want 5 (stopped on request)", code)
	}
	eventually(t, 10*time.Second, "no connection of the run left", func() bool { return conns() == 0 })
}

// TestOrchestratorKilled: with the `unistore run` process killed, its
// workers stop by themselves within the lease (at once, in fact: their
// local channel closes); once the lease has lapsed
// `unistore stop` marks the run FAILED (orchestrator lost) and says so,
// `runs list` shows it so, and `runs show` still reads its figures.
func TestOrchestratorKilled(t *testing.T) {
	f := newFixture(t)
	p := f.start(t, "run", f.template(t, tmpl{Duration: "1h"}), "--workers", "2", "--store", f.store)
	p.waitLine(t, measuring, 30*time.Second)
	id := f.runID(t)
	var pids []int
	for _, h := range f.heartbeats(t, id) {
		if h.Status == "RUNNING" && h.Host == hostname && alive(h.PID) {
			pids = append(pids, h.PID)
		}
	}
	if len(pids) != 2 {
		t.Fatalf("live worker pids %v, want 2", pids)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	limit := testLease + 2*time.Second
	gone := map[int]time.Duration{}
	eventually(t, limit, "every worker gone", func() bool {
		for _, pid := range pids {
			if _, ok := gone[pid]; !ok && !alive(pid) {
				gone[pid] = time.Since(killed)
			}
		}
		return len(gone) == len(pids)
	})
	var figures []string
	for _, pid := range pids {
		figures = append(figures, fmt.Sprintf("pid %d gone after %v", pid, gone[pid].Round(time.Millisecond)))
	}
	t.Logf("orchestrator killed; lease %v: %s (bound lease + 2s = %v)", testLease, strings.Join(figures, ", "), limit)
	// Worker processes this orchestrator launched see its end at once:
	// their local channel closes (they need not wait out the lease, which
	// stays the bound for workers started elsewhere). They were not
	// killed with it — they are in their own process group — but stopped:
	// each flushed and wrote its STOPPED heartbeat.
	for _, h := range f.heartbeats(t, id) {
		if h.Status != "STOPPED" {
			t.Errorf("%s's last heartbeat says %s", h.WorkerID, h.Status)
		}
	}
	// Nobody is left to end the run: the first to look marks it.
	row := f.getRun(t, id)
	t.Logf("RUN_STATUS after the orchestrator died: %s, last renewed %v ago", row.Status, time.Since(row.UpdatedAt).Round(time.Millisecond))
	if row.Status.Terminal() {
		t.Fatalf("RUN_STATUS %s before anyone looked", row.Status)
	}
	eventually(t, testLease+5*time.Second, "the lease lapsed", func() bool { return time.Since(row.UpdatedAt) > testLease+time.Second })
	out, errOut, code := f.unistore(t, "stop", id)
	if code != 0 || !strings.Contains(out, "marked FAILED (orchestrator lost)") || !strings.Contains(out, "run "+id) {
		t.Fatalf("stop on a run whose orchestrator is gone: exit %d\nstdout %s\nstderr %s\nwant exit 0 saying it marked the run", code, out, errOut)
	}
	row = f.getRun(t, id)
	if row.Status != core.StatusFailed || row.Phase != core.PhaseDone || !strings.HasPrefix(row.Outcome, "orchestrator lost: ") ||
		!strings.Contains(row.Outcome, "marked by stop") || len(row.Summary) == 0 || row.EndedAt.IsZero() {
		t.Errorf("RUN_STATUS after stop: %s %s %q summary %d bytes, ended %v; want FAILED, DONE, orchestrator lost, a summary",
			row.Status, row.Phase, row.Outcome, len(row.Summary), row.EndedAt)
	}
	for _, e := range f.events(t, id) {
		if e.Kind == control.EventStop {
			t.Errorf("stop appended STOP to a run nobody runs")
		}
	}
	out, _, code = f.unistore(t, "runs", "list")
	if code != 0 || !regexp.MustCompile(id+`\s+\S+\s+FAILED \(orchestrator lost\)`).MatchString(out) {
		t.Errorf("runs list (exit %d):\n%s\nwant %s FAILED (orchestrator lost)", code, out, id)
	}
	out, _, code = f.unistore(t, "runs", "show", id, "--json")
	var res core.Result
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil {
		t.Fatalf("runs show --json: exit %d, %v\n%s", code, err, out)
	}
	if res.Status != core.StatusFailed || !strings.HasPrefix(res.Error, "orchestrator lost") || res.Total.Count == 0 {
		t.Errorf("runs show: status %s, error %q, %d ops; want FAILED, orchestrator lost, the workers' figures", res.Status, res.Error, res.Total.Count)
	}
	if _, errOut, code := f.unistore(t, "stop", id); code == 0 || !strings.Contains(errOut, "already FAILED") {
		t.Errorf("second stop: exit %d, %s; want an error: the run is already FAILED", code, errOut)
	}
}

// splitLauncher launches group 0 in this process and groups ≥ 1 as
// External after their first attempt; the first attempt of group 1 runs in
// this process too, so the test can end it.
type splitLauncher struct {
	inProcess orchestrator.InProcess
	mu        sync.Mutex
	handles   map[int]orchestrator.Handle
}

func (l *splitLauncher) Launch(ctx context.Context, a orchestrator.Assignment) (orchestrator.Handle, error) {
	if a.Group >= 1 && a.Attempt >= 1 {
		return orchestrator.External{}.Launch(ctx, a)
	}
	h, err := l.inProcess.Launch(ctx, a)
	if err == nil {
		l.mu.Lock()
		l.handles[a.Group] = h
		l.mu.Unlock()
	}
	return h, err
}

// rowsOf is a run's control rows, as compared before and after a command
// that must not touch them. live leaves out what a running run changes by
// itself (updated_at, last_seen).
func (f *fixture) rowsOf(t testing.TB, id string, live bool) string {
	t.Helper()
	run := f.getRun(t, id)
	if live {
		run.UpdatedAt = time.Time{}
	}
	hbs := f.heartbeats(t, id)
	for i := range hbs {
		if live {
			hbs[i].LastSeen = time.Time{}
		}
	}
	b, _ := json.Marshal(struct {
		Run        store.Run
		Events     int
		Heartbeats []store.Heartbeat
	}{run, len(f.events(t, id)), hbs})
	return string(b)
}

// TestWorkerByHand: a worker started by hand joins a run in MEASUREMENT;
// bad `unistore worker` and `stop` invocations fail and change nothing.
func TestWorkerByHand(t *testing.T) {
	f := newFixture(t)
	tf, err := workload.LoadFile(f.template(t, tmpl{Workers: 2, Duration: "1h"}))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	l := &splitLauncher{inProcess: orchestrator.InProcess{Store: f.st, Logger: log}, handles: map[int]orchestrator.Handle{}}
	svc := &orchestrator.Service{Store: f.st, Launcher: l, Logger: log, StopGrace: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run, err := svc.Start(ctx, tf.Spec, orchestrator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Stop(); run.Wait() })
	id := run.ID
	eventually(t, 20*time.Second, "MEASUREMENT", func() bool { return f.getRun(t, id).Phase == core.PhaseMeasurement })

	// End group 1's first worker: the orchestrator declares it lost and
	// "relaunches" it as External — group 1 is free, waiting for a hand.
	l.mu.Lock()
	h1 := l.handles[1]
	l.mu.Unlock()
	h1.Kill()
	<-h1.Done()
	eventually(t, 10*time.Second, "group 1 declared lost", func() bool { return f.getRun(t, id).WorkersLost == 1 })

	w := f.start(t, "worker", "--run-id", id, "--group", "1", "--attempt", "1", "--store", f.store, "--target", f.target)
	joined := w.waitLine(t, regexp.MustCompile(`msg="worker: joined"`), 20*time.Second)
	t.Logf("hand-started worker: %s", joined)
	if !strings.Contains(joined, "phase=MEASUREMENT") || !strings.Contains(joined, "worker_id=worker-1-r1") {
		t.Errorf("joined line: %s", joined)
	}
	eventually(t, 10*time.Second, "worker-1-r1 heartbeats in MEASUREMENT", func() bool {
		for _, h := range f.heartbeats(t, id) {
			if h.WorkerID == "worker-1-r1" && h.Status == "RUNNING" && h.Phase == core.PhaseMeasurement {
				return true
			}
		}
		return false
	})
	eventually(t, 10*time.Second, "RUN_STATUS counts worker-1-r1 live", func() bool { return f.getRun(t, id).WorkersLive == 2 })
	// A heartbeat's phase follows SET_PHASE within a poll and a heartbeat:
	// wait for worker-0's, so the rows below hold still.
	eventually(t, 10*time.Second, "every live worker heartbeats MEASUREMENT", func() bool {
		for _, h := range f.heartbeats(t, id) {
			if h.Status == "RUNNING" && h.Phase != core.PhaseMeasurement {
				return false
			}
		}
		return true
	})

	// Invocations that must fail before touching anything.
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"group held by the hand-started worker", []string{"worker", "--run-id", id, "--group", "1", "--attempt", "1"}, "held by a live worker"},
		{"group held by an in-process worker", []string{"worker", "--run-id", id, "--group", "0"}, "held by a live worker"},
		{"group outside 0..1", []string{"worker", "--run-id", id, "--group", "2"}, "group outside the run's groups"},
		{"nonexistent run", []string{"worker", "--run-id", "20000101-000000-000000", "--group", "0"}, `run "20000101-000000-000000" does not exist`},
	} {
		before := f.rowsOf(t, id, true)
		stdout, stderr, code := f.unistore(t, append(c.args, "--store", f.store, "--target", f.target)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want an error with %q\n%s", c.name, code, stderr, c.want, stdout)
		}
		if after := f.rowsOf(t, id, true); after != before {
			t.Errorf("%s changed the run's rows:\nbefore %s\nafter  %s", c.name, before, after)
		}
	}
	if _, err := f.st.GetRun(context.Background(), "20000101-000000-000000"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the nonexistent run has a row now: %v", err)
	}

	if _, stderr, code := f.unistore(t, "stop", id, "--store", f.store); code != 0 {
		t.Fatalf("stop: exit %d: %s", code, stderr)
	}
	select {
	case <-run.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("run still going 30s after stop")
	}
	res, err := run.Wait()
	if err != nil || res.Status != core.StatusCancelled {
		t.Fatalf("run: %v, %+v", err, res)
	}
	if code := w.wait(t, 10*time.Second); code != 0 {
		t.Errorf("hand-started worker exited %d", code)
	}
	var n int
	for _, r := range f.snapshots(t, id) {
		if r.WorkerID == "worker-1-r1" {
			n++
			if r.Phase != core.PhaseMeasurement {
				t.Errorf("worker-1-r1 wrote a %s snapshot", r.Phase)
			}
		}
	}
	if n == 0 {
		t.Error("worker-1-r1 wrote no snapshot")
	}
	for _, h := range f.heartbeats(t, id) {
		if h.WorkerID == "worker-1-r1" && (h.Phase != core.PhaseMeasurement || h.Status != "STOPPED") {
			t.Errorf("worker-1-r1's last heartbeat: %s %s", h.Status, h.Phase)
		}
	}
	gapClosed := false
	for _, g := range res.Workers.Gaps {
		gapClosed = gapClosed || g.Group == 1 && !g.BackAt.IsZero()
	}
	t.Logf("result: %s, workers %+v, worker-1-r1 wrote %d MEASUREMENT snapshot rows", res.Status, res.Workers, n)
	if res.Workers.Lost < 1 || res.Workers.Relaunched < 1 || !gapClosed {
		t.Errorf("workers %+v: want group 1 lost, relaunched, and back", res.Workers)
	}

	// A finished run cannot be stopped, and the attempt changes nothing.
	before := f.rowsOf(t, id, false)
	if _, stderr, code := f.unistore(t, "stop", id, "--store", f.store); code == 0 || !strings.Contains(stderr, "already CANCELLED") {
		t.Errorf("stop of a finished run: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := f.unistore(t, "worker", "--run-id", id, "--group", "0", "--store", f.store); code == 0 || !strings.Contains(stderr, "run is finished") {
		t.Errorf("worker for a finished run: exit %d, stderr %q", code, stderr)
	}
	if after := f.rowsOf(t, id, false); after != before {
		t.Errorf("commands on a finished run changed its rows:\nbefore %s\nafter  %s", before, after)
	}
}

// unistore runs the binary to its end with this fixture's store.
func (f *fixture) unistore(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "UNISTORE_STORE="+f.store)
	cmd.Stdout, cmd.Stderr = &o, &e
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s: still running after 30s", strings.Join(args, " "))
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// TestOneWorkerSamePath: --workers 1 and --workers 3 leave the same
// control events, the same RUN_STATUS columns and the same snapshot shape.
func TestOneWorkerSamePath(t *testing.T) {
	type shape struct {
		Kinds      []control.EventKind
		Status     core.Status
		Phase      core.Phase
		Set        []string // the RUN_STATUS columns set
		Target     int
		RowsPerKey int
		Ops        []string
	}
	shapeOf := func(n int) shape {
		f := newFixture(t)
		p := f.start(t, "run", f.template(t, tmpl{Duration: "2s"}), "--workers", strconv.Itoa(n), "--store", f.store)
		if code := p.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("--workers %d: exit %d", n, code)
		}
		id := f.runID(t)
		var s shape
		for _, e := range f.events(t, id) {
			s.Kinds = append(s.Kinds, e.Kind)
		}
		run := f.getRun(t, id)
		s.Status, s.Phase, s.Target = run.Status, run.Phase, run.WorkersTarget
		for name, set := range map[string]bool{"started_at": !run.StartedAt.IsZero(), "warmup_ended_at": !run.WarmupEndedAt.IsZero(),
			"ended_at": !run.EndedAt.IsZero(), "summary": len(run.Summary) > 0, "outcome": run.Outcome != ""} {
			if set {
				s.Set = append(s.Set, name)
			}
		}
		sort.Strings(s.Set)
		// One row per worker × interval × phase × operation, each with a
		// histogram holding its successful executions.
		keys := map[string]int{}
		ops := map[string]bool{}
		workers := map[string]bool{}
		for _, r := range f.snapshots(t, id) {
			keys[r.WorkerID+"|"+r.IntervalStart.String()+"|"+string(r.Phase)+"|"+r.Operation]++
			ops[r.Operation] = true
			workers[r.WorkerID] = true
			h, err := metrics.Decode(r.Histogram)
			if err != nil {
				t.Fatal(err)
			}
			var errs int64
			for _, c := range r.Errors {
				errs += c
			}
			if h.TotalCount() != r.Count-errs {
				t.Errorf("--workers %d: %s row at %s: histogram holds %d, count %d − errors %d", n, r.WorkerID, r.IntervalStart, h.TotalCount(), r.Count, errs)
			}
		}
		for _, c := range keys {
			s.RowsPerKey = max(s.RowsPerKey, c)
		}
		for op := range ops {
			s.Ops = append(s.Ops, op)
		}
		sort.Strings(s.Ops)
		if len(workers) < n {
			t.Errorf("--workers %d: snapshots from %d workers", n, len(workers))
		}
		t.Logf("--workers %d: events %v, RUN_STATUS %s/%s with %v set, workers_target %d, %d snapshot rows from %d workers",
			n, s.Kinds, s.Status, s.Phase, s.Set, s.Target, len(keys), len(workers))
		return s
	}
	one, three := shapeOf(1), shapeOf(3)
	want := []control.EventKind{control.EventStart, control.EventSetPhase, control.EventStop}
	if !slices.Equal(one.Kinds, want) {
		t.Errorf("--workers 1: events %v, want %v", one.Kinds, want)
	}
	if one.Status != core.StatusCompleted || one.Phase != core.PhaseDone || one.Target != 1 || three.Target != 3 || one.RowsPerKey != 1 {
		t.Errorf("--workers 1: %+v", one)
	}
	one.Target, three.Target = 0, 0
	if a, b := fmt.Sprintf("%+v", one), fmt.Sprintf("%+v", three); a != b {
		t.Errorf("--workers 1 and 3 differ:\n1: %s\n3: %s", a, b)
	}
}

// TestApplicationName: the load connections of a PostgreSQL target carry
// application_name=unistore/RUN_ID/WORKER_ID, so a DBA sees whose they are
// in pg_stat_activity (a target DSN without application_name of its own).
func TestApplicationName(t *testing.T) {
	f := newFixture(t)
	f.target = strings.Replace(f.target, "&application_name="+f.app, "", 1)
	p := f.start(t, "run", f.template(t, tmpl{Connections: 3, Warmup: "0s", Duration: "1h"}), "--workers", "2", "--store", f.store)
	p.waitLine(t, measuring, 30*time.Second)
	id := f.runID(t)
	admin := testpg.DSN(t)
	for _, w := range []string{"worker-0", "worker-1"} {
		name := "unistore/" + id + "/" + w
		eventually(t, 15*time.Second, "3 connections named "+name, func() bool {
			return testpg.QueryInt(t, admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name) == 3
		})
	}
	if out, err := exec.Command(bin, "stop", id, "--store", f.store).CombinedOutput(); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if code := p.wait(t, 30*time.Second); code != 5 {
		t.Errorf("run exited %d, want 5 (stopped on request)", code)
	}
}
