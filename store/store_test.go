package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/internal/testsf"
	"github.com/unistore-bench/unistore/store"
)

// jsonEqual compares JSON by value: PostgreSQL's jsonb reformats text.
var jsonEqual = cmp.Comparer(func(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
})

// restrictedPG returns the DSN of a store database reached through a role
// holding only DML rights (testpg.RestrictedRole): whatever works through
// it runs no DDL.
func restrictedPG(t *testing.T) string {
	t.Helper()
	return testpg.RestrictedRole(t, pgDSN(t))
}

var storeKinds = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return sqliteDSN(t) }},
	{"postgres", func(t *testing.T) string { return pgDSN(t) }},
	// The whole round trip through a DML-only role: proof that nothing the
	// store does at run time needs DDL (or a sequence, or TEMP).
	{"postgres-dml-only-role", restrictedPG},
	// Snowflake on the emulator, through a DML-only user (the emulator
	// refuses it any DDL).
	{"snowflake-emulator-dml-only", func(t *testing.T) string { return testsf.StoreDSN(t) }},
}

func TestRoundTrip(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			st := open(t, kind.dsn(t))
			for _, sub := range []struct {
				name string
				fn   func(*testing.T, store.Store)
			}{
				{"runs", testRuns},
				{"update if", testUpdateRunIf},
				{"events", testEvents},
				{"heartbeats", testHeartbeats},
				{"snapshots", testSnapshots},
				{"executions", testExecutions},
				{"templates", testTemplates},
				{"writer", testWriterIntoStore},
				{"batches", testBatches},
				{"recover", testRecover},
			} {
				t.Run(sub.name, func(t *testing.T) { sub.fn(t, st) })
			}
		})
	}
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC)

func ptr[T any](v T) *T { return &v }

func testRuns(t *testing.T, st store.Store) {
	ctx := ctxT(t)
	w := 2.5
	spec := core.Spec{
		Name:        "point-reads",
		Target:      core.Target{Driver: "postgres", DSN: "postgres://app:hunter2@db.example:5432/shop?sslmode=require"},
		Connections: 16, Warmup: core.Duration(5 * time.Second), Duration: core.Duration(time.Minute), Seed: 7,
		Workload: core.WorkloadSpec{Operations: []core.OperationSpec{{Name: "get", Weight: &w, SQL: "SELECT 1 WHERE ? > 0",
			Params: []core.ParamSpec{{Gen: "uniform", Min: ptr[int64](1), Max: ptr[int64](100)}}}}},
	}
	run := store.Run{ID: "run-1", Name: "point-reads", Template: "tpl", Spec: spec,
		Status: core.StatusPrepared, Phase: core.PhaseWarmup, CreatedAt: t0, WorkersTarget: 4}
	if err := st.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateRun(ctx, run); !errors.Is(err, store.ErrExists) {
		t.Errorf("second CreateRun: got %v, want ErrExists", err)
	}
	want := run
	want.Spec = spec.Redacted()
	got, err := st.GetRun(ctx, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fmt.Sprint(got.Spec), "hunter2") {
		t.Fatalf("stored spec holds the password: %+v", got.Spec)
	}
	ignore := cmpopts.IgnoreFields(store.Run{}, "UpdatedAt")
	if diff := cmp.Diff(want, got, ignore, jsonEqual); diff != "" {
		t.Errorf("GetRun after create (-want +got):\n%s", diff)
	}
	if got.UpdatedAt.IsZero() || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("UpdatedAt = %v, want set, in UTC", got.UpdatedAt)
	}

	// A partial update changes only what it names.
	if err := st.UpdateRun(ctx, "run-1", store.RunUpdate{Status: ptr(core.StatusRunning), StartedAt: ptr(t0.Add(time.Second))}); err != nil {
		t.Fatal(err)
	}
	want.Status, want.StartedAt = core.StatusRunning, t0.Add(time.Second)
	got, _ = st.GetRun(ctx, "run-1")
	if diff := cmp.Diff(want, got, ignore, jsonEqual); diff != "" {
		t.Errorf("GetRun after partial update (-want +got):\n%s", diff)
	}
	// Every field.
	summary := json.RawMessage(`{"total":{"count":1000,"qps":99.5},"operations":{"get":{"count":1000}}}`)
	u := store.RunUpdate{
		Status: ptr(core.StatusFailed), Phase: ptr(core.PhaseDone),
		StartedAt: ptr(t0.Add(2 * time.Second)), WarmupEndedAt: ptr(t0.Add(7 * time.Second)), EndedAt: ptr(t0.Add(67 * time.Second)),
		WorkersTarget: ptr(5), WorkersLive: ptr(3), WorkersLost: ptr(2),
		Outcome: ptr("worker-3: lost"), Summary: summary, RowsDropped: ptr[int64](42),
	}
	if err := st.UpdateRun(ctx, "run-1", u); err != nil {
		t.Fatal(err)
	}
	want.Status, want.Phase = core.StatusFailed, core.PhaseDone
	want.StartedAt, want.WarmupEndedAt, want.EndedAt = *u.StartedAt, *u.WarmupEndedAt, *u.EndedAt
	want.WorkersTarget, want.WorkersLive, want.WorkersLost = 5, 3, 2
	want.Outcome, want.Summary, want.RowsDropped = "worker-3: lost", summary, 42
	got, _ = st.GetRun(ctx, "run-1")
	if diff := cmp.Diff(want, got, ignore, jsonEqual); diff != "" {
		t.Errorf("GetRun after full update (-want +got):\n%s", diff)
	}
	if err := st.UpdateRun(ctx, "nope", store.RunUpdate{Status: ptr(core.StatusRunning)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateRun(missing): got %v, want ErrNotFound", err)
	}
	if _, err := st.GetRun(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRun(missing): got %v, want ErrNotFound", err)
	}

	// Listing: newest first, by status, limited.
	for i, s := range []core.Status{core.StatusCompleted, core.StatusRunning, core.StatusCompleted} {
		r := store.Run{ID: fmt.Sprintf("list-%d", i), Name: "l", Status: s, Phase: core.PhaseMeasurement, CreatedAt: t0.Add(time.Duration(i+1) * time.Hour)}
		if err := st.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(rs []store.Run, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tc := range []struct {
		f    store.RunFilter
		want []string
	}{
		{store.RunFilter{}, []string{"list-2", "list-1", "list-0", "run-1"}},
		{store.RunFilter{Status: core.StatusCompleted}, []string{"list-2", "list-0"}},
		{store.RunFilter{Limit: 2}, []string{"list-2", "list-1"}},
	} {
		if diff := cmp.Diff(tc.want, ids(st.ListRuns(ctx, tc.f))); diff != "" {
			t.Errorf("ListRuns(%+v) (-want +got):\n%s", tc.f, diff)
		}
	}
}

func testEvents(t *testing.T, st store.Store) {
	ctx := ctxT(t)
	if err := st.CreateRun(ctx, store.Run{ID: "ev", Name: "ev", Status: core.StatusRunning, Phase: core.PhaseWarmup}); err != nil {
		t.Fatal(err)
	}
	in := []store.Event{
		{RunID: "ev", Kind: control.EventStart, CreatedAt: t0},
		{RunID: "ev", Kind: control.EventSetPhase, Payload: json.RawMessage(`{"phase":"MEASUREMENT"}`), CreatedAt: t0.Add(time.Second)},
		{RunID: "ev", Kind: control.EventSetWorkerTarget, Payload: json.RawMessage(`{"connections":32}`)},
		{RunID: "ev", Kind: control.EventStop},
	}
	var want []store.Event
	for i, e := range in {
		got, err := st.AppendEvent(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != int64(i+1) || got.CreatedAt.IsZero() {
			t.Errorf("event %d: seq %d created %v", i, got.Seq, got.CreatedAt)
		}
		want = append(want, got)
	}
	got, err := st.EventsSince(ctx, "ev", 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[1:], got, jsonEqual); diff != "" {
		t.Errorf("EventsSince(1) (-want +got):\n%s", diff)
	}
	if got, _ := st.EventsSince(ctx, "ev", 4); len(got) != 0 {
		t.Errorf("EventsSince(last) = %v, want none", got)
	}
	if _, err := st.AppendEvent(ctx, store.Event{RunID: "nope", Kind: control.EventStop}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AppendEvent(missing run): got %v, want ErrNotFound", err)
	}

	// Concurrent appenders get distinct, gapless numbers.
	if err := st.CreateRun(ctx, store.Run{ID: "ev2", Name: "ev", Status: core.StatusRunning, Phase: core.PhaseWarmup}); err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 6, 5
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for range goroutines {
		wg.Go(func() {
			for range each {
				if _, err := st.AppendEvent(ctx, store.Event{RunID: "ev2", Kind: control.EventSetWorkerTarget}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all, err := st.EventsSince(ctx, "ev2", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("concurrent appends: event %d has seq %d", i, e.Seq)
		}
	}
	if len(all) != goroutines*each {
		t.Errorf("concurrent appends: %d events, want %d", len(all), goroutines*each)
	}
}

func testHeartbeats(t *testing.T, st store.Store) {
	ctx := ctxT(t)
	h0 := store.Heartbeat{RunID: "hb", WorkerID: "worker-0", Group: 0, Status: "STARTING", Phase: core.PhaseWarmup, LastSeen: t0}
	h1 := store.Heartbeat{RunID: "hb", WorkerID: "worker-1", Group: 1, Status: "RUNNING", Phase: core.PhaseWarmup, LastSeen: t0,
		Connections: 8, Host: "node-b", PID: 4242}
	for _, h := range []store.Heartbeat{h1, h0} {
		if err := st.PutHeartbeat(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	h0.Status, h0.Phase, h0.LastSeen, h0.Connections, h0.Host, h0.PID, h0.RowsDropped = "RUNNING", core.PhaseMeasurement, t0.Add(time.Second), 16, "node-a", 99, 7
	if err := st.PutHeartbeat(ctx, h0); err != nil {
		t.Fatal(err)
	}
	got, err := st.ListHeartbeats(ctx, "hb")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Heartbeat{h0, h1}, got); diff != "" {
		t.Errorf("ListHeartbeats (-want +got):\n%s", diff)
	}
}

func testSnapshots(t *testing.T, st store.Store) {
	ctx := ctxT(t)
	var errs core.ErrorCounts
	errs[core.ErrTimeout], errs[core.ErrSerialization] = 3, 1
	in := []store.Snapshot{
		{RunID: "sn", WorkerID: "worker-0", Group: 0, IntervalStart: t0, IntervalEnd: t0.Add(time.Second), Phase: core.PhaseWarmup,
			Operation: "get", Count: 100, Histogram: "HISTFAAAACR4nJNpmSzMwMDAxAAGcBoK"},
		{RunID: "sn", WorkerID: "worker-1", Group: 1, IntervalStart: t0.Add(time.Second), IntervalEnd: t0.Add(2 * time.Second), Phase: core.PhaseMeasurement,
			Operation: "put", Count: 250, Errors: errs, Histogram: "HISTFAAAACR4nJNpmSzMwMDAxAAGcBoL",
			ResponseHistogram: "HISTFAAAACR4nJNpmSzMwMDAxAAGcBoM", ErrorHistogram: "HISTFAAAACR4nJNpmSzMwMDAxAAGcBoN"},
	}
	if err := st.WriteSnapshots(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteSnapshots(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got, err := st.Snapshots(ctx, "sn")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("Snapshots (-want +got):\n%s", diff)
	}
}

// executions makes n distinct rows of a run.
func executions(runID string, n int) []store.Execution {
	out := make([]store.Execution, n)
	for i := range out {
		start := t0.Add(time.Duration(i) * time.Millisecond)
		e := store.Execution{RunID: runID, WorkerID: fmt.Sprintf("worker-%d", i%3), Group: i % 3, Connection: i % 7,
			Operation: "get", Phase: core.PhaseMeasurement, StartedAt: start, EndedAt: start.Add(731 * time.Microsecond),
			OK: true, RowsAffected: int64(i)}
		if i%5 == 0 {
			e.IntendedAt = start.Add(-17 * time.Microsecond)
		}
		if i%11 == 0 {
			e.OK, e.ErrorClass, e.SQLState, e.RowsAffected = false, core.ErrSerialization, "40001", 0
		}
		out[i] = e
	}
	return out
}

func testExecutions(t *testing.T, st store.Store) {
	ctx := ctxT(t)
	in := executions("ex", 5000) // more than one SQLite multi-row INSERT
	if err := st.WriteExecutions(ctx, in); err != nil {
		t.Fatal(err)
	}
	n, err := st.CountExecutions(ctx, "ex")
	if err != nil || n != int64(len(in)) {
		t.Fatalf("CountExecutions = %d, %v; want %d", n, err, len(in))
	}
	got, err := st.Executions(ctx, store.ExecutionFilter{RunID: "ex"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("Executions (-want +got):\n%s", diff)
	}
	page, err := st.Executions(ctx, store.ExecutionFilter{RunID: "ex", Limit: 10, Offset: 20})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in[20:30], page); diff != "" {
		t.Errorf("page (-want +got):\n%s", diff)
	}
	tail, err := st.Executions(ctx, store.ExecutionFilter{RunID: "ex", Offset: 4990})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in[4990:], tail); diff != "" {
		t.Errorf("offset only (-want +got):\n%s", diff)
	}
	w1, err := st.Executions(ctx, store.ExecutionFilter{RunID: "ex", WorkerID: "worker-1", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Execution{in[1], in[4], in[7]}, w1); diff != "" {
		t.Errorf("by worker (-want +got):\n%s", diff)
	}
}

func testTemplates(t *testing.T, st store.Store) {
	ctx := ctxT(t)
	a1, err := st.SaveTemplate(ctx, store.Template{Name: "ycsb-a", Body: "name: ycsb-a\n"})
	if err != nil {
		t.Fatal(err)
	}
	if a1.Version != 1 || a1.CreatedAt.IsZero() || !a1.CreatedAt.Equal(a1.UpdatedAt) {
		t.Errorf("first save: %+v", a1)
	}
	time.Sleep(2 * time.Millisecond) // UpdatedAt must move
	a2, err := st.SaveTemplate(ctx, store.Template{Name: "ycsb-a", Body: "name: ycsb-a\nconnections: 8\n"})
	if err != nil {
		t.Fatal(err)
	}
	if a2.Version != 2 || !a2.CreatedAt.Equal(a1.CreatedAt) || !a2.UpdatedAt.After(a1.UpdatedAt) || a2.Body != "name: ycsb-a\nconnections: 8\n" {
		t.Errorf("second save: %+v (first %+v)", a2, a1)
	}
	b1, err := st.SaveTemplate(ctx, store.Template{Name: "b-first", Body: "x: 1\n"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.GetTemplate(ctx, "ycsb-a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a2, got); diff != "" {
		t.Errorf("GetTemplate (-want +got):\n%s", diff)
	}
	list, err := st.ListTemplates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Template{b1, a2}, list); diff != "" {
		t.Errorf("ListTemplates (-want +got):\n%s", diff)
	}
	if err := st.DeleteTemplate(ctx, "ycsb-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetTemplate(ctx, "ycsb-a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTemplate after delete: got %v, want ErrNotFound", err)
	}
	if err := st.DeleteTemplate(ctx, "ycsb-a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: got %v, want ErrNotFound", err)
	}
}

// testWriterIntoStore streams rows through Writers into the store, from
// several producers at once.
func testWriterIntoStore(t *testing.T, st store.Store) {
	ctx := ctxT(t)
	ew := store.NewWriter(st.WriteExecutions, store.WriterConfig{BatchSize: 700, FlushInterval: 10 * time.Millisecond})
	sw := store.NewWriter(st.WriteSnapshots, store.WriterConfig{BatchSize: 3})
	rows := executions("wr", 4000)
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := p; i < len(rows); i += 4 {
				ew.Offer(rows[i])
			}
		})
	}
	for i := range 10 {
		sw.Offer(store.Snapshot{RunID: "wr", WorkerID: "worker-0", IntervalStart: t0.Add(time.Duration(i) * time.Second),
			IntervalEnd: t0.Add(time.Duration(i+1) * time.Second), Phase: core.PhaseMeasurement, Operation: "get", Count: 1, Histogram: "h"})
	}
	wg.Wait()
	if err := ew.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := ew.Stats(); s.Stored != int64(len(rows)) || s.Dropped != 0 || s.Produced != int64(len(rows)) {
		t.Errorf("executions writer stats %+v, want all %d stored", s, len(rows))
	}
	n, err := st.CountExecutions(ctx, "wr")
	if err != nil || n != int64(len(rows)) {
		t.Errorf("CountExecutions = %d, %v; want %d", n, err, len(rows))
	}
	snaps, err := st.Snapshots(ctx, "wr")
	if err != nil || len(snaps) != 10 {
		t.Errorf("Snapshots: %d, %v; want 10", len(snaps), err)
	}
}

// testUpdateRunIf: UpdateRunIf writes only while the run is unfinished and
// its updated_at is the one the caller read — a renewal in between wins.
func testUpdateRunIf(t *testing.T, st store.Store) {
	ctx := ctxT(t)
	c, ok := st.(store.RunUpdaterIf)
	if !ok {
		t.Fatalf("%T has no UpdateRunIf", st)
	}
	// Memory too: the capability is the orchestrator's guard.
	var _ store.RunUpdaterIf = store.NewMemory()
	if err := st.CreateRun(ctx, store.Run{ID: "cas", Name: "cas", Status: core.StatusRunning, Phase: core.PhaseMeasurement}); err != nil {
		t.Fatal(err)
	}
	read, err := st.GetRun(ctx, "cas")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)                                                       // a distinct updated_at (microseconds)
	if err := st.UpdateRun(ctx, "cas", store.RunUpdate{WorkersLive: ptr(2)}); err != nil { // the renewal
		t.Fatal(err)
	}
	failed := store.RunUpdate{Status: ptr(core.StatusFailed), Outcome: ptr("orchestrator lost")}
	if done, err := c.UpdateRunIf(ctx, "cas", read.UpdatedAt, failed); err != nil || done {
		t.Fatalf("UpdateRunIf after a renewal: %v, %v; want false, nil", done, err)
	}
	if r, _ := st.GetRun(ctx, "cas"); r.Status != core.StatusRunning || r.Outcome != "" {
		t.Fatalf("run after a refused UpdateRunIf: %s %q", r.Status, r.Outcome)
	}
	read, _ = st.GetRun(ctx, "cas")
	if done, err := c.UpdateRunIf(ctx, "cas", read.UpdatedAt, failed); err != nil || !done {
		t.Fatalf("UpdateRunIf on the row as read: %v, %v; want true, nil", done, err)
	}
	r, _ := st.GetRun(ctx, "cas")
	if r.Status != core.StatusFailed || r.Outcome != "orchestrator lost" || r.WorkersLive != 2 || !r.UpdatedAt.After(read.UpdatedAt) {
		t.Fatalf("run after UpdateRunIf: %+v", r)
	}
	// A finished run is never written again, whatever time is given.
	if done, err := c.UpdateRunIf(ctx, "cas", r.UpdatedAt, store.RunUpdate{Status: ptr(core.StatusCompleted)}); err != nil || done {
		t.Fatalf("UpdateRunIf on a finished run: %v, %v; want false, nil", done, err)
	}
	if _, err := c.UpdateRunIf(ctx, "nope", r.UpdatedAt, failed); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateRunIf(missing): %v, want ErrNotFound", err)
	}
}
