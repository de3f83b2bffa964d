package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchclient "k8s.io/client-go/kubernetes/typed/batch/v1"
	coreclient "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/unistore-bench/unistore/orchestrator"
)

// DefaultPoll is how often a run's Job and pods are read.
const DefaultPoll = 2 * time.Second

// ErrKilled is a handle's error after Kill.
var ErrKilled = errors.New("kubernetes: worker killed by the orchestrator")

// Client is what the launcher uses of a clientset: the batch/v1 and core/v1
// typed clients. A kubernetes.Clientset (and client-go's fake one)
// satisfies it; NewClient builds just these two, so the CLI does not link
// a typed client for every API group.
type Client interface {
	BatchV1() batchclient.BatchV1Interface
	CoreV1() coreclient.CoreV1Interface
}

// Launcher runs a run's workers as one Indexed Job (see the package doc).
// It is safe for concurrent use by several runs.
type Launcher struct {
	Client    Client
	Namespace string // default DefaultNamespace
	Image     string
	// Store is the results store's DSN as the workers must use it: it goes
	// into the run's Secret.
	Store string
	// Poll is how often the Job and its pods are read (default
	// DefaultPoll).
	Poll time.Duration
	// StopGrace is the pods' termination grace (default
	// orchestrator.DefaultStopGrace).
	StopGrace time.Duration
	Logger    *slog.Logger

	mu   sync.Mutex
	jobs map[string]*job
}

var (
	_ orchestrator.Launcher        = (*Launcher)(nil)
	_ orchestrator.SelfRestarting  = (*Launcher)(nil)
	_ orchestrator.FailureReporter = (*handle)(nil)
)

// RestartsWorkers implements orchestrator.SelfRestarting: the Job
// controller restarts a failed index (backoffLimitPerIndex).
func (l *Launcher) RestartsWorkers() bool { return true }

// Launch implements orchestrator.Launcher. The first launch of a run
// creates its Job and Secret; every launch returns the handle of its
// group's index.
func (l *Launcher) Launch(ctx context.Context, a orchestrator.Assignment) (orchestrator.Handle, error) {
	if a.Attempt > 0 {
		return nil, fmt.Errorf("kubernetes: relaunch of group %d: the Job controller restarts indexes itself", a.Group)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	j := l.jobs[a.RunID]
	if j == nil {
		var err error
		if j, err = l.create(ctx, a); err != nil {
			return nil, err
		}
		if l.jobs == nil {
			l.jobs = map[string]*job{}
		}
		l.jobs[a.RunID] = j
		go j.watch()
	}
	if a.Group < 0 || a.Group >= len(j.handles) {
		return nil, fmt.Errorf("kubernetes: group %d: job %s has indexes 0..%d", a.Group, j.name, len(j.handles)-1)
	}
	return j.handles[a.Group], nil
}

// create creates the run's Job, then its Secret owned by the Job. Pods
// the Job starts before the Secret exists wait for it (the kubelet
// retries a missing Secret; it is not a pod failure).
func (l *Launcher) create(ctx context.Context, a orchestrator.Assignment) (*job, error) {
	if l.Client == nil {
		return nil, errors.New("kubernetes: no client")
	}
	p := Params{RunID: a.RunID, Namespace: l.Namespace, Image: l.Image, Spec: a.Spec, Store: l.Store,
		Target: a.Target.DSN, StopGrace: l.StopGrace}
	jobObj, secret, err := Objects(p)
	if err != nil {
		return nil, err
	}
	ns := jobObj.Namespace
	created, err := l.Client.BatchV1().Jobs(ns).Create(ctx, jobObj, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubernetes: create job %s/%s: %w", ns, jobObj.Name, err)
	}
	ownedBy(secret, created)
	if _, err := l.Client.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		bg := metav1.DeletePropagationBackground
		_ = l.Client.BatchV1().Jobs(ns).Delete(context.WithoutCancel(ctx), created.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
		return nil, fmt.Errorf("kubernetes: create secret %s/%s: %w", ns, secret.Name, err)
	}
	poll := l.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	j := &job{l: l, client: l.Client, runID: a.RunID, name: created.Name, ns: ns, poll: poll, log: log,
		perIndex: int(*jobObj.Spec.BackoffLimitPerIndex), handles: make([]*handle, a.Spec.Workers), allDone: make(chan struct{})}
	for g := range j.handles {
		j.handles[g] = &handle{j: j, group: g, done: make(chan struct{}), failed: -1}
	}
	j.remaining = len(j.handles)
	return j, nil
}

// job is one run's Job: its handles and the goroutine that watches it.
type job struct {
	l          *Launcher
	client     Client
	runID      string
	name, ns   string
	poll       time.Duration
	log        *slog.Logger
	perIndex   int // backoffLimitPerIndex
	handles    []*handle
	mu         sync.Mutex
	remaining  int
	allDone    chan struct{}
	deleteOnce sync.Once
}

// watch reads the Job and its pods every poll until every handle has
// ended; it is the job's one goroutine.
func (j *job) watch() {
	tick := time.NewTicker(j.poll)
	defer tick.Stop()
	for {
		select {
		case <-j.allDone:
			return
		case <-tick.C:
		}
		j.read()
	}
}

// read is one look at the Job and its pods. An API that cannot be read
// judges nobody: the heartbeats still do.
func (j *job) read() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	obj, err := j.client.BatchV1().Jobs(j.ns).Get(ctx, j.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		j.endAll(fmt.Errorf("kubernetes: job %s/%s was deleted", j.ns, j.name))
		return
	}
	if err != nil {
		j.log.Warn("kubernetes: read job", "job", j.name, "err", err)
		return
	}
	for _, c := range obj.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobFailed:
			j.endAll(fmt.Errorf("kubernetes: job %s/%s failed: %s: %s", j.ns, j.name, c.Reason, c.Message))
			return
		case batchv1.JobComplete:
			j.endAll(nil)
			return
		}
	}
	if obj.Status.FailedIndexes != nil {
		for _, i := range parseIndexes(*obj.Status.FailedIndexes) {
			if i < len(j.handles) {
				j.end(j.handles[i], fmt.Errorf("kubernetes: job %s: index %d failed (backoffLimitPerIndex %d, or an exit the pod failure policy fails at once)", j.name, i, j.perIndex))
			}
		}
	}
	for _, i := range parseIndexes(obj.Status.CompletedIndexes) {
		if i < len(j.handles) {
			j.end(j.handles[i], nil)
		}
	}
	pods, err := j.client.CoreV1().Pods(j.ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRunID + "=" + j.runID})
	if err != nil {
		j.log.Warn("kubernetes: list pods", "job", j.name, "err", err)
		return
	}
	for i := range pods.Items {
		pod := &pods.Items[i]
		idx, ok := podIndex(pod)
		if !ok || idx >= len(j.handles) {
			continue
		}
		h := j.handles[idx]
		switch pod.Status.Phase {
		case corev1.PodSucceeded:
			j.end(h, nil)
		case corev1.PodFailed:
			// Reported only when a restart follows; the index's last
			// failure ends the handle instead (failedIndexes).
			if code, why := podFailure(pod); podAttempt(pod) < j.perIndex && !permanent(code) {
				h.fail(podAttempt(pod), why)
			}
		}
	}
}

// end ends h with err, once; the last handle to end deletes the Job.
func (j *job) end(h *handle, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	select {
	case <-h.done:
		return
	default:
	}
	h.err = err
	close(h.done)
	j.remaining--
	if j.remaining == 0 {
		close(j.allDone)
		j.l.mu.Lock()
		delete(j.l.jobs, j.runID)
		j.l.mu.Unlock()
		// Every worker has ended: the Job and its Secret (which holds the
		// DSNs) go now, not at ttlSecondsAfterFinished.
		go j.delete(nil)
	}
}

func (j *job) endAll(err error) {
	for _, h := range j.handles {
		j.end(h, err)
	}
}

// delete deletes the Job, once; the garbage collector deletes its pods
// (each given grace, or its terminationGracePeriodSeconds when nil) and
// its Secret.
func (j *job) delete(grace *int64) {
	j.deleteOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		bg := metav1.DeletePropagationBackground
		err := j.client.BatchV1().Jobs(j.ns).Delete(ctx, j.name, metav1.DeleteOptions{PropagationPolicy: &bg, GracePeriodSeconds: grace})
		if err != nil && !apierrors.IsNotFound(err) {
			j.log.Warn("kubernetes: delete job", "job", j.name, "err", err)
		}
	})
}

// handle is one group's index of the Job.
type handle struct {
	j     *job
	group int
	done  chan struct{}
	err   error

	mu     sync.Mutex
	failed int // latest failed attempt seen, -1 if none
	why    string
}

func (h *handle) Done() <-chan struct{} { return h.done }
func (h *handle) Err() error {
	<-h.done
	return h.err
}

// Terminate deletes the run's Job: every pod gets its termination grace
// (SIGTERM, then SIGKILL). The orchestrator terminates only after STOP
// and its grace period, and then every handle at once.
func (h *handle) Terminate() { h.j.delete(nil) }

// Kill deletes this index's pods at once and ends the handle. Should the
// index have restarts left, the Job controller starts another pod: its
// worker joins the run, which has given the group up (the package doc).
func (h *handle) Kill() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods, err := h.j.client.CoreV1().Pods(h.j.ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRunID + "=" + h.j.runID})
	if err == nil {
		zero := int64(0)
		for i := range pods.Items {
			if idx, ok := podIndex(&pods.Items[i]); ok && idx == h.group {
				_ = h.j.client.CoreV1().Pods(h.j.ns).Delete(ctx, pods.Items[i].Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
			}
		}
	}
	h.j.end(h, ErrKilled)
}

// Failed implements orchestrator.FailureReporter.
func (h *handle) Failed() (int, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed, h.why
}

func (h *handle) fail(attempt int, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if attempt > h.failed {
		h.failed, h.why = attempt, why
	}
}

// podFailure says why a failed pod failed: its worker container's exit
// status, or the pod's reason (Evicted, DeadlineExceeded).
func podFailure(pod *corev1.Pod) (int32, string) {
	for _, cs := range pod.Status.ContainerStatuses {
		if t := cs.State.Terminated; cs.Name == ContainerName && t != nil {
			return t.ExitCode, fmt.Sprintf("pod %s: exit status %d (%s)", pod.Name, t.ExitCode, t.Reason)
		}
	}
	return -1, fmt.Sprintf("pod %s: %s %s", pod.Name, pod.Status.Reason, pod.Status.Message)
}

func permanent(code int32) bool {
	for _, c := range permanentExits {
		if c == code {
			return true
		}
	}
	return false
}

// parseIndexes parses the Job status's index lists ("1,3-5").
func parseIndexes(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out
}
