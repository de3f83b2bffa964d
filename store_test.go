package unistore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/unistore-bench/unistore/store/postgres"
	_ "github.com/unistore-bench/unistore/store/sqlite"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/emulator"
	"github.com/unistore-bench/unistore/examples"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/internal/testsf"
	"github.com/unistore-bench/unistore/store"
	sfstore "github.com/unistore-bench/unistore/store/snowflake"
)

// Tests of runs recorded in the results store, on real PostgreSQL (through
// internal/testpg) and real SQLite.

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func openStore(t *testing.T, dsn string) store.Store {
	t.Helper()
	st, err := store.Open(ctxFor(t, 30*time.Second), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// pgStore makes a fresh PostgreSQL store database, applies the schema as
// the superuser, and opens it through a DML-only role
// (testpg.RestrictedRole): nothing done through it can be DDL. It returns
// the superuser DSN (for the test's own queries), the role's DSN and the
// store.
func pgStore(t *testing.T) (admin, dsn string, st store.Store) {
	t.Helper()
	admin = testpg.NewDatabase(t)
	if err := store.ApplySchema(ctxFor(t, 30*time.Second), admin); err != nil {
		t.Fatal(err)
	}
	dsn = testpg.RestrictedRole(t, admin)
	return admin, dsn, openStore(t, dsn)
}

// sqliteStore makes a new SQLite store file with the schema applied and
// returns its path and the open store.
func sqliteStore(t *testing.T) (path string, st store.Store) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "unistore.db")
	dsn := "sqlite://" + path
	if err := store.ApplySchema(ctxFor(t, 30*time.Second), dsn); err != nil {
		t.Fatal(err)
	}
	return path, openStore(t, dsn)
}

// quickstartSpec is a point-select run on a new SQLite quickstart database
// of 1000 accounts: a target that needs no server.
func quickstartSpec(t *testing.T) unistore.Spec {
	t.Helper()
	path := filepath.Join(t.TempDir(), "target.db")
	if err := examples.SetupQuickstart(context.Background(), path, 1000); err != nil {
		t.Fatal(err)
	}
	return unistore.Spec{
		Name: "quickstart-get", Target: unistore.Target{DSN: "sqlite://" + path}, Connections: 2,
		Warmup: core.Duration(300 * time.Millisecond), Duration: core.Duration(time.Second), Seed: 5,
		Workload: unistore.WorkloadSpec{Operations: []unistore.OperationSpec{{
			Name: "get", SQL: "SELECT balance FROM accounts WHERE id = ?",
			Params: []unistore.ParamSpec{{Gen: "uniform", Min: i64(1), Max: i64(1000)}},
		}}},
	}
}

// TestStoredRunDMLOnlyRole: a whole run with capture all, recorded in a
// PostgreSQL store reached only through a role that holds no DDL right —
// the proof that nothing runs DDL at run time — leaves a complete record:
// the RUN_STATUS lifecycle, the control events, the final heartbeat and
// every counted execution.
func TestStoredRunDMLOnlyRole(t *testing.T) {
	target := pgTable(t, 1000)
	_, _, st := pgStore(t)
	spec := selectSpec(target, 1000)
	spec.Connections = 3
	spec.Capture = core.CaptureAll
	ctx := ctxFor(t, time.Minute)
	res, err := unistore.Run(ctx, spec, unistore.WithStore(st), unistore.WithInterval(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != core.StatusCompleted || res.RowsDropped != 0 {
		t.Fatalf("run: status %s, %d rows dropped (%+v); want COMPLETED, none dropped", res.Status, res.RowsDropped, res.Store)
	}

	run, err := st.GetRun(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != core.StatusCompleted || run.Phase != core.PhaseDone {
		t.Errorf("RUN_STATUS: status %s phase %s, want COMPLETED DONE", run.Status, run.Phase)
	}
	if run.StartedAt.IsZero() || run.WarmupEndedAt.IsZero() || run.EndedAt.IsZero() {
		t.Errorf("RUN_STATUS times: started %v, warm-up ended %v, ended %v: want all set", run.StartedAt, run.WarmupEndedAt, run.EndedAt)
	}
	if !run.StartedAt.Before(run.WarmupEndedAt) || !run.WarmupEndedAt.Before(run.EndedAt) {
		t.Errorf("RUN_STATUS times out of order: %v, %v, %v", run.StartedAt, run.WarmupEndedAt, run.EndedAt)
	}
	if run.RowsDropped != 0 {
		t.Errorf("RUN_STATUS rows_dropped %d, want 0", run.RowsDropped)
	}

	// START, SET_PHASE (to MEASUREMENT) and STOP, once each, in that
	// order (other kinds, e.g. worker targets, may come between).
	events, err := st.EventsSince(ctx, res.RunID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []control.EventKind
	for _, e := range events {
		switch e.Kind {
		case control.EventStart, control.EventSetPhase, control.EventStop:
			kinds = append(kinds, e.Kind)
		}
		if e.Kind == control.EventSetPhase && !strings.Contains(string(e.Payload), string(core.PhaseMeasurement)) {
			t.Errorf("SET_PHASE payload %s, want the MEASUREMENT phase", e.Payload)
		}
	}
	if d := cmp.Diff([]control.EventKind{control.EventStart, control.EventSetPhase, control.EventStop}, kinds); d != "" {
		t.Errorf("control events (-want +got):\n%s", d)
	}

	hbs, err := st.ListHeartbeats(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	for _, h := range hbs {
		stopped = stopped || h.WorkerID == "worker-0" && h.Status == "STOPPED"
	}
	if !stopped {
		t.Errorf("no STOPPED heartbeat for worker-0: %+v", hbs)
	}

	// Capture all stores every execution the run counted, warm-up
	// included, and nothing else: executions in flight at the stop are
	// neither counted nor captured, so the equality is exact.
	n, err := st.CountExecutions(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if counted := res.Warmup.Count + res.Total.Count; n != counted || n != res.Store.ExecutionsStored {
		t.Errorf("%d executions stored (writer says %d); warm-up %d + measurement %d = %d counted",
			n, res.Store.ExecutionsStored, res.Warmup.Count, res.Total.Count, counted)
	}
	execs, err := st.Executions(ctx, store.ExecutionFilter{RunID: res.RunID})
	if err != nil {
		t.Fatal(err)
	}
	var measured int64
	for _, e := range execs {
		if e.Phase == core.PhaseMeasurement {
			measured++
		}
	}
	// An execution is tagged with the phase of the recorder interval it
	// was recorded into (metrics.Recorder.Record returns it), the very
	// interval the snapshots count it in: the split is exact too.
	if measured != res.Total.Count {
		t.Errorf("%d executions stored with phase MEASUREMENT, %d counted in the measurement phase", measured, res.Total.Count)
	}
	t.Logf("warm-up %d, measurement %d, stored %d (%d MEASUREMENT), snapshots %d",
		res.Warmup.Count, res.Total.Count, n, measured, res.Store.SnapshotsStored)
}

// TestResultFromStoreIdentical: the result recomputed from the stored
// snapshots (every interval histogram merged) is exactly the result the
// run returned — percentiles, counts, times, open-model counts and
// response-time histograms — on every store kind.
func TestResultFromStoreIdentical(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlite", func(t *testing.T) store.Store { _, st := sqliteStore(t); return st }},
		{"postgres", func(t *testing.T) store.Store { _, _, st := pgStore(t); return st }},
		{"snowflake-emulator", func(t *testing.T) store.Store { return openStore(t, testsf.StoreDSN(t)) }},
	}
	models := []struct {
		name string
		rate float64
	}{{"closed", 0}, {"open", 400}}
	for _, sk := range stores {
		for _, m := range models {
			t.Run(sk.name+"/"+m.name, func(t *testing.T) {
				st := sk.open(t)
				spec := quickstartSpec(t)
				spec.Rate = m.rate // capture: the default sample
				ctx := ctxFor(t, time.Minute)
				res, err := unistore.Run(ctx, spec, unistore.WithStore(st), unistore.WithInterval(100*time.Millisecond))
				if err != nil {
					t.Fatal(err)
				}
				if res.RowsDropped != 0 || res.Total.Count == 0 {
					t.Fatalf("run: %d counted, %d rows dropped: want load and nothing dropped", res.Total.Count, res.RowsDropped)
				}
				if m.rate > 0 && (res.Open == nil || res.Total.Response == nil) {
					t.Fatalf("open-model run without open-model figures: %+v", res)
				}
				got, err := unistore.ResultFromStore(ctx, st, res.RunID)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(res, got); d != "" {
					t.Errorf("ResultFromStore differs from the run's result (-run +store):\n%s", d)
				}
			})
		}
	}
}

// TestStoreOutageDuringRun: the store's server goes down for ~3 s in the
// middle of a capture-all run and comes back. The run completes; every
// row the workers produced is either stored or counted as dropped; rows
// produced after the restart reach the store; and RUN_STATUS records the
// outcome and the drops. PostgreSQL is stopped and started; the Snowflake
// emulator answers every statement — control plane and results alike —
// with HTTP 503 for the while (the driver's retries are off, so each is an
// error at once).
func TestStoreOutageDuringRun(t *testing.T) {
	type outage struct {
		st       store.Store
		down, up func()
		// rate (0: closed loop) and buffer size of the load: the emulator
		// stores a few thousand rows a second (fewer under -race), so its
		// load is paced to let rows produced after the outage through.
		// The PostgreSQL case is paced too: closed, the load made ~10k
		// rows/s under -race, and a CI run running every package at once
		// dropped 248 rows. The likely window: while a flush attempt
		// hangs, the writer's watch spools at nine-tenths full, and 500
		// rows (47 ms at that rate) later the buffer is full and rows
		// drop — less than a goroutine may wait for a core on a loaded
		// machine. At 2000/s the 3 s outage still fills half the buffer,
		// where a failing writer spools, and nine-tenths is 400 ms from
		// full.
		rate   float64
		buffer int
		// executionsAfter counts the run's stored executions that started
		// after at.
		executionsAfter func(runID string, at time.Time) int64
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, ctx context.Context) outage
	}{
		{"postgres", func(t *testing.T, ctx context.Context) outage {
			pg := testpg.StartPrivate(t)
			if err := store.ApplySchema(ctx, pg.DSN); err != nil {
				t.Fatal(err)
			}
			return outage{st: openStore(t, pg.DSN), down: pg.Stop, up: pg.Start, rate: 2000, buffer: 8000,
				executionsAfter: func(runID string, at time.Time) int64 {
					return testpg.QueryInt(t, pg.DSN, `SELECT count(*) FROM test_results.query_executions WHERE run_id = $1 AND started_at > $2`, runID, at)
				}}
		}},
		{"snowflake-emulator", func(t *testing.T, ctx context.Context) outage {
			sf := testsf.Start(t, testsf.Config())
			st := openStore(t, sf.RunDSN())
			return outage{st: st, rate: 200, buffer: 500,
				down: func() { sf.Inject(emulator.Fault{Kind: emulator.HTTPError, Status: 503}) },
				up:   sf.ClearFaults,
				executionsAfter: func(runID string, at time.Time) int64 {
					var n int64
					if err := st.(*sfstore.Store).DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM UNISTORE_BENCHMARK.TEST_RESULTS.QUERY_EXECUTIONS
						WHERE run_id = ? AND started_at > ?`, runID, at.UTC()).Scan(&n); err != nil {
						t.Fatal(err)
					}
					return n
				}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxFor(t, 2*time.Minute)
			o := tc.setup(t, ctx)
			storeOutageDuringRun(t, ctx, o.st, o.rate, o.buffer, o.down, o.up, o.executionsAfter)
		})
	}
}

func storeOutageDuringRun(t *testing.T, ctx context.Context, st store.Store, rate float64, buffer int,
	down, up func(), executionsAfter func(string, time.Time) int64) {
	spec := quickstartSpec(t)
	spec.Duration = core.Duration(8 * time.Second)
	spec.Capture = core.CaptureAll
	spec.Rate = rate
	spoolDir := t.TempDir()

	// The progress callback must not block the run, so it only signals;
	// the test's goroutine stops the server.
	var (
		once      sync.Once
		measuring time.Time
	)
	outage := make(chan struct{})
	progress := func(p unistore.Progress) {
		if p.Phase != core.PhaseMeasurement {
			return
		}
		if measuring.IsZero() {
			measuring = time.Now()
		}
		if time.Since(measuring) >= 500*time.Millisecond {
			once.Do(func() { close(outage) })
		}
	}
	type outcome struct {
		res *unistore.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := unistore.Run(ctx, spec, unistore.WithStore(st), unistore.WithInterval(100*time.Millisecond),
			unistore.WithProgress(progress), unistore.WithFlushTimeout(10*time.Second), unistore.WithSpoolDir(spoolDir),
			unistore.WithWriterConfig(store.WriterConfig{Buffer: buffer, BatchSize: 1000,
				FlushInterval: 100 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 250 * time.Millisecond}))
		done <- outcome{res, err}
	}()
	var restarted time.Time
	select {
	case <-outage:
		t0 := time.Now()
		down()
		t.Logf("store stopped in %v", time.Since(t0))
		time.Sleep(3 * time.Second) // the outage itself, not synchronisation
		t0 = time.Now()
		up()
		restarted = time.Now()
		t.Logf("store started in %v", restarted.Sub(t0))
	case o := <-done:
		t.Fatalf("run ended before the outage: %+v, %v", o.res, o.err)
	}
	o := <-done
	res, err := o.res, o.err
	if err != nil {
		t.Fatal(err)
	}
	if !restarted.Before(res.EndedAt) {
		t.Fatalf("the store came back at %v, after the run ended at %v: the test proves nothing", restarted, res.EndedAt)
	}
	if res.Status != core.StatusCompleted {
		t.Errorf("status %s (%s), want COMPLETED", res.Status, res.Error)
	}
	s := res.Store
	t.Logf("warm-up %d + measurement %d executions; store: %+v", res.Warmup.Count, res.Total.Count, *s)
	produced := res.Warmup.Count + res.Total.Count
	if s.ExecutionsStored+s.ExecutionsSpooled+s.ExecutionsDropped != produced {
		t.Errorf("executions: %d stored + %d spooled + %d dropped != %d produced", s.ExecutionsStored, s.ExecutionsSpooled,
			s.ExecutionsDropped, produced)
	}
	// Executions fill the buffer during the outage: once it is half
	// full they go to the spool, not away. Snapshots — a few rows a
	// second — fit it. Nothing is dropped (the disk is not full); then
	// produced = stored shows as intervals that tile the run with no gap
	// (one operation: one row per interval).
	if s.SnapshotsDropped != 0 || s.ExecutionsDropped != 0 {
		t.Errorf("%d snapshots and %d executions dropped: the spool takes what the buffer (%d rows) cannot",
			s.SnapshotsDropped, s.ExecutionsDropped, buffer)
	}
	snaps, err := st.Snapshots(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(snaps)) != s.SnapshotsStored {
		t.Errorf("%d snapshot rows in the store, the writer stored %d", len(snaps), s.SnapshotsStored)
	}
	// Per worker, intervals follow each other without overlap: a row
	// stored twice, or an interval that ends before it starts, shows. (A
	// gap is legal: an interval without load has no row.)
	last := map[string]store.Snapshot{}
	for _, r := range snaps {
		if r.IntervalEnd.Before(r.IntervalStart) {
			t.Errorf("%s: snapshot interval ends (%v) before it starts (%v)", r.WorkerID, r.IntervalEnd, r.IntervalStart)
		}
		if prev, ok := last[r.WorkerID]; ok && r.IntervalStart.Before(prev.IntervalEnd) {
			t.Errorf("%s: snapshot intervals overlap: %v..%v then %v..%v", r.WorkerID,
				prev.IntervalStart, prev.IntervalEnd, r.IntervalStart, r.IntervalEnd)
		}
		last[r.WorkerID] = r
	}
	if res.RowsDropped != s.SnapshotsDropped+s.ExecutionsDropped {
		t.Errorf("rows_dropped %d != %d + %d", res.RowsDropped, s.SnapshotsDropped, s.ExecutionsDropped)
	}
	if s.ExecutionsSpooled == 0 {
		t.Log("no execution spooled: the load was too slow to fill the buffer during the outage")
	}
	n, err := st.CountExecutions(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if n != s.ExecutionsStored {
		t.Errorf("%d executions in the store, the writer stored %d", n, s.ExecutionsStored)
	}
	if after := executionsAfter(res.RunID, restarted); after == 0 {
		t.Errorf("no execution that started after the restart (%v) was stored (run ended %v): the writer did not recover",
			restarted.UTC(), res.EndedAt)
	}
	run, err := st.GetRun(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != core.StatusCompleted || run.RowsDropped != res.RowsDropped {
		t.Errorf("RUN_STATUS: status %s rows_dropped %d; want COMPLETED and %d", run.Status, run.RowsDropped, res.RowsDropped)
	}
	// What was spooled is loaded by Recover, once: then every execution
	// the run produced is in the store.
	if res.RowsSpooled > 0 {
		if res.FullyRecorded() {
			t.Errorf("%d rows spooled, yet the result says it is fully recorded", res.RowsSpooled)
		}
		if _, err := unistore.Recover(ctx, st, spoolDir); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.CountExecutions(ctx, res.RunID); err != nil || n != produced {
		t.Errorf("%d executions in the store after Recover (%v), %d produced", n, err, produced)
	}
}

// TestNoSecretStored: with passwords in both the target's and the store's
// DSN, no stored text or JSON value contains either (and, on the Snowflake
// emulator, no statement or bound value sent to it).
func TestNoSecretStored(t *testing.T) {
	const targetSecret = "tgt-secret-987"
	target, err := url.Parse(pgTable(t, 100))
	if err != nil {
		t.Fatal(err)
	}
	// The test server trusts every local login: any password is accepted.
	target.User = url.UserPassword("postgres", targetSecret)
	spec := selectSpec(target.String(), 100)
	spec.Capture = "sample:0.1" // some executions of every kind of row, without flooding SQLite under -race

	t.Run("postgres", func(t *testing.T) {
		admin, dsn, st := pgStore(t)
		u, _ := url.Parse(dsn)
		storeSecret, ok := u.User.Password()
		if !ok || storeSecret == "" {
			t.Fatalf("the restricted role's DSN has no password")
		}
		runForSecrets(t, spec, st)
		st.Close()
		found := pgTextContaining(t, admin, targetSecret, storeSecret)
		if len(found) > 0 {
			t.Errorf("secrets stored: %v", found)
		}
	})
	t.Run("snowflake-emulator", func(t *testing.T) {
		dir := t.TempDir()
		cfg := testsf.Config()
		cfg.DB = "sqlite://" + dir
		sf := testsf.Start(t, cfg)
		st := openStore(t, sf.RunDSN())
		runForSecrets(t, spec, st)
		st.Close()
		secrets := []string{targetSecret, testsf.RunPassword, testsf.AdminPassword}
		files, err := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		if err != nil || len(files) < 2 {
			t.Fatalf("emulator files %v (%v): want the TEST_RESULTS and CONFIG namespaces", files, err)
		}
		for _, f := range files {
			if strings.Contains(f, ".TEST_RESULTS.") {
				if found := sqliteTextContaining(t, f, secrets...); len(found) > 0 {
					t.Errorf("secrets stored: %v", found)
				}
			}
			// Every namespace's bytes, templates included.
			for _, f := range []string{f, f + "-wal"} {
				b, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				for _, sec := range secrets {
					if strings.Contains(string(b), sec) {
						t.Errorf("%s holds a password", filepath.Base(f))
					}
				}
			}
		}
		// Nor did a statement or a bound value carry one.
		for _, r := range sf.Requests() {
			for _, sec := range secrets {
				if strings.Contains(r.SQL, sec) || strings.Contains(strings.Join(r.Binds, "\x00"), sec) {
					t.Errorf("request %s %q carried a password", r.Kind, r.SQL)
				}
			}
		}
	})
	t.Run("sqlite", func(t *testing.T) {
		path, st := sqliteStore(t)
		runForSecrets(t, spec, st)
		st.Close()
		if found := sqliteTextContaining(t, path, targetSecret); len(found) > 0 {
			t.Errorf("secret stored: %v", found)
		}
		// And not anywhere in the file's bytes either.
		for _, f := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if strings.Contains(string(b), targetSecret) {
				t.Errorf("%s holds the target's password", filepath.Base(f))
			}
		}
	})
}

func runForSecrets(t *testing.T, spec unistore.Spec, st store.Store) {
	t.Helper()
	ctx := ctxFor(t, time.Minute)
	res, err := unistore.Run(ctx, spec, unistore.WithStore(st), unistore.WithInterval(200*time.Millisecond),
		unistore.WithTemplateName("secret-test"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.CountExecutions(ctx, res.RunID); err != nil || n == 0 {
		t.Fatalf("no executions stored (%v): nothing to search", err)
	}
	if _, err := st.SaveTemplate(ctx, store.Template{Name: "secret-test", Body: "name: x\n"}); err != nil {
		t.Fatal(err)
	}
}

// pgTextContaining returns "schema.table.column" for every text, varchar,
// json or jsonb column of the store's schemas holding one of secrets.
func pgTextContaining(t *testing.T, dsn string, secrets ...string) []string {
	t.Helper()
	ctx := ctxFor(t, time.Minute)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_schema, table_name, column_name FROM information_schema.columns
		WHERE table_schema IN ('test_results', 'config')
		AND data_type IN ('text', 'character varying', 'json', 'jsonb') ORDER BY 1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([3]string, error) {
		var c [3]string
		return c, r.Scan(&c[0], &c[1], &c[2])
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) < 10 {
		t.Fatalf("only %d text columns found: %v", len(cols), cols)
	}
	var found []string
	for _, c := range cols {
		for _, s := range secrets {
			q := fmt.Sprintf(`SELECT count(*) FROM %s WHERE strpos(%s::text, $1) > 0`,
				pgx.Identifier{c[0], c[1]}.Sanitize(), pgx.Identifier{c[2]}.Sanitize())
			var n int64
			if err := conn.QueryRow(ctx, q, s).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if n > 0 {
				found = append(found, fmt.Sprintf("%s.%s.%s (%d rows)", c[0], c[1], c[2], n))
			}
		}
	}
	t.Logf("searched %d text columns", len(cols))
	return found
}

// sqliteTextContaining returns "table.column" for every TEXT column of the
// SQLite store at path holding one of secrets.
func sqliteTextContaining(t *testing.T, path string, secrets ...string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := ctxFor(t, time.Minute)
	var tables []string
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var found []string
	ncols := 0
	for _, tbl := range tables {
		rows, err := db.QueryContext(ctx, `SELECT name, type FROM pragma_table_info(?)`, tbl)
		if err != nil {
			t.Fatal(err)
		}
		var cols []string
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			if strings.EqualFold(typ, "TEXT") || strings.Contains(strings.ToUpper(typ), "CHAR") || strings.EqualFold(typ, "JSON") {
				cols = append(cols, name)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			ncols++
			for _, s := range secrets {
				var n int64
				q := fmt.Sprintf(`SELECT count(*) FROM "%s" WHERE instr("%s", ?) > 0`, tbl, c)
				if err := db.QueryRowContext(ctx, q, s).Scan(&n); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				if n > 0 {
					found = append(found, fmt.Sprintf("%s.%s (%d rows)", tbl, c, n))
				}
			}
		}
	}
	if ncols < 10 {
		t.Fatalf("only %d text columns found in %v", ncols, tables)
	}
	t.Logf("searched %d text columns of %d tables", ncols, len(tables))
	return found
}

// testpgRow runs a one-row query on dsn.
func testpgRow(t *testing.T, dsn, sql string, args ...any) pgx.Row {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn.QueryRow(ctx, sql, args...)
}
