package store_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// testBatches: a batch written twice with one id — a retry after a lost
// COMMIT acknowledgement — is stored once; another id is another batch.
func testBatches(t *testing.T, st store.Store) {
	ctx := ctxT(t)
	bw, ok := st.(store.BatchWriter)
	if !ok {
		t.Fatalf("%T is not a store.BatchWriter", st)
	}
	snaps := []store.Snapshot{
		{RunID: "bt", WorkerID: "worker-0", IntervalStart: t0, IntervalEnd: t0.Add(time.Second), Phase: core.PhaseMeasurement,
			Operation: "get", Count: 10, Histogram: "h"},
		{RunID: "bt", WorkerID: "worker-0", IntervalStart: t0, IntervalEnd: t0.Add(time.Second), Phase: core.PhaseMeasurement,
			Operation: "put", Count: 5, Histogram: "h"},
	}
	execs := executions("bt", 3000) // several statements on SQLite and Snowflake
	for range 2 {
		if err := bw.WriteSnapshotBatch(ctx, "worker-0/s/abc/1", snaps); err != nil {
			t.Fatal(err)
		}
		if err := bw.WriteExecutionBatch(ctx, "worker-0/e/abc/1", execs); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Snapshots(ctx, "bt")
	if err != nil || len(got) != 2 {
		t.Errorf("snapshots after one batch written twice: %d, %v; want 2", len(got), err)
	}
	n, err := st.CountExecutions(ctx, "bt")
	if err != nil || n != 3000 {
		t.Errorf("executions after one batch written twice: %d, %v; want 3000", n, err)
	}
	if err := bw.WriteExecutionBatch(ctx, "worker-0/e/abc/2", execs[:10]); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.CountExecutions(ctx, "bt"); n != 3010 {
		t.Errorf("executions after a second batch id: %d, want 3010", n)
	}
}

// testRecover: a run spooled while its store was down is loaded by
// Recover — a batch a retry had stored already once, its final status
// with recovered_at — and a second Recover finds nothing; a run the store
// does not hold stays in the spool.
func testRecover(t *testing.T, st store.Store) {
	ctx := ctxT(t)
	dir := t.TempDir()
	spec := core.Spec{Name: "rc", Connections: 1, Workers: 1}
	if err := st.CreateRun(ctx, store.Run{ID: "rc", Name: "rc", Spec: spec, Status: core.StatusRunning, Phase: core.PhaseMeasurement}); err != nil {
		t.Fatal(err)
	}
	row := func(op string) store.Snapshot {
		return store.Snapshot{RunID: "rc", WorkerID: "worker-0", IntervalStart: t0, IntervalEnd: t0.Add(time.Second),
			Phase: core.PhaseMeasurement, Operation: op, Count: 3, Histogram: "h"}
	}
	b1, b2 := []store.Snapshot{row("a"), row("b")}, []store.Snapshot{row("c")}
	// b1 reached the store although its writer spooled it (the answer
	// to its COMMIT was lost).
	if err := st.(store.BatchWriter).WriteSnapshotBatch(ctx, "worker-0/s/x/1", b1); err != nil {
		t.Fatal(err)
	}
	sp := store.OpenSpool(dir, "rc")
	for id, rows := range map[string][]store.Snapshot{"worker-0/s/x/1": b1, "worker-0/s/x/2": b2} {
		if err := sp.Snapshots("worker-0", id, rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.Executions("worker-0", "worker-0/e/x/1", executions("rc", 7)); err != nil {
		t.Fatal(err)
	}
	status, phase := core.StatusCompleted, core.PhaseDone
	summary, _ := json.Marshal(core.Result{RunID: "rc", Status: status, RowsSpooled: 10, Store: &core.StoreStats{StatusSpooled: true}})
	if err := sp.Status("rc", store.RunUpdate{Status: &status, Phase: &phase, Summary: summary}); err != nil {
		t.Fatal(err)
	}
	if err := store.OpenSpool(dir, "not-here").Snapshots("worker-0", "b", []store.Snapshot{row("z")}); err != nil {
		t.Fatal(err)
	}

	rs, err := store.Recover(ctx, st, dir)
	if err != nil {
		t.Fatal(err)
	}
	byRun := map[string]store.Recovered{}
	for _, r := range rs {
		byRun[r.RunID] = r
	}
	if r := byRun["rc"]; r.Skipped != "" || r.Snapshots != 3 || r.Executions != 7 || r.Status != core.StatusCompleted {
		t.Errorf("recovered rc: %+v, want 3 snapshots, 7 executions, COMPLETED", r)
	}
	if r := byRun["not-here"]; !strings.HasPrefix(r.Skipped, "not in this store") {
		t.Errorf("recovered not-here: %+v, want skipped: not in this store", r)
	}
	if got, _ := st.Snapshots(ctx, "rc"); len(got) != 3 {
		t.Errorf("%d snapshots stored, want 3 (the batch stored before is not stored twice)", len(got))
	}
	if n, _ := st.CountExecutions(ctx, "rc"); n != 7 {
		t.Errorf("%d executions stored, want 7", n)
	}
	run, err := st.GetRun(ctx, "rc")
	if err != nil {
		t.Fatal(err)
	}
	var res core.Result
	if err := json.Unmarshal(run.Summary, &res); err != nil {
		t.Fatal(err)
	}
	if run.Status != core.StatusCompleted || run.Phase != core.PhaseDone || res.Store == nil || res.Store.RecoveredAt == nil || res.RowsSpooled != 10 {
		t.Errorf("run after recover: %s %s, summary store %+v spooled %d", run.Status, run.Phase, res.Store, res.RowsSpooled)
	}
	if _, err := os.Stat(filepath.Join(dir, "rc")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("rc's spool is still there after it was loaded: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "not-here")); err != nil {
		t.Errorf("a run of another store left the spool: %v", err)
	}
	rs, err = store.Recover(ctx, st, dir)
	if err != nil || len(rs) != 1 || rs[0].RunID != "not-here" {
		t.Errorf("second Recover: %+v, %v; want only not-here, skipped", rs, err)
	}
}

// TestMergeRunUpdate: a field the second update sets wins; one it leaves
// unset keeps the first's value.
func TestMergeRunUpdate(t *testing.T) {
	running, done := core.StatusRunning, core.StatusCompleted
	start, end := time.Unix(100, 0), time.Unix(200, 0)
	live, lost := 3, 1
	a := store.RunUpdate{Status: &running, StartedAt: &start, WorkersLive: &live, Summary: json.RawMessage(`{"a":1}`)}
	b := store.RunUpdate{Status: &done, EndedAt: &end, WorkersLost: &lost}
	m := store.MergeRunUpdate(a, b)
	if *m.Status != done || *m.StartedAt != start || *m.EndedAt != end || *m.WorkersLive != live || *m.WorkersLost != lost || string(m.Summary) != `{"a":1}` {
		t.Errorf("merged %+v", m)
	}
	if m.Phase != nil || m.WorkersTarget != nil || m.Outcome != nil || m.RowsDropped != nil {
		t.Errorf("merged sets fields neither update set: %+v", m)
	}
}
