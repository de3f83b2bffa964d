package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/testpg"
)

// TestControlWritesCounted: with worker processes launched by the
// orchestrator, each worker counts its own control-plane writes and
// reports them over its local channel, so the cost's control plane is
// counted, not derived: its heartbeats are exactly the heartbeat upserts
// the store's server executed (pg_stat_statements of the store's
// database), and its snapshot rows the rows stored.
func TestControlWritesCounted(t *testing.T) {
	f := newFixture(t)
	testpg.Exec(t, f.store, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
	out := filepath.Join(f.dir, "out.json")
	p := f.start(t, "run", f.template(t, tmpl{Warmup: "500ms", Duration: "2s"}), "--workers", "2", "--launcher", "process",
		"--store", f.store, "--json", out)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, p.stderr())
	}
	res := readResult(t, out)
	var full struct {
		Cost core.CostStats `json:"cost"`
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &full); err != nil {
		t.Fatal(err)
	}
	cp := full.Cost.ControlPlane
	if cp.HeartbeatsEstimated || len(cp.EstimatedWorkers) != 0 {
		t.Errorf("heartbeats estimated (for %v) though every worker had a local channel: %+v", cp.EstimatedWorkers, cp)
	}
	executed := testpg.QueryInt(t, f.store, `SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND query ILIKE 'INSERT INTO %worker_heartbeats%'`)
	if executed == 0 || cp.Heartbeats != executed {
		t.Errorf("heartbeats counted %d, the store executed %d heartbeat upserts", cp.Heartbeats, executed)
	}
	stored := int64(len(f.snapshots(t, res.RunID)))
	if res.Workers.Relaunched == 0 && (cp.SnapshotRows != stored || res.Store == nil || res.Store.SnapshotsStored != stored) {
		t.Errorf("snapshot rows counted %d, stored %d (result's store %+v)", cp.SnapshotRows, stored, res.Store)
	}
	if cp.Writes != cp.RunStatus+cp.Events+cp.Heartbeats+cp.SnapshotRows || cp.RunStatus < 3 || cp.Events < 2 {
		t.Errorf("control plane %+v", cp)
	}
	t.Logf("control plane: %d writes (%d run status, %d events, %d heartbeats, %d snapshot rows); the store executed %d heartbeat upserts",
		cp.Writes, cp.RunStatus, cp.Events, cp.Heartbeats, cp.SnapshotRows, executed)
}
