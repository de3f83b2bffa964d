package main_test

// The Kubernetes launcher from the command line's side: the manifest
// `unistore k8s manifest` prints, decoded strictly, is what the launcher
// creates; and a launch sequence on one machine — the real launcher on a
// fake cluster whose kubelet double starts `unistore worker` processes
// with the environment a pod would get.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"

	us "github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/kubelet"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/orchestrator/kubernetes"
	"github.com/unistore-bench/unistore/store"
)

const (
	k8sImage  = "registry.example/unistore:test"
	k8sStore  = "postgres://unistore_rw:St0re-secret@results.example/results"
	k8sTarget = "postgres://loader:T4rget-secret@pg.example/bench"
)

// strictDecode decodes a YAML stream of Kubernetes objects with
// client-go's deserializer, unknown and duplicate fields being errors.
func strictDecode(t *testing.T, stream []byte) (*batchv1.Job, *corev1.Secret, error) {
	t.Helper()
	dec := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	var job *batchv1.Job
	var secret *corev1.Secret
	for _, doc := range bytes.Split(stream, []byte("\n---\n")) {
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, nil, err
		}
		switch o := obj.(type) {
		case *batchv1.Job:
			job = o
		case *corev1.Secret:
			secret = o
		default:
			t.Fatalf("unexpected object %T", obj)
		}
	}
	return job, secret, nil
}

// TestK8sManifest: the manifest decodes strictly into a batch/v1 Job and
// a v1 Secret, equal to what the launcher creates for the same run.
func TestK8sManifest(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tmpl, []byte(`name: m
target: {dsn: "sqlite:///nowhere.db"}
duration: 30s
resources: {cpu: 500m, memory: 256Mi}
workload:
  operations:
    - {name: one, sql: SELECT 1}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := unistore(t, "k8s", "manifest", tmpl, "--run-id", "gitops-1", "--workers", "3", "--image", k8sImage,
		"--target", k8sTarget, "--store", k8sStore)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	job, secret, err := strictDecode(t, []byte(out))
	if err != nil {
		t.Fatalf("strict decode: %v\n%s", err, out)
	}
	if job == nil || secret == nil {
		t.Fatalf("job %v, secret %v", job, secret)
	}
	if _, _, err := strictDecode(t, []byte(strings.Replace(out, "  completionMode: Indexed\n", "  completionMode: Indexed\n  bogus: 1\n", 1))); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("an unknown field decoded: %v", err)
	}
	if *job.Spec.Completions != 3 || *job.Spec.CompletionMode != batchv1.IndexedCompletion || job.Spec.Template.Spec.Containers[0].Image != k8sImage ||
		string(secret.Data["UNISTORE_TARGET"]) != k8sTarget || string(secret.Data["UNISTORE_STORE"]) != k8sStore {
		t.Errorf("manifest:\n%s", out)
	}
	for _, s := range []string{"St0re-secret", "T4rget-secret"} {
		if strings.Contains(out[:strings.Index(out, "\n---\n")], s) {
			t.Errorf("the Job holds %q", s)
		}
	}
	if !strings.Contains(errOut, "passwords included") {
		t.Errorf("no warning about the Secret: %q", errOut)
	}

	// What the launcher creates for the same run.
	tp, err := us.LoadTemplate(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	spec := tp.Spec
	spec.Workers, spec.Target.DSN = 3, k8sTarget
	spec = spec.WithDefaults()
	c := fake.NewClientset()
	l := &kubernetes.Launcher{Client: c, Image: k8sImage, Store: k8sStore}
	for g := range 3 {
		h, err := l.Launch(context.Background(), orchestrator.Assignment{RunID: "gitops-1", Group: g, Target: orchestrator.Target{DSN: k8sTarget}, Spec: spec.Redacted()})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Kill()
	}
	created, err := c.BatchV1().Jobs("default").Get(context.Background(), "unistore-gitops-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	createdSecret, err := c.CoreV1().Secrets("default").Get(context.Background(), "unistore-gitops-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.ManagedFields, createdSecret.ManagedFields, createdSecret.OwnerReferences = nil, nil, nil
	if diff := cmp.Diff(created, job); diff != "" {
		t.Errorf("manifest Job differs from the launcher's (-launcher +manifest):\n%s", diff)
	}
	if diff := cmp.Diff(createdSecret, secret); diff != "" {
		t.Errorf("manifest Secret differs from the launcher's (-launcher +manifest):\n%s", diff)
	}
}

// workerProcess is a `unistore worker` process started as a pod's
// container.
type workerProcess struct{ cmd *exec.Cmd }

func (p workerProcess) Wait() int {
	_ = p.cmd.Wait()
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return p.cmd.ProcessState.ExitCode()
}
func (p workerProcess) Kill() { _ = p.cmd.Process.Kill() }

// TestK8sLaunchSequence: `unistore worker` processes started the way a
// cluster starts the launcher's Job — --group $(JOB_COMPLETION_INDEX)
// expanded, the DSNs only from the Secret's variables — complete a run of
// three workers whose rollup is exactly the merge of their snapshots; the
// Job is deleted at the end. It also measures the control plane's store
// transactions per worker-minute (the README's scaling figures).
func TestK8sLaunchSequence(t *testing.T) {
	f := newFixture(t)
	res, pods := f.launchSequence(t, false)
	if len(pods) != 3 || res.Workers.Lost != 0 || res.Workers.Restarted != 0 {
		t.Errorf("%d pods started, workers %+v; want 3 pods, none lost", len(pods), res.Workers)
	}
}

// TestK8sPodFailure: a worker process killed in its pod is reported by
// the launcher as a lost worker when the pod fails; the Job controller
// double restarts the index with UNISTORE_ATTEMPT=1, whose worker joins as
// worker-1-r1, counted restarted; the run completes and its rollup is
// exact.
func TestK8sPodFailure(t *testing.T) {
	f := newFixture(t)
	res, pods := f.launchSequence(t, true)
	w := res.Workers
	if len(pods) != 4 || w.Lost != 1 || w.Restarted != 1 || len(w.Gaps) != 1 || w.Gaps[0].Group != 1 || w.Gaps[0].BackAt.IsZero() {
		t.Fatalf("%d pods, workers %+v; want 4 pods, one lost and restarted", len(pods), w)
	}
	if !strings.Contains(w.Gaps[0].Reason, "scheduler saw it fail") {
		t.Errorf("lost for %q, want the pod's failure", w.Gaps[0].Reason)
	}
	if p := pods[3]; p.Index != 1 || p.Env["UNISTORE_ATTEMPT"] != "1" || p.Args[4] != "1" {
		t.Errorf("restarted pod %+v", p)
	}
	ids := map[string]bool{}
	for _, h := range f.heartbeats(t, res.RunID) {
		ids[h.WorkerID] = true
	}
	if !ids["worker-1-r1"] {
		t.Errorf("heartbeats from %v, want worker-1-r1 among them", ids)
	}
}

// launchSequence runs a three-worker run through the Kubernetes launcher
// on a fake cluster whose kubelet double starts `unistore worker`
// processes; crash kills index 1's first worker once the run is RUNNING.
// It checks the pods' arguments and environment, the rollup's exactness
// and the Job's deletion, and logs the control plane's writes.
func (f *fixture) launchSequence(t *testing.T, crash bool) (*core.Result, []kubelet.Pod) {
	client := fake.NewClientset()
	var logs bytes.Buffer
	logw := &lockedWriter{w: &logs}
	kl := &kubelet.Kubelet{Client: client, Namespace: "default", RestartDelay: time.Second, Start: func(p kubelet.Pod) (kubelet.Process, error) {
		cmd := exec.Command(bin, p.Args...)
		env := []string{}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "UNISTORE_") { // TestMain's store: the pod has only the Secret's
				env = append(env, kv)
			}
		}
		for k, v := range p.Env {
			env = append(env, k+"="+v)
		}
		cmd.Env = env
		cmd.Stderr = logw
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return workerProcess{cmd}, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		kl.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})

	tp, err := us.LoadTemplate(f.template(t, tmpl{Workers: 3, Duration: "6s"}))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), f.store)
	if err != nil {
		t.Fatal(err)
	}
	before := controlCounts(t, f.store)
	h, err := us.Start(context.Background(), tp.Spec, us.WithStore(st),
		us.WithLauncher(&kubernetes.Launcher{Client: client, Namespace: "default", Image: k8sImage, Store: f.store, Poll: 50 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	if crash {
		deadline := time.Now().Add(60 * time.Second)
		for f.getRun(t, h.ID()).Status != core.StatusRunning {
			if time.Now().After(deadline) {
				t.Fatal("the run did not start")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !kl.Crash(kubernetes.Name(h.ID()), 1) {
			t.Fatal("no pod of index 1 to crash")
		}
	}
	res, err := h.Wait()
	st.Close()
	if err != nil || res.Status != core.StatusCompleted {
		logw.mu.Lock()
		defer logw.mu.Unlock()
		t.Fatalf("run: %v, status %v\nworkers' output:\n%s", err, res.Status, logs.String())
	}
	pods := kl.Started()
	for _, p := range pods {
		if p.Args[4] != p.Env["JOB_COMPLETION_INDEX"] || p.Env["UNISTORE_STORE"] != f.store || p.Env["UNISTORE_TARGET"] != f.target || p.Env["UNISTORE_ATTEMPT"] != strconv.Itoa(p.Attempt) {
			t.Errorf("pod %s: args %q, env %v", p.Name, p.Args, p.Env)
		}
	}
	// The rollup is exactly the merge of the three workers' snapshots.
	rows := f.snapshots(t, res.RunID)
	merged := metrics.NewHistogram()
	var count int64
	workers := map[string]bool{}
	for _, r := range rows {
		workers[r.WorkerID] = true
		if r.Phase != core.PhaseMeasurement {
			continue
		}
		count += r.Count
		hg, err := metrics.Decode(r.Histogram)
		if err != nil {
			t.Fatal(err)
		}
		if dropped := merged.Merge(hg); dropped != 0 {
			t.Fatalf("merge dropped %d", dropped)
		}
	}
	if count == 0 || res.Total.Count != count || res.Total.Latency != metrics.Latency(merged) {
		t.Errorf("rollup %d ops %+v, the snapshots' merge %d ops %+v", res.Total.Count, res.Total.Latency, count, metrics.Latency(merged))
	}
	// Every group's last worker wrote snapshots (a crashed one may have
	// died before its first).
	for _, id := range []string{"worker-0", "worker-2"} {
		if !workers[id] {
			t.Errorf("workers with snapshots %v: no %s", workers, id)
		}
	}
	if !workers["worker-1"] && !workers["worker-1-r1"] {
		t.Errorf("workers with snapshots %v: none of group 1", workers)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := client.BatchV1().Jobs("default").Get(context.Background(), kubernetes.Name(res.RunID), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Job was not deleted: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Control-plane transactions per worker-minute, from the store's own
	// counters (the workers' backends have exited, so theirs are flushed).
	after := controlCounts(t, f.store)
	runSeconds := res.EndedAt.Sub(res.StartedAt).Seconds()
	wm := 3 * runSeconds / 60
	for _, k := range []string{"run_status", "run_control_events", "worker_heartbeats", "worker_metrics_snapshots", "xact_commit"} {
		t.Logf("control plane: %s: %d over %.1f worker-minutes = %.0f per worker-minute", k, after[k]-before[k], wm, float64(after[k]-before[k])/wm)
	}
	return res, pods
}

// TestK8sGitOps: the GitOps order — a worker started (as a pod applied
// from a manifest would be) before its run exists waits for it
// (--join-wait), then `run --launcher external --run-id ID` creates the
// run, follows the worker and completes.
func TestK8sGitOps(t *testing.T) {
	f := newFixture(t)
	const id = "gitops-e2e-1"
	w := f.start(t, "worker", "--run-id", id, "--group", "0", "--join-wait", "60s")
	out := filepath.Join(f.dir, "out.json")
	r := f.start(t, "run", f.template(t, tmpl{Workers: 1, Duration: "2s"}), "--launcher", "external", "--run-id", id,
		"--store", f.store, "--json", out, "--quiet")
	if code := r.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("run exited %d:\n%s\nworker:\n%s", code, r.stderr(), w.stderr())
	}
	if code := w.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("worker exited %d:\n%s", code, w.stderr())
	}
	res := readResult(t, out)
	if res.RunID != id || res.Status != "COMPLETED" || res.Workers.Lost != 0 {
		t.Fatalf("result %+v", res)
	}
	// An id that is not a DNS label is refused before anything starts.
	if _, stderr, code := f.unistore(t, "run", f.template(t, tmpl{}), "--launcher", "external", "--run-id", "Bad_ID", "--store", f.store); code != 2 || !strings.Contains(stderr, "--run-id") {
		t.Errorf("bad --run-id: exit %d: %s", code, stderr)
	}
}

// lockedWriter serialises the workers' writes to one buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// controlCounts reads the store's write counters: rows inserted plus
// updated per control table, and the database's committed transactions.
func controlCounts(t *testing.T, dsn string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	out := map[string]int64{}
	rows, err := conn.Query(ctx, "SELECT relname, n_tup_ins + n_tup_upd FROM pg_stat_user_tables")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		out[strings.ToLower(name)] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var x int64
	if err := conn.QueryRow(ctx, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").Scan(&x); err != nil {
		t.Fatal(err)
	}
	out["xact_commit"] = x
	return out
}

// TestClusterBadInput: the cluster launchers' flags and the worker's
// environment fail before anything starts, naming what is wrong.
func TestClusterBadInput(t *testing.T) {
	dir := t.TempDir()
	tmpl := func(extra string) string {
		path := filepath.Join(dir, fmt.Sprintf("t%d.yaml", time.Now().UnixNano()))
		body := "name: c\ntarget: {dsn: \"sqlite://" + filepath.Join(dir, "target.db") + "\"}\n" + extra +
			"workload:\n  operations:\n    - {name: one, sql: SELECT 1}\n"
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := tmpl("")
	for _, c := range []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"kubernetes without image, on a SQLite store", []string{"run", good, "--launcher", "kubernetes"}, nil,
			[]string{"image: missing", "store: sqlite://", "shared store"}},
		{"spcs, bad pool and a PostgreSQL store", []string{"run", good, "--launcher", "spcs", "--compute-pool", "a pool", "--image", "/d/s/r/u:1",
			"--store", "postgres://u:Secr3t@127.0.0.1:1/x"}, nil, []string{"--compute-pool \"a pool\"", "need a snowflake:// store"}},
		{"unknown launcher", []string{"run", good, "--launcher", "nomad"}, nil, []string{"--launcher \"nomad\"", "kubernetes", "spcs", "external"}},
		{"resources", []string{"run", tmpl("resources: {cpu: lots}\n")}, nil, []string{"resources.cpu: \"lots\" is not a Kubernetes quantity"}},
		{"manifest run id", []string{"k8s", "manifest", good, "--run-id", "Bad_ID", "--image", "i", "--store", "postgres://h/db"}, nil, []string{"run id \"Bad_ID\""}},
		{"worker group from a bad SNOWFLAKE_JOB_INDEX", []string{"worker", "--run-id", "x"}, []string{"SNOWFLAKE_JOB_INDEX=abc"}, []string{"$SNOWFLAKE_JOB_INDEX=\"abc\""}},
		{"worker without a group", []string{"worker", "--run-id", "x"}, nil, []string{"give --group"}},
		{"worker attempt", []string{"worker", "--run-id", "x", "--group", "0"}, []string{"UNISTORE_ATTEMPT=-1"}, []string{"$UNISTORE_ATTEMPT=\"-1\""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, c.args...)
			cmd.Env = append(os.Environ(), c.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != 2 {
				t.Errorf("exit %d, want 2: %s", code, stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "Secr3t") {
				t.Errorf("stderr holds a password:\n%s", stderr.String())
			}
		})
	}
}

// TestK8sGivenUpGroup: a pod the Job controller starts for a group the
// orchestrator has given up (an index with restarts left, which no API
// fails from outside) finds GROUP_GIVEN_UP in the control events and
// exits at once with status 6, before connecting to the target, and the
// Job's pod failure policy fails the index on that status.
func TestK8sGivenUpGroup(t *testing.T) {
	f := newFixture(t)
	tp, err := us.LoadTemplate(f.template(t, tmpl{Workers: 2}))
	if err != nil {
		t.Fatal(err)
	}
	spec := tp.Spec.WithDefaults()
	const id = "given-up-1"
	ctx := context.Background()
	if err := f.st.CreateRun(ctx, store.Run{ID: id, Spec: spec, Status: core.StatusRunning, WorkersTarget: 2}); err != nil {
		t.Fatal(err)
	}
	c := control.GroupGivenUp(1, "no restart by the launcher's scheduler within 30s")
	if _, err := f.st.AppendEvent(ctx, store.Event{RunID: id, Kind: c.Kind, Payload: c.Payload}); err != nil {
		t.Fatal(err)
	}
	w := f.start(t, "worker", "--run-id", id, "--group", "1", "--attempt", "1")
	if code := w.wait(t, 30*time.Second); code != 6 || !strings.Contains(w.stderr(), "group given up by the orchestrator") {
		t.Errorf("worker of a given-up group: exit %d, want 6:\n%s", code, w.stderr())
	}
	job, _, err := kubernetes.Objects(kubernetes.Params{RunID: id, Image: k8sImage, Spec: spec, Store: f.store, Target: f.target})
	if err != nil {
		t.Fatal(err)
	}
	if vals := job.Spec.PodFailurePolicy.Rules[0].OnExitCodes.Values; !slices.Contains(vals, 6) ||
		job.Spec.PodFailurePolicy.Rules[0].Action != batchv1.PodFailurePolicyActionFailIndex {
		t.Errorf("pod failure policy %+v: want FailIndex on 6", job.Spec.PodFailurePolicy.Rules[0])
	}
}
