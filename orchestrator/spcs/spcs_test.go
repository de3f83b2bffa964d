package spcs_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/unistore-bench/unistore/core"
	sfdriver "github.com/unistore-bench/unistore/driver/snowflake"
	"github.com/unistore-bench/unistore/emulator"
	"github.com/unistore-bench/unistore/internal/testsf"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/orchestrator/spcs"
)

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	cfg, err := sfdriver.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, *cfg))
	t.Cleanup(func() { db.Close() })
	return db
}

func waitDone(t *testing.T, h orchestrator.Handle) {
	t.Helper()
	select {
	case <-h.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("handle did not end")
	}
}

// TestJobService: the statements the launcher sends the (emulated)
// account, the specification they carry, the states it follows, and stop.
func TestJobService(t *testing.T) {
	srv := testsf.Start(t, testsf.Config())
	store := srv.AdminDSN()
	target := "snowflake://" + srv.DSN("LOADER", "t4rget-secret", "UNISTORE_DEMO", "PUBLIC") + "&warehouse=LOAD_WH"
	l, err := spcs.New(spcs.Config{DB: open(t, store), ComputePool: "LOAD_POOL", Image: "/db/s/repo/unistore:1",
		Store: store, Target: target, TokenFile: "/tmp/token", Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	spec := core.Spec{Workers: 3, Resources: core.Resources{CPU: "2", Memory: "4Gi"}}.WithDefaults()
	var hs []orchestrator.Handle
	for g := range 3 {
		h, err := l.Launch(context.Background(), orchestrator.Assignment{RunID: "20261204-170000-abc123", Group: g, Spec: spec})
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	var sent []string
	for _, r := range srv.Requests() {
		if r.Kind == "query" && strings.HasPrefix(r.SQL, "EXECUTE") {
			sent = append(sent, r.SQL)
		}
	}
	if len(sent) != 1 {
		t.Fatalf("%d EXECUTE statements, want 1: %q", len(sent), sent)
	}
	const name = "UNISTORE_20261204_170000_ABC123"
	if !strings.HasPrefix(sent[0], "EXECUTE JOB SERVICE IN COMPUTE POOL LOAD_POOL FROM SPECIFICATION $$\n") ||
		!strings.HasSuffix(sent[0], "$$ NAME = "+name+" ASYNC = TRUE REPLICAS = 3") {
		t.Errorf("statement:\n%s", sent[0])
	}
	for _, secret := range []string{testsf.AdminPassword, "t4rget-secret", "LOADER", testsf.AdminUser} {
		if strings.Contains(sent[0], secret) {
			t.Errorf("the statement holds %q:\n%s", secret, sent[0])
		}
	}
	jobs := srv.JobServices()
	if len(jobs) != 1 || jobs[0].Name != name || jobs[0].ComputePool != "LOAD_POOL" || jobs[0].Replicas != 3 || !jobs[0].Async {
		t.Fatalf("job services %+v", jobs)
	}
	want := `spec:
  containers:
  - args:
    - worker
    - --run-id
    - 20261204-170000-abc123
    - --join-wait
    - 10s
    env:
      UNISTORE_STORE: snowflake:///UNISTORE_BENCHMARK/TEST_RESULTS?authenticator=oauth&tokenFilePath=%2Ftmp%2Ftoken
      UNISTORE_TARGET: snowflake:///UNISTORE_DEMO/PUBLIC?authenticator=oauth&tokenFilePath=%2Ftmp%2Ftoken&warehouse=LOAD_WH
    image: /db/s/repo/unistore:1
    name: worker
    resources:
      limits:
        memory: 4Gi
      requests:
        cpu: "2"
        memory: 4Gi
`
	if strings.TrimPrefix(jobs[0].Specification, "\n") != want {
		t.Errorf("specification:\n%s\nwant:\n%s", jobs[0].Specification, want)
	}

	// A lost group is relaunched as a one-replica service pinned to it.
	h1, err := l.Launch(context.Background(), orchestrator.Assignment{RunID: "20261204-170000-abc123", Group: 1, Attempt: 1, Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	jobs = srv.JobServices()
	if len(jobs) != 2 || jobs[1].Name != name+"_G1_R1" || jobs[1].Replicas != 1 ||
		!strings.Contains(jobs[1].Specification, `UNISTORE_GROUP: "1"`) || !strings.Contains(jobs[1].Specification, `UNISTORE_ATTEMPT: "1"`) {
		t.Fatalf("relaunch: %+v", jobs)
	}
	// The relaunch ends when its service is DONE (DESCRIBE SERVICE).
	srv.SetJobServiceStatus(name+"_G1_R1", "DONE")
	waitDone(t, h1)
	if err := h1.Err(); err != nil {
		t.Errorf("a DONE service's handle: %v", err)
	}
	for _, h := range hs {
		select {
		case <-h.Done():
			t.Fatal("the run's service ended with another's")
		default:
		}
	}
	// Stop: Terminate drops the service; every replica's handle ends.
	hs[0].Terminate()
	for _, h := range hs {
		waitDone(t, h)
	}
	var drops []string
	for _, r := range srv.Requests() {
		if r.Kind == "query" && strings.HasPrefix(r.SQL, "DROP SERVICE") {
			drops = append(drops, r.SQL)
		}
	}
	if len(drops) != 1 || drops[0] != "DROP SERVICE IF EXISTS "+name {
		t.Errorf("drops %q", drops)
	}
	if jobs := srv.JobServices(); len(jobs) != 1 || jobs[0].Name != name+"_G1_R1" {
		t.Errorf("after stop: %+v", jobs)
	}
}

// TestFailedService: a service that fails ends its handles with an error.
func TestFailedService(t *testing.T) {
	srv := testsf.Start(t, testsf.Config())
	l, err := spcs.New(spcs.Config{DB: open(t, srv.AdminDSN()), ComputePool: "P", Image: "/d/s/r/u:1",
		Store: srv.AdminDSN(), Target: "sqlite:///tmp/x.db", Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, err := l.Launch(context.Background(), orchestrator.Assignment{RunID: "r-2", Spec: core.Spec{Workers: 1}.WithDefaults()})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetJobServiceStatus("UNISTORE_R_2", "FAILED")
	waitDone(t, h)
	if err := h.Err(); err == nil || !strings.Contains(err.Error(), "FAILED") {
		t.Errorf("err %v", err)
	}
}

func TestBadConfig(t *testing.T) {
	_, err := spcs.New(spcs.Config{ComputePool: "a pool", Image: "", Store: "postgres://u@h/db", Target: "postgres://u:pw@h/db"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"--compute-pool \"a pool\"", "--image", "need a snowflake:// store", "holds a secret"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), ":pw@") {
		t.Errorf("error holds the password: %v", err)
	}
}

// TestWorkerLogin: what a container does with the DSN the launcher
// gives it — host and account from SNOWFLAKE_HOST and SNOWFLAKE_ACCOUNT,
// an OAuth login with the token file's contents, read again for every
// new connection.
func TestWorkerLogin(t *testing.T) {
	cfg := testsf.Config()
	cfg.OAuthTokens = []string{"token-one", "token-two"}
	srv := testsf.Start(t, cfg)
	tokenFile := filepath.Join(t.TempDir(), "token")
	dsn, err := spcs.WorkerDSN(srv.AdminDSN(), tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SNOWFLAKE_HOST", "127.0.0.1")
	t.Setenv("SNOWFLAKE_PORT", srv.Addr()[strings.LastIndexByte(srv.Addr(), ':')+1:])
	t.Setenv("SNOWFLAKE_ACCOUNT", emulator.Account)
	login := func(token string) error {
		if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := sfdriver.ParseConfig(dsn + "&protocol=http")
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, *c))
		defer db.Close()
		var one int
		return db.QueryRowContext(context.Background(), "SELECT 1").Scan(&one)
	}
	if err := login("token-one"); err != nil {
		t.Fatalf("login with the first token: %v", err)
	}
	if err := login("token-two"); err != nil {
		t.Fatalf("login with the renewed token: %v", err)
	}
	if err := login("stale"); err == nil {
		t.Fatal("a token the account does not know logged in")
	}
	n := 0
	for _, r := range srv.Requests() {
		if r.Kind == "login" && r.User == emulator.OAuthUser && r.Code == "" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d OAuth logins, want 2", n)
	}
}

// TestReplicaFailure: one replica of a running service that fails (SHOW
// SERVICE INSTANCES IN SERVICE) is reported as its group's failure — the
// others are not, and the handles live on until the orchestrator kills
// them — and a replica that succeeded ends its handle cleanly; the
// relaunch of a group, a service of its own, maps its instance 0 to the
// group and reports the relaunch's attempt.
func TestReplicaFailure(t *testing.T) {
	srv := testsf.Start(t, testsf.Config())
	l, err := spcs.New(spcs.Config{DB: open(t, srv.AdminDSN()), ComputePool: "P", Image: "/d/s/r/u:1",
		Store: srv.AdminDSN(), Target: "sqlite:///tmp/x.db", Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const runID = "r-3"
	name := spcs.ServiceName(runID, 0, 0)
	spec := core.Spec{Workers: 3}.WithDefaults()
	var hs []orchestrator.FailureReporter
	var handles []orchestrator.Handle
	for g := range 3 {
		h, err := l.Launch(context.Background(), orchestrator.Assignment{RunID: runID, Group: g, Spec: spec})
		if err != nil {
			t.Fatal(err)
		}
		fr, ok := h.(orchestrator.FailureReporter)
		if !ok {
			t.Fatalf("handle %T is no FailureReporter", h)
		}
		hs, handles = append(hs, fr), append(handles, h)
	}
	failed := func(fr orchestrator.FailureReporter) bool { at, _ := fr.Failed(); return at >= 0 }
	if !srv.SetJobServiceInstanceStatus(name, 1, "FAILED") || !srv.SetJobServiceInstanceStatus(name, 2, "SUCCEEDED") {
		t.Fatal("no instances to set")
	}
	deadline := time.Now().Add(30 * time.Second)
	for !failed(hs[1]) {
		if time.Now().After(deadline) {
			t.Fatal("the failed replica was not reported")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if at, why := hs[1].Failed(); at != 0 || !strings.Contains(why, "instance 1 FAILED") {
		t.Errorf("group 1: Failed() = %d, %q", at, why)
	}
	waitDone(t, handles[2])
	if err := handles[2].Err(); err != nil {
		t.Errorf("a SUCCEEDED replica's handle: %v", err)
	}
	if failed(hs[0]) || failed(hs[2]) {
		t.Error("a replica that did not fail is reported failed")
	}
	for _, g := range []int{0, 1} {
		select {
		case <-handles[g].Done():
			t.Errorf("group %d's handle ended with another replica's status", g)
		default:
		}
	}
	// The orchestrator kills the failed group's handle and relaunches it.
	handles[1].Kill()
	waitDone(t, handles[1])
	h, err := l.Launch(context.Background(), orchestrator.Assignment{RunID: runID, Group: 1, Attempt: 1, Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetJobServiceInstanceStatus(spcs.ServiceName(runID, 1, 1), 0, "FAILED")
	fr := h.(orchestrator.FailureReporter)
	for !failed(fr) {
		if time.Now().After(deadline) {
			t.Fatal("the relaunch's failed replica was not reported")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if at, why := fr.Failed(); at != 1 || !strings.Contains(why, "_G1_R1 instance 0 FAILED") {
		t.Errorf("relaunch: Failed() = %d, %q", at, why)
	}
	var shows int
	for _, r := range srv.Requests() {
		if r.Kind == "query" && r.SQL == "SHOW SERVICE INSTANCES IN SERVICE "+name {
			shows++
		}
	}
	if shows == 0 {
		t.Error("no SHOW SERVICE INSTANCES IN SERVICE " + name + " sent")
	}
	handles[0].Terminate()
	h.Terminate()
}
