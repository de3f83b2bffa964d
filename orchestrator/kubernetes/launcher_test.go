package kubernetes_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	_ "modernc.org/sqlite"

	"github.com/unistore-bench/unistore/core"
	_ "github.com/unistore-bench/unistore/driver/sqlite"
	"github.com/unistore-bench/unistore/internal/kubelet"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/orchestrator/kubernetes"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/worker"
)

const (
	storeDSN  = "postgres://unistore_rw:st0re-pass@db.example:5432/results"
	targetDSN = "postgres://loader:t4rget-pass@pg.example:5432/bench"
	image     = "registry.example/unistore:1.0"
)

func spec() core.Spec {
	s := core.Spec{Name: "k8s", Target: core.Target{DSN: targetDSN}, Workers: 3, Connections: 2,
		Warmup: core.Duration(time.Second), Duration: core.Duration(time.Minute),
		Resources: core.Resources{CPU: "1500m", Memory: "512Mi"},
		Control:   core.ControlSpec{MaxRelaunches: 2, HeartbeatTimeout: core.Duration(5 * time.Second)}}
	return s.WithDefaults()
}

// TestObjects asserts the Job and the Secret field by field.
func TestObjects(t *testing.T) {
	job, secret, err := kubernetes.Objects(kubernetes.Params{RunID: "20261204-170000-abc123", Namespace: "load", Image: image,
		Spec: spec(), Store: storeDSN, Target: targetDSN})
	if err != nil {
		t.Fatal(err)
	}
	name := "unistore-20261204-170000-abc123"
	js := job.Spec
	checks := []struct {
		what      string
		got, want any
	}{
		{"job name", job.Name, name},
		{"namespace", job.Namespace, "load"},
		{"run label", job.Labels[kubernetes.LabelRunID], "20261204-170000-abc123"},
		{"completion mode", *js.CompletionMode, batchv1.IndexedCompletion},
		{"completions", *js.Completions, int32(3)},
		{"parallelism", *js.Parallelism, int32(3)},
		{"backoffLimitPerIndex", *js.BackoffLimitPerIndex, int32(2)},
		{"activeDeadlineSeconds", *js.ActiveDeadlineSeconds, int64(1 + 60 + 600)},
		{"ttlSecondsAfterFinished", *js.TTLSecondsAfterFinished, int32(3600)},
		{"podReplacementPolicy", *js.PodReplacementPolicy, batchv1.Failed},
		{"fail-index exit codes", js.PodFailurePolicy.Rules[0].OnExitCodes.Values, []int32{2, 3, 6}},
		{"fail-index action", js.PodFailurePolicy.Rules[0].Action, batchv1.PodFailurePolicyActionFailIndex},
		{"disruption ignored", js.PodFailurePolicy.Rules[1].Action, batchv1.PodFailurePolicyActionIgnore},
		{"pod labels", js.Template.Labels[kubernetes.LabelRunID], "20261204-170000-abc123"},
		{"restartPolicy", js.Template.Spec.RestartPolicy, corev1.RestartPolicyNever},
		{"grace", *js.Template.Spec.TerminationGracePeriodSeconds, int64(20)},
		{"no token", *js.Template.Spec.AutomountServiceAccountToken, false},
		{"non-root", *js.Template.Spec.SecurityContext.RunAsNonRoot, true},
		{"uid", *js.Template.Spec.SecurityContext.RunAsUser, int64(65532)},
		{"containers", len(js.Template.Spec.Containers), 1},
	}
	c := js.Template.Spec.Containers[0]
	checks = append(checks, []struct {
		what      string
		got, want any
	}{
		{"container", c.Name, "worker"},
		{"image", c.Image, image},
		{"command", c.Command, []string(nil)}, // the image's ENTRYPOINT, unistore
		{"args", c.Args, []string{"worker", "--run-id", "20261204-170000-abc123", "--group", "$(JOB_COMPLETION_INDEX)", "--join-wait", "2m0s"}},
		{"env", c.Env, []corev1.EnvVar{{Name: "UNISTORE_ATTEMPT", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			FieldPath: "metadata.annotations['batch.kubernetes.io/job-index-failure-count']"}}}}},
		{"envFrom", c.EnvFrom, []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}}},
		{"cpu request", c.Resources.Requests.Cpu().String(), "1500m"},
		{"memory request", c.Resources.Requests.Memory().String(), "512Mi"},
		{"memory limit", c.Resources.Limits.Memory().String(), "512Mi"},
		{"no cpu limit", c.Resources.Limits.Cpu().IsZero(), true},
		{"no escalation", *c.SecurityContext.AllowPrivilegeEscalation, false},
		{"caps", c.SecurityContext.Capabilities.Drop, []corev1.Capability{"ALL"}},
		{"secret name", secret.Name, name},
		{"secret namespace", secret.Namespace, "load"},
		{"secret type", secret.Type, corev1.SecretTypeOpaque},
		{"secret data", secret.Data, map[string][]byte{"UNISTORE_STORE": []byte(storeDSN), "UNISTORE_TARGET": []byte(targetDSN)}},
		{"secret label", secret.Labels[kubernetes.LabelRunID], "20261204-170000-abc123"},
	}...)
	for _, ch := range checks {
		if diff := cmp.Diff(ch.want, ch.got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", ch.what, diff)
		}
	}
	// No DSN, password or host of one in the Job.
	b, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"postgres://", "st0re-pass", "t4rget-pass", "db.example", "pg.example", "loader", "unistore_rw"} {
		if strings.Contains(string(b), s) {
			t.Errorf("the Job holds %q:\n%s", s, b)
		}
	}
}

func TestObjectsBadInput(t *testing.T) {
	s := spec()
	s.Resources.CPU = "lots"
	_, _, err := kubernetes.Objects(kubernetes.Params{RunID: "Bad_ID", Image: "", Spec: s, Store: "sqlite:///tmp/x.db", Target: targetDSN})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"run id \"Bad_ID\"", "image: missing", "store: sqlite:", "resources.cpu: \"lots\""} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// fakeClient is a fake clientset whose API server gives created objects
// a uid, as a real one does.
func fakeClient() *fake.Clientset {
	c := fake.NewClientset()
	c.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject()
		if m, ok := obj.(metav1.Object); ok && m.GetUID() == "" {
			m.SetUID(types.UID("uid-" + m.GetName()))
		}
		return false, nil, nil
	})
	return c
}

// TestLaunchCreates: the launcher creates what Objects builds, the Secret
// owned by the Job, and Terminate deletes the Job.
func TestLaunchCreates(t *testing.T) {
	c := fakeClient()
	l := &kubernetes.Launcher{Client: c, Namespace: "load", Image: image, Store: storeDSN, Poll: 10 * time.Millisecond}
	sp := spec()
	var hs []orchestrator.Handle
	for g := range 3 {
		h, err := l.Launch(context.Background(), orchestrator.Assignment{RunID: "r-1", Group: g, WorkerID: "worker-0",
			Target: orchestrator.Target{DSN: targetDSN}, Spec: sp.Redacted()})
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	if _, err := l.Launch(context.Background(), orchestrator.Assignment{RunID: "r-1", Group: 3, Spec: sp}); err == nil {
		t.Error("group 3 of 3 launched")
	}
	ctx := context.Background()
	job, err := c.BatchV1().Jobs("load").Get(ctx, "unistore-r-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := c.CoreV1().Secrets("load").Get(ctx, "unistore-r-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantJob, wantSecret, err := kubernetes.Objects(kubernetes.Params{RunID: "r-1", Namespace: "load", Image: image, Spec: sp, Store: storeDSN, Target: targetDSN})
	if err != nil {
		t.Fatal(err)
	}
	// The fake API server records managed fields, as a real one does.
	job.ManagedFields, secret.ManagedFields = nil, nil
	wantJob.UID = job.UID
	if diff := cmp.Diff(wantJob, job); diff != "" {
		t.Errorf("job (-want +got):\n%s", diff)
	}
	want := []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "unistore-r-1", UID: "uid-unistore-r-1", Controller: ptr(true)}}
	if diff := cmp.Diff(want, secret.OwnerReferences); diff != "" {
		t.Errorf("secret owner (-want +got):\n%s", diff)
	}
	secret.OwnerReferences, secret.UID = nil, ""
	if diff := cmp.Diff(wantSecret, secret); diff != "" {
		t.Errorf("secret (-want +got):\n%s", diff)
	}

	// A failed pod whose index is restarted is reported, not ended.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p1", Namespace: "load", Labels: map[string]string{kubernetes.LabelRunID: "r-1"},
		Annotations: map[string]string{batchv1.JobCompletionIndexAnnotation: "1", batchv1.JobIndexFailureCountAnnotation: "0"}},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "worker",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}}}
	if _, err := c.CoreV1().Pods("load").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fr := hs[1].(orchestrator.FailureReporter)
	waitFor(t, "the pod failure reported", func() bool { at, _ := fr.Failed(); return at == 0 })
	if _, why := fr.Failed(); !strings.Contains(why, "exit status 137 (OOMKilled)") {
		t.Errorf("reason %q", why)
	}
	if at, _ := hs[0].(orchestrator.FailureReporter).Failed(); at != -1 {
		t.Errorf("group 0 reports attempt %d failed", at)
	}
	select {
	case <-hs[1].Done():
		t.Fatal("a restarted index's handle ended")
	default:
	}

	// Terminate deletes the Job; every handle then ends.
	hs[0].Terminate()
	if _, err := c.BatchV1().Jobs("load").Get(ctx, "unistore-r-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("job after Terminate: %v", err)
	}
	for g, h := range hs {
		select {
		case <-h.Done():
		case <-time.After(30 * time.Second):
			t.Fatalf("handle %d did not end after the job was deleted", g)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inProcess runs a pod's worker as goroutines of the test, with the pod's
// environment: the Secret's target DSN and the attempt from the
// annotation.
type inProcess struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	mu     sync.Mutex
	killed bool
}

func (p *inProcess) Wait() int {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.killed:
		return 137
	case p.err != nil:
		return 1
	}
	return 0
}

func (p *inProcess) Kill() {
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	p.cancel()
}

type fixture struct {
	st      store.Store
	kubelet *kubelet.Kubelet
	client  *fake.Clientset
	svc     *orchestrator.Service
	spec    core.Spec
	cancel  context.CancelFunc
	stopped chan struct{}
}

// newFixture: an in-memory store, a SQLite target, a fake cluster whose
// kubelet double runs each pod's worker in this process, and the
// orchestrator with the Kubernetes launcher.
func newFixture(t *testing.T, duration time.Duration) *fixture {
	path := filepath.Join(t.TempDir(), "target.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER); WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 100) INSERT INTO t SELECT i, i FROM s"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	f := &fixture{st: store.NewMemory(), client: fakeClient(), stopped: make(chan struct{})}
	f.kubelet = &kubelet.Kubelet{Client: f.client, Namespace: "load", RestartDelay: 300 * time.Millisecond, Start: func(p kubelet.Pod) (kubelet.Process, error) {
		ctx, cancel := context.WithCancel(context.Background())
		proc := &inProcess{cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(proc.done)
			proc.err = worker.Join(ctx, worker.JoinConfig{Store: f.st, RunID: p.Args[2], Group: p.Index, Attempt: p.Attempt, Target: p.Env["UNISTORE_TARGET"]})
		}()
		return proc, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() {
		defer close(f.stopped)
		f.kubelet.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-f.stopped
	})
	f.spec = core.Spec{Name: "k8s", Target: core.Target{DSN: "sqlite://" + path}, Workers: 3, Connections: 1,
		Duration: core.Duration(duration), Rate: 150,
		Control: core.ControlSpec{Poll: core.Duration(50 * time.Millisecond), Heartbeat: core.Duration(100 * time.Millisecond),
			HeartbeatTimeout: core.Duration(5 * time.Second), Lease: core.Duration(10 * time.Second), MaxRelaunches: 2},
		Workload: core.WorkloadSpec{Operations: []core.OperationSpec{{Name: "get", SQL: "SELECT v FROM t WHERE id = ?",
			Params: []core.ParamSpec{{Gen: "uniform", Min: ptr(int64(1)), Max: ptr(int64(100))}}}}}}
	f.svc = &orchestrator.Service{Store: f.st, StopGrace: 10 * time.Second,
		Launcher: &kubernetes.Launcher{Client: f.client, Namespace: "load", Image: image, Store: storeDSN, Poll: 20 * time.Millisecond}}
	return f
}

func (f *fixture) waitRunning(t *testing.T, id string) {
	waitFor(t, "the run to be RUNNING", func() bool {
		r, err := f.st.GetRun(context.Background(), id)
		return err == nil && r.Status == core.StatusRunning
	})
}

func (f *fixture) jobGone(t *testing.T, id string) {
	waitFor(t, "the job to be deleted", func() bool {
		_, err := f.client.BatchV1().Jobs("load").Get(context.Background(), kubernetes.Name(id), metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// TestPodFailure: a pod that fails is reported as a lost worker; the Job
// controller restarts its index with the failure count as the attempt,
// which joins, counted as restarted; the run completes.
func TestPodFailure(t *testing.T) {
	f := newFixture(t, 4*time.Second)
	run, err := f.svc.Start(context.Background(), f.spec, orchestrator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.waitRunning(t, run.ID)
	if !f.kubelet.Crash(kubernetes.Name(run.ID), 1) {
		t.Fatal("no pod of index 1 running")
	}
	res, err := run.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != core.StatusCompleted {
		t.Fatalf("status %s: %s", res.Status, res.Error)
	}
	w := res.Workers
	if w.Lost != 1 || w.Restarted != 1 || len(w.Gaps) != 1 || w.Gaps[0].Group != 1 || w.Gaps[0].BackAt.IsZero() {
		t.Fatalf("workers %+v", w)
	}
	if !strings.Contains(w.Gaps[0].Reason, "scheduler saw it fail") || !strings.Contains(w.Gaps[0].Reason, "exit status 137") {
		t.Errorf("lost for %q, want the pod failure", w.Gaps[0].Reason)
	}
	pods := f.kubelet.Started()
	if len(pods) != 4 {
		t.Fatalf("%d pods started, want 4: %+v", len(pods), pods)
	}
	last := pods[3]
	if last.Index != 1 || last.Attempt != 1 || last.Env["UNISTORE_ATTEMPT"] != "1" || last.Env["JOB_COMPLETION_INDEX"] != "1" || last.Args[4] != "1" {
		t.Errorf("restarted pod %+v", last)
	}
	for _, p := range pods {
		if p.Env["UNISTORE_TARGET"] != f.spec.Target.DSN || p.Env["UNISTORE_STORE"] != storeDSN {
			t.Errorf("pod %s: env %v", p.Name, p.Env)
		}
	}
	hbs, err := f.st.ListHeartbeats(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, h := range hbs {
		ids[h.WorkerID] = true
	}
	if !ids["worker-1-r1"] || len(ids) != 4 {
		t.Errorf("heartbeating workers %v, want worker-0..2 and worker-1-r1", ids)
	}
	f.jobGone(t, run.ID)
}

// TestStopDeletesJob: STOP goes through the control tables; the workers
// stop, their pods succeed, and the Job (with its Secret) is deleted.
func TestStopDeletesJob(t *testing.T) {
	f := newFixture(t, 5*time.Minute)
	run, err := f.svc.Start(context.Background(), f.spec, orchestrator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.waitRunning(t, run.ID)
	if err := orchestrator.Stop(context.Background(), f.st, run.ID); err != nil {
		t.Fatal(err)
	}
	res, err := run.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != core.StatusCancelled || res.Workers.Lost != 0 {
		t.Fatalf("status %s, workers %+v", res.Status, res.Workers)
	}
	f.jobGone(t, run.ID)
	if n := len(f.kubelet.Started()); n != 3 {
		t.Errorf("%d pods started, want 3", n)
	}
	events, err := f.st.EventsSince(context.Background(), run.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 || events[len(events)-1].Kind != "STOP" {
		t.Errorf("events %+v: want STOP last", events)
	}
}
