package main_test

// A Snowpark Container Services launch sequence on one machine: the real
// SPCS launcher sends EXECUTE JOB SERVICE to the emulator (the store's
// account); a double of the compute pool reads the job service the
// emulator recorded and starts a `unistore worker` process per replica
// with what a container gets — the specification's arguments and
// environment, SNOWFLAKE_JOB_INDEX, SNOWFLAKE_HOST/PORT/ACCOUNT and the
// session token file — and reports DONE when they have exited.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	us "github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/emulator"
	"github.com/unistore-bench/unistore/internal/testsf"
	"github.com/unistore-bench/unistore/orchestrator/spcs"
	"github.com/unistore-bench/unistore/store"
)

// computePool runs the replicas of every job service srv records.
func computePool(t *testing.T, srv *testsf.Server, ctx context.Context) (started func() [][]string, wait func()) {
	var mu sync.Mutex
	var envs [][]string
	var wg sync.WaitGroup
	seen := map[string]bool{}
	port := srv.Addr()[strings.LastIndexByte(srv.Addr(), ':')+1:]
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, j := range srv.JobServices() {
				if seen[j.Name] {
					continue
				}
				seen[j.Name] = true
				var spec struct {
					Spec struct {
						Containers []struct {
							Name      string            `json:"name"`
							Image     string            `json:"image"`
							Args      []string          `json:"args"`
							Env       map[string]string `json:"env"`
							Resources map[string]any    `json:"resources"`
						} `json:"containers"`
					} `json:"spec"`
				}
				if err := yaml.UnmarshalStrict([]byte(j.Specification), &spec); err != nil {
					t.Errorf("job service %s: specification: %v", j.Name, err)
					continue
				}
				c := spec.Spec.Containers[0]
				var procs sync.WaitGroup
				failed := false
				for i := range j.Replicas {
					env := []string{}
					for _, kv := range os.Environ() {
						if !strings.HasPrefix(kv, "UNISTORE_") && !strings.HasPrefix(kv, "SNOWFLAKE_") {
							env = append(env, kv)
						}
					}
					for k, v := range c.Env {
						if k == "UNISTORE_STORE" {
							v += "&protocol=http" // the emulator speaks HTTP, a pool's endpoint HTTPS
						}
						env = append(env, k+"="+v)
					}
					env = append(env, "SNOWFLAKE_JOB_INDEX="+strconv.Itoa(i), "SNOWFLAKE_JOBS_COUNT="+strconv.Itoa(j.Replicas),
						"SNOWFLAKE_HOST=127.0.0.1", "SNOWFLAKE_PORT="+port, "SNOWFLAKE_ACCOUNT="+emulator.Account,
						"SNOWFLAKE_DATABASE="+j.Database, "SNOWFLAKE_SCHEMA="+j.Schema, "SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true")
					cmd := exec.Command(bin, c.Args...)
					cmd.Env = env
					if err := cmd.Start(); err != nil {
						t.Error(err)
						continue
					}
					mu.Lock()
					envs = append(envs, env)
					mu.Unlock()
					procs.Add(1)
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer procs.Done()
						done := make(chan error, 1)
						go func() { done <- cmd.Wait() }()
						select {
						case err := <-done:
							if err != nil {
								mu.Lock()
								failed = true
								mu.Unlock()
							}
						case <-ctx.Done():
							_ = cmd.Process.Kill()
							<-done
						}
					}()
				}
				wg.Add(1)
				go func(name string) {
					defer wg.Done()
					procs.Wait()
					mu.Lock()
					state := map[bool]string{false: "DONE", true: "FAILED"}[failed]
					mu.Unlock()
					srv.SetJobServiceStatus(name, state)
				}(j.Name)
			}
		}
	}()
	return func() [][]string {
			mu.Lock()
			defer mu.Unlock()
			return append([][]string(nil), envs...)
		}, func() {
			wg.Wait()
		}
}

// TestSPCSLaunchSequence: two replicas find their groups in
// SNOWFLAKE_JOB_INDEX, log in to the store with the session token file's
// OAuth token, and complete the run; the statement sent holds no secret.
func TestSPCSLaunchSequence(t *testing.T) {
	cfg := testsf.Config()
	cfg.OAuthTokens = []string{"spcs-session-token"}
	srv := testsf.Start(t, cfg)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("spcs-session-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(path, []byte(`name: spcs
target: {dsn: "sqlite://`+filepath.Join(dir, "target.db")+`"}
workers: 2
connections: 1
warmup: 0s
duration: 3s
rate: 100
capture: none
control: {poll: 100ms, heartbeat: 200ms, heartbeat_timeout: 3s, lease: 5s}
workload:
  operations:
    - {name: one, sql: "SELECT ?", params: [{gen: uniform, min: 1, max: 10}]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	tp, err := us.LoadTemplate(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started, wait := computePool(t, srv, ctx)
	defer func() {
		cancel()
		wait()
	}()
	st, err := store.Open(context.Background(), srv.RunDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l, err := spcs.New(spcs.Config{Connection: srv.AdminDSN(), ComputePool: "LOAD_POOL", Image: "/db/s/repo/unistore:1",
		Store: srv.RunDSN(), Target: tp.Spec.Target.DSN, TokenFile: tokenFile, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, err := us.Start(context.Background(), tp.Spec, us.WithStore(st), us.WithLauncher(l))
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Wait()
	if err != nil || res.Status != core.StatusCompleted || res.Total.Count == 0 || res.Workers.Lost != 0 {
		t.Fatalf("run: %v, result %+v", err, res)
	}
	groups := map[int]bool{}
	hbs, err := st.ListHeartbeats(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, hb := range hbs {
		groups[hb.Group] = true
	}
	if len(groups) != 2 || len(started()) != 2 {
		t.Errorf("groups %v heartbeated, %d replicas started", groups, len(started()))
	}
	var executes, oauth int
	for _, r := range srv.Requests() {
		switch {
		case r.Kind == "query" && strings.HasPrefix(r.SQL, "EXECUTE JOB SERVICE"):
			executes++
			if !strings.HasSuffix(r.SQL, "ASYNC = TRUE REPLICAS = 2") {
				t.Errorf("statement %s", r.SQL)
			}
			for _, secret := range []string{testsf.RunPassword, testsf.AdminPassword, "spcs-session-token"} {
				if strings.Contains(r.SQL, secret) {
					t.Errorf("the statement holds %q", secret)
				}
			}
		case r.Kind == "login" && r.User == emulator.OAuthUser && r.Code == "":
			oauth++
		}
	}
	if executes != 1 || oauth < 2 {
		t.Errorf("%d EXECUTE JOB SERVICE, %d OAuth logins; want 1 and one or more per replica", executes, oauth)
	}
}

// BenchmarkSnowflakeControlPlane measures the statements a run's control
// plane sends a Snowflake store (the emulator), with a Snowflake store's
// default timings (1 s poll and heartbeat): per worker-minute in all, and
// by the table each names. One iteration is one 30 s run of two worker
// processes at a low rate:
//
//	go test -run '^$' -bench SnowflakeControlPlane -benchtime 1x ./cmd/unistore/
func BenchmarkSnowflakeControlPlane(b *testing.B) {
	const workers = 2
	for b.Loop() {
		srv := testsf.Start(b, testsf.Config())
		dir := b.TempDir()
		path := filepath.Join(dir, "t.yaml")
		if err := os.WriteFile(path, []byte(`name: sf-control
target: {dsn: "sqlite://`+filepath.Join(dir, "target.db")+`"}
workers: 2
connections: 1
warmup: 2s
duration: 30s
rate: 100
capture: none
workload:
  operations:
    - {name: a, sql: "SELECT ?", params: [{gen: uniform, min: 1, max: 10}]}
    - {name: b, sql: "SELECT ? + 1", params: [{gen: uniform, min: 1, max: 10}]}
`), 0o644); err != nil {
			b.Fatal(err)
		}
		before := len(srv.Requests())
		cmd := exec.Command(bin, "run", path, "--store", srv.RunDSN(), "--launcher", "process", "--quiet")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("run: %v\n%s", err, out)
		}
		tables := map[string]int{}
		total := 0
		for _, r := range srv.Requests()[before:] {
			if r.Kind != "query" || r.DescribeOnly {
				continue
			}
			total++
			up := strings.ToUpper(r.SQL)
			for _, tbl := range []string{"RUN_STATUS", "RUN_CONTROL_EVENTS", "WORKER_HEARTBEATS", "WORKER_METRICS_SNAPSHOTS", "QUERY_EXECUTIONS"} {
				if strings.Contains(up, tbl) {
					tables[tbl]++
					break
				}
			}
		}
		wm := float64(workers) * 32 / 60
		b.ReportMetric(float64(total)/wm, "statements/worker-min")
		for tbl, n := range tables {
			b.ReportMetric(float64(n)/wm, strings.ToLower(tbl)+"/worker-min")
		}
		b.Logf("%d statements over %.2f worker-minutes: %v", total, wm, tables)
	}
}
