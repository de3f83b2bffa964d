package unistore_test

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/emulator"
	"github.com/unistore-bench/unistore/internal/testsf"
	"github.com/unistore-bench/unistore/store"
	sfstore "github.com/unistore-bench/unistore/store/snowflake"
)

// TestSnowflakeStoreRun: a two-worker, capture-all run recorded in a
// Snowflake store (the emulator) reached only as a DML-only user — any DDL
// would fail — leaves the complete record: the RUN_STATUS lifecycle, the
// control events, every worker's final heartbeat, every counted execution,
// and the Snowflake control timings in the stored spec. Every statement
// the store sent carries its query tag; the test logs the control plane's
// statements per worker-minute; for a steady-state figure, run it longer:
//
//	UNISTORE_TEST_SF_DURATION=60s go test -run TestSnowflakeStoreRun -v .
func TestSnowflakeStoreRun(t *testing.T) {
	sf := testsf.Start(t, testsf.Config())
	st := openStore(t, sf.RunDSN())
	spec := quickstartSpec(t)
	spec.Workers = 2
	spec.Warmup = core.Duration(time.Second)
	spec.Duration = core.Duration(4 * time.Second)
	if d, err := time.ParseDuration(os.Getenv("UNISTORE_TEST_SF_DURATION")); err == nil {
		spec.Duration = core.Duration(d)
	}
	spec.Capture = core.CaptureAll
	// Paced: the emulator stores a few thousand rows a second (fewer
	// under -race), the SQLite target answers a hundred thousand.
	spec.Rate = 400
	ctx := ctxFor(t, 2*time.Minute+spec.Duration.D())
	first := len(sf.Requests())
	res, err := unistore.Run(ctx, spec, unistore.WithStore(st), unistore.WithInterval(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != core.StatusCompleted || res.RowsDropped != 0 {
		t.Fatalf("run: status %s (%s), %d rows dropped; want COMPLETED, none dropped", res.Status, res.Error, res.RowsDropped)
	}

	run, err := st.GetRun(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != core.StatusCompleted || run.Phase != core.PhaseDone {
		t.Errorf("RUN_STATUS: status %s phase %s, want COMPLETED DONE", run.Status, run.Phase)
	}
	if !run.StartedAt.Before(run.WarmupEndedAt) || !run.WarmupEndedAt.Before(run.EndedAt) {
		t.Errorf("RUN_STATUS times out of order: %v, %v, %v", run.StartedAt, run.WarmupEndedAt, run.EndedAt)
	}
	// The spec left the control timings zero: the store's defaults apply.
	want := core.ControlSpec{Poll: sfstore.DefaultPoll, Heartbeat: sfstore.DefaultHeartbeat,
		HeartbeatTimeout: sfstore.DefaultHeartbeatTimeout, Lease: sfstore.DefaultLease, MaxRelaunches: core.DefaultMaxRelaunches}
	if d := cmp.Diff(want, run.Spec.Control); d != "" {
		t.Errorf("stored control timings (-want +got):\n%s", d)
	}

	events, err := st.EventsSince(ctx, res.RunID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []control.EventKind
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Errorf("event %d has seq %d", i, e.Seq)
		}
		switch e.Kind {
		case control.EventStart, control.EventSetPhase, control.EventStop:
			kinds = append(kinds, e.Kind)
		}
	}
	if d := cmp.Diff([]control.EventKind{control.EventStart, control.EventSetPhase, control.EventStop}, kinds); d != "" {
		t.Errorf("control events (-want +got):\n%s", d)
	}
	hbs, err := st.ListHeartbeats(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	stopped := map[string]bool{}
	for _, h := range hbs {
		if h.Status == control.WorkerStopped {
			stopped[h.WorkerID] = true
		}
	}
	if !stopped["worker-0"] || !stopped["worker-1"] {
		t.Errorf("final heartbeats %+v: want worker-0 and worker-1 STOPPED", hbs)
	}

	n, err := st.CountExecutions(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if counted := res.Warmup.Count + res.Total.Count; n != counted || n != res.Store.ExecutionsStored {
		t.Errorf("%d executions stored (writer says %d); warm-up %d + measurement %d = %d counted",
			n, res.Store.ExecutionsStored, res.Warmup.Count, res.Total.Count, counted)
	}
	got, err := unistore.ResultFromStore(ctx, st, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(res, got); d != "" {
		t.Errorf("ResultFromStore differs from the run's result (-run +store):\n%s", d)
	}

	reqs := sf.Requests()[first:]
	for _, r := range reqs {
		if r.Kind == "query" && r.User == testsf.RunUser && !strings.HasPrefix(r.QueryTag, sfstore.QueryTag) {
			t.Errorf("store statement without the store's query tag (%q): %.80s", r.QueryTag, r.SQL)
		}
	}
	minutes := run.EndedAt.Sub(run.StartedAt).Minutes()
	t.Logf("store requests during the run (%d workers, %.1f s from RUNNING to the end):\n%s",
		spec.Workers, minutes*60, storeTraffic(reqs, float64(spec.Workers)*minutes))
}

// storeStatement names a store statement by what it does.
var storeStatement = []struct {
	name string
	re   *regexp.Regexp
}{
	{"poll: events", regexp.MustCompile(`(?is)^SELECT run_id, seq, kind`)},
	{"poll: run status", regexp.MustCompile(`(?is)^SELECT run_id, name, template`)},
	{"heartbeat (MERGE)", regexp.MustCompile(`(?is)^MERGE INTO \S+worker_heartbeats`)},
	{"heartbeats read", regexp.MustCompile(`(?is)^SELECT run_id, worker_id, worker_group, status`)},
	{"snapshots write", regexp.MustCompile(`(?is)^INSERT INTO \S+worker_metrics_snapshots`)},
	{"snapshots read", regexp.MustCompile(`(?is)^SELECT run_id, worker_id, worker_group, interval_start`)},
	{"executions write", regexp.MustCompile(`(?is)^INSERT INTO \S+query_executions`)},
	{"executions count", regexp.MustCompile(`(?is)^SELECT COUNT\(\*\) FROM \S+query_executions`)},
	{"run status write", regexp.MustCompile(`(?is)^(INSERT INTO|UPDATE) \S+run_status`)},
	{"event append", regexp.MustCompile(`(?is)^(SELECT \(SELECT COUNT|INSERT INTO \S+run_control_events)`)},
	{"transaction", regexp.MustCompile(`(?is)^(BEGIN|COMMIT|ROLLBACK)$`)},
}

// storeTraffic tabulates the store's query requests (query tag
// sfstore.QueryTag, or the run's: sfstore.RunTag) and logins, per kind and
// per worker-minute.
func storeTraffic(reqs []emulator.Request, workerMinutes float64) string {
	counts := map[string]int{}
	total := 0
	for _, r := range reqs {
		if r.Kind == "login" && r.User == testsf.RunUser {
			counts["login"]++
			continue
		}
		if r.Kind != "query" || !strings.HasPrefix(r.QueryTag, sfstore.QueryTag) {
			continue
		}
		total++
		name := "other"
		for _, s := range storeStatement {
			if s.re.MatchString(strings.TrimSpace(r.SQL)) {
				name = s.name
				break
			}
		}
		counts[name]++
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  %-20s %5d  %7.1f per worker-minute\n", n, counts[n], float64(counts[n])/workerMinutes)
	}
	fmt.Fprintf(&b, "  %-20s %5d  %7.1f per worker-minute", "all statements", total, float64(total)/workerMinutes)
	return b.String()
}

// TestSnowflakeStoreDMLOnlyUserCannotApplySchema: the run's user may not
// apply the schema, and the error says what is needed.
func TestSnowflakeStoreDMLOnlyUserCannotApplySchema(t *testing.T) {
	sf := testsf.Start(t, testsf.Config())
	err := store.ApplySchema(ctxFor(t, time.Minute), sf.RunDSN())
	if err == nil {
		t.Fatal("schema apply as the DML-only user succeeded")
	}
	for _, want := range []string{"snowflake store", "apply schema", "003001", "Insufficient privileges",
		"apply it with a role that may create the database UNISTORE_BENCHMARK", "runs need only DML"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), testsf.RunPassword) {
		t.Errorf("error shows the password: %v", err)
	}
}
