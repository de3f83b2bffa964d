package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/emulator"
	"github.com/unistore-bench/unistore/store"
	sfstore "github.com/unistore-bench/unistore/store/snowflake"
)

const (
	sfStoreAdmin = "STORE_ADMIN"
	sfStoreRW    = "STORE_RW"
	sfAdminPass  = "Adm1n-workers-e2e"
	sfRWPass     = "Rw-workers-e2e-9"
)

// newSnowflakeFixture is newFixture with the Snowflake pieces: one
// emulator serves the target (table t of 1000 rows in EMULATOR.PUBLIC,
// warehouse LOAD_WH) and the results store (UNISTORE_BENCHMARK.TEST_RESULTS
// through a DML-only user, warehouse STORE_WH, schema applied by an
// administrator). The fixture's helpers (start, template, killAndRelaunch,
// scaleTo, stopRun, …) work on it unchanged.
func newSnowflakeFixture(t *testing.T) (*fixture, *emulator.Server) {
	t.Helper()
	s, err := emulator.Start(emulator.Config{Users: []emulator.User{
		{Name: "LOADER", Password: sfPassword},
		{Name: sfStoreAdmin, Password: sfAdminPass},
		{Name: sfStoreRW, Password: sfRWPass, ReadWrite: true},
	}}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() }) // last: after every process is gone
	if err := s.Exec(`CREATE TABLE t (id NUMBER(18,0) PRIMARY KEY, v NUMBER(18,0) NOT NULL);
INSERT INTO t SELECT SEQ4() + 1, SEQ4() + 1 FROM TABLE(GENERATOR(ROWCOUNT => 1000));`); err != nil {
		t.Fatal(err)
	}
	f := &fixture{dir: t.TempDir(), app: "unistore_sf_e2e"}
	f.target = "snowflake://" + s.DSN("LOADER", sfPassword, emulator.DefaultDatabase, emulator.DefaultSchema) + "&warehouse=LOAD_WH"
	storeDSN := func(user, pw string) string {
		return "snowflake://" + s.DSN(user, pw, "UNISTORE_BENCHMARK", "TEST_RESULTS") + "&warehouse=STORE_WH"
	}
	if _, stderr, code := unistore(t, "schema", "apply", "--store", storeDSN(sfStoreAdmin, sfAdminPass)); code != 0 {
		t.Fatalf("schema apply: %s", stderr)
	}
	f.store = storeDSN(sfStoreRW, sfRWPass)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, f.store)
	if err != nil {
		t.Fatal(err)
	}
	f.st = st
	t.Cleanup(func() {
		f.killWorkers(t)
		st.Close()
	})
	return f, s
}

// TestSnowflakeWorkers: three worker processes with a Snowflake target
// and a Snowflake store, both on the emulator, through the same helpers
// as the PostgreSQL tests: a worker killed with SIGKILL is relaunched in
// its group, `scale` moves every worker, `stop` ends the run (exit 5);
// `runs show` prints exactly what the run printed; the cost section
// counts the control plane's writes, which the store's query tags let us
// count on the server too.
func TestSnowflakeWorkers(t *testing.T) {
	f, s := newSnowflakeFixture(t)
	out := filepath.Join(f.dir, "out.json")
	// The Snowflake store's own control timings (poll and heartbeat 1 s),
	// so the control-plane figures are those of a real run.
	p := f.start(t, "run", f.template(t, tmpl{Connections: 2, Duration: "1h", DefaultControl: true}), "--workers", "3", "--store", f.store,
		"--json", out, "--price-per-credit", "3")
	p.waitLine(t, measuring, 60*time.Second)
	id := f.runID(t)

	f.killAndRelaunch(t, id, 1, 30*time.Second)
	f.scaleTo(t, id, 3, 2, false, nil, 30*time.Second)
	f.scaleTo(t, id, 3, 3, true, nil, 30*time.Second)
	// Some measurement at the new size before the stop: a progress line
	// 20 s (UNISTORE_TEST_SF_SECONDS) or more into the run.
	secs := 20
	if n, err := strconv.Atoi(os.Getenv("UNISTORE_TEST_SF_SECONDS")); err == nil && n >= 10 && n < 100 {
		secs = n
	}
	p.waitLine(t, regexp.MustCompile(fmt.Sprintf(`^\s+(%d[%d-9]|[%d-9]\d|\d{3,})\.\ds MEASUREMENT qps`, secs/10, secs%10, min(secs/10+1, 9))),
		time.Duration(secs+70)*time.Second)
	f.stopRun(t, id)
	if code := p.wait(t, 60*time.Second); code != 5 {
		t.Fatalf("run exited %d, want 5 (stopped on request)", code)
	}
	res := readResult(t, out)
	if res.Status != "CANCELLED" || res.Workers.Lost < 1 || res.Workers.Relaunched < 1 || res.Total.Count == 0 {
		t.Errorf("result: %+v", res)
	}
	run := f.getRun(t, id)
	if run.Status != core.StatusCancelled {
		t.Errorf("RUN_STATUS %s", run.Status)
	}

	// `runs show` prints what the run printed.
	show, stderr, code := unistoreIn(t, f.store, "runs", "show", id)
	if code != 0 {
		t.Fatalf("runs show: %d %s", code, stderr)
	}
	if show != p.stdout.String() {
		t.Errorf("runs show differs from the run's summary\n--- run:\n%s\n--- runs show:\n%s", p.stdout.String(), show)
	}

	// The cost: an estimate on the target's warehouse, and the control
	// plane's writes, counted by the orchestrator and derived for the
	// worker processes' heartbeats — beside what the emulator executed
	// under the store's run tags.
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
	c := full.Cost
	if c.Source != "estimate" || c.Warehouse != "LOAD_WH" || c.Size != "X-Small" || c.Credits <= 0 || c.CreditsPer1kOps <= 0 || math.Abs(c.Dollars-c.Credits*3) > 1e-8 {
		t.Errorf("cost %+v", c)
	}
	cp := c.ControlPlane
	if cp.Store != "snowflake" || cp.Credits <= 0 || !cp.HeartbeatsEstimated || cp.Events < 4 {
		t.Errorf("control plane %+v", cp)
	}
	// Only the killed worker reported no counts: its heartbeats alone are
	// derived; the others' were counted and reported over the local
	// channel.
	if !slices.Contains(cp.EstimatedWorkers, "worker-1") || slices.Contains(cp.EstimatedWorkers, "worker-0") ||
		slices.Contains(cp.EstimatedWorkers, "worker-2") {
		t.Errorf("heartbeats estimated for %v, want the killed worker-1 (and any other lost one) only", cp.EstimatedWorkers)
	}
	byOp := map[string]int64{}
	for _, q := range s.Requests() {
		if q.Kind == "query" && strings.HasPrefix(q.QueryTag, sfstore.RunTag(id, "")) {
			byOp[strings.TrimPrefix(q.QueryTag, sfstore.RunTag(id, ""))]++
		}
	}
	hb := byOp[sfstore.OpPutHeartbeat]
	if d := hb - cp.Heartbeats; d*4 > hb+12 || -d*4 > hb+12 {
		t.Errorf("heartbeats counted and derived %d, executed %d: more than a quarter apart", cp.Heartbeats, hb)
	}
	writes := byOp[sfstore.OpCreateRun] + byOp[sfstore.OpUpdateRun] + byOp[sfstore.OpAppendEvent] + hb + byOp[sfstore.OpWriteSnapshots]
	all := int64(0)
	for _, n := range byOp {
		all += n
	}
	t.Logf("control plane (result): %d writes (%d run status, %d events, %d heartbeats (derived for %v), %d snapshot rows) over %.2f worker-minutes: %.1f per worker-minute, %.6f credits; model: %s",
		cp.Writes, cp.RunStatus, cp.Events, cp.Heartbeats, cp.EstimatedWorkers, cp.SnapshotRows, cp.WorkerMinutes, cp.WritesPerWorkerMin, cp.Credits, cp.Model)
	t.Logf("store statements executed under the run's tags: %v; write statements %d (%.1f per worker-minute), all statements %d (%.1f per worker-minute)",
		byOp, writes, float64(writes)/cp.WorkerMinutes, all, float64(all)/cp.WorkerMinutes)
	t.Logf("cost: %.6f credits estimated (%s, %.0f cluster-s billed of %.1f s), %.9f per 1k ok ops, $%.4f", c.Credits, c.Size, c.BilledSeconds, c.WallSeconds, c.CreditsPer1kOps, c.Dollars)

	// `runs enrich` reads the emulator's ACCOUNT_USAGE: metered credits and
	// the server's per-operation figures of the measurement.
	enriched, stderr, code := unistoreIn(t, f.store, "runs", "enrich", id, "--target", f.target, "--json")
	if code != 0 {
		t.Fatalf("runs enrich: %d %s", code, stderr)
	}
	var e struct {
		Cost   core.CostStats   `json:"cost"`
		Server core.ServerStats `json:"server"`
	}
	if err := json.Unmarshal([]byte(enriched), &e); err != nil {
		t.Fatalf("%v: %s", err, enriched)
	}
	if e.Cost.Source != "metered" || e.Cost.Enrichment == nil || e.Cost.Enrichment.Status != core.EnrichCompleted || e.Server.Status != core.EnrichCompleted {
		t.Fatalf("enriched: %s", enriched)
	}
	// The server counts no fewer calls than the client but for one in
	// flight per connection at the warm-up's end (tagged WARMUP, counted
	// MEASUREMENT); it may count more: the killed worker's last interval
	// never reached the store (TestEnrichSnowflake holds the match on a
	// run without a loss).
	for name, op := range e.Server.Operations {
		if op.Calls == 0 || op.ClientCalls == 0 || op.Calls < op.ClientCalls-6 {
			t.Errorf("%s: server %+v", name, op)
		}
		t.Logf("%s: server calls %d, client %d (diff %+d); server mean %.3f ms p99 %.3f ms; client mean %.3f ms p99 %.3f ms; app overhead mean %.3f ms",
			name, op.Calls, op.ClientCalls, op.CallsDiff, op.MeanMS, op.P99MS, op.ClientMeanMS, op.ClientP99MS, op.AppOverheadMeanMS)
	}
	show2, _, _ := unistoreIn(t, f.store, "runs", "show", id)
	if !strings.Contains(show2, "cost (metered)") || !strings.Contains(show2, "server (aggregate_query_history): COMPLETED") {
		t.Errorf("runs show after enrich:\n%s", show2)
	}
	for _, text := range []string{p.stdout.String(), p.stderr(), string(b), show, enriched} {
		for _, pw := range []string{sfPassword, sfAdminPass, sfRWPass} {
			if strings.Contains(text, pw) {
				t.Error("a password appears in the output")
			}
		}
	}
}
