// Package kubelet is a test double of what a cluster does with an Indexed
// Job, over client-go's fake clientset (an object tracker: no controllers,
// no pods of its own). For every Job it finds it plays the Job controller
// and the kubelet: it creates one pod object per completion index, with
// the annotations and labels the Job controller sets, starts the pod's
// container through Start — with the environment a pod would get (the
// index, the Secret's variables through envFrom, fieldRef annotations) and
// its arguments' $(VAR) references expanded — and writes the pod's phase
// back when the container ends. A failed index is restarted with its
// failure count raised while backoffLimitPerIndex allows, then listed in
// the Job's failedIndexes; completed ones in completedIndexes. A deleted
// Job kills its containers.
//
// It is not a promise to users: the tests of the Kubernetes launcher and
// of the CLI's launch sequence share it.
package kubelet

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Pod is one container to start.
type Pod struct {
	Name    string
	Index   int
	Attempt int               // the index's failure count
	Args    []string          // $(VAR) expanded
	Env     map[string]string // what the container's environment holds
}

// Process is a started container.
type Process interface {
	// Wait blocks until it has ended and returns its exit status.
	Wait() int
	// Kill stops it at once.
	Kill()
}

// Kubelet runs Indexed Jobs found in Client's Namespace.
type Kubelet struct {
	Client    kubernetes.Interface
	Namespace string
	Start     func(Pod) (Process, error)
	// RestartDelay is how long a failed index waits for its next pod (the
	// Job controller's backoff, 10 s and up on a real cluster).
	RestartDelay time.Duration

	mu      sync.Mutex
	jobs    map[string]*jobState
	started []Pod
}

type jobState struct {
	running   map[int]Process
	completed map[int]bool
	failed    map[int]bool
	deleted   bool
}

type exit struct {
	job   string
	index int
	pod   string
	code  int
}

// Run works until ctx ends, then kills every container it started and
// waits for them.
func (k *Kubelet) Run(ctx context.Context) {
	exits := make(chan exit, 64)
	var wg sync.WaitGroup
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	defer func() {
		k.mu.Lock()
		for _, j := range k.jobs {
			for _, p := range j.running {
				p.Kill()
			}
		}
		k.mu.Unlock()
		wg.Wait()
	}()
	k.mu.Lock()
	k.jobs = map[string]*jobState{}
	k.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-exits:
			k.exited(ctx, e, exits, &wg)
		case <-tick.C:
			k.scan(ctx, exits, &wg)
		}
	}
}

// Started returns the pods started so far, in order.
func (k *Kubelet) Started() []Pod {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.started)
}

// Crash kills the running container of index i of job, as a node or
// process failure would: its pod fails.
func (k *Kubelet) Crash(job string, i int) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if j := k.jobs[job]; j != nil && j.running[i] != nil {
		j.running[i].Kill()
		return true
	}
	return false
}

func (k *Kubelet) scan(ctx context.Context, exits chan exit, wg *sync.WaitGroup) {
	list, err := k.Client.BatchV1().Jobs(k.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for i := range list.Items {
		job := &list.Items[i]
		seen[job.Name] = true
		k.mu.Lock()
		st := k.jobs[job.Name]
		k.mu.Unlock()
		if st != nil {
			continue
		}
		// The kubelet waits for the Secret a pod's envFrom names.
		if _, err := k.secretEnv(ctx, job); err != nil {
			continue
		}
		st = &jobState{running: map[int]Process{}, completed: map[int]bool{}, failed: map[int]bool{}}
		k.mu.Lock()
		k.jobs[job.Name] = st
		k.mu.Unlock()
		for idx := range int(*job.Spec.Completions) {
			k.startPod(ctx, job, idx, 0, exits, wg)
		}
	}
	// A deleted Job: its pods go (the garbage collector's doing).
	k.mu.Lock()
	defer k.mu.Unlock()
	for name, st := range k.jobs {
		if !seen[name] && !st.deleted {
			st.deleted = true
			for _, p := range st.running {
				p.Kill()
			}
		}
	}
}

func (k *Kubelet) secretEnv(ctx context.Context, job *batchv1.Job) (map[string]string, error) {
	env := map[string]string{}
	for _, ef := range job.Spec.Template.Spec.Containers[0].EnvFrom {
		if ef.SecretRef == nil {
			continue
		}
		s, err := k.Client.CoreV1().Secrets(k.Namespace).Get(ctx, ef.SecretRef.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		for key, v := range s.Data {
			env[key] = string(v)
		}
	}
	return env, nil
}

var ref = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func (k *Kubelet) startPod(ctx context.Context, job *batchv1.Job, idx, attempt int, exits chan exit, wg *sync.WaitGroup) {
	name := fmt.Sprintf("%s-%d-%d", job.Name, idx, attempt)
	ann := map[string]string{
		batchv1.JobCompletionIndexAnnotation:   strconv.Itoa(idx),
		batchv1.JobIndexFailureCountAnnotation: strconv.Itoa(attempt),
	}
	labels := maps.Clone(job.Spec.Template.Labels)
	labels[batchv1.JobNameLabel] = job.Name
	labels[batchv1.JobCompletionIndexAnnotation] = strconv.Itoa(idx)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: k.Namespace, Labels: labels, Annotations: ann},
		Spec: *job.Spec.Template.Spec.DeepCopy(), Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	if _, err := k.Client.CoreV1().Pods(k.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return
	}
	env, err := k.secretEnv(ctx, job)
	if err != nil {
		k.podEnded(ctx, name, 1)
		return
	}
	c := job.Spec.Template.Spec.Containers[0]
	env["JOB_COMPLETION_INDEX"] = strconv.Itoa(idx)
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			path := e.ValueFrom.FieldRef.FieldPath
			if a, ok := strings.CutPrefix(path, "metadata.annotations['"); ok {
				env[e.Name] = ann[strings.TrimSuffix(a, "']")]
			}
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		}
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = ref.ReplaceAllStringFunc(a, func(m string) string { return env[m[2:len(m)-1]] })
	}
	p := Pod{Name: name, Index: idx, Attempt: attempt, Args: args, Env: env}
	proc, err := k.Start(p)
	k.mu.Lock()
	k.started = append(k.started, p)
	k.mu.Unlock()
	if err != nil {
		k.podEnded(ctx, name, 1)
		return
	}
	k.mu.Lock()
	k.jobs[job.Name].running[idx] = proc
	k.mu.Unlock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		code := proc.Wait()
		select {
		case exits <- exit{job: job.Name, index: idx, pod: name, code: code}:
		case <-ctx.Done():
		}
	}()
}

func (k *Kubelet) podEnded(ctx context.Context, name string, code int) {
	pod, err := k.Client.CoreV1().Pods(k.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return
	}
	pod.Status.Phase = corev1.PodSucceeded
	if code != 0 {
		pod.Status.Phase = corev1.PodFailed
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: pod.Spec.Containers[0].Name,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: int32(code), Reason: map[bool]string{true: "Completed", false: "Error"}[code == 0]}}}}
	_, _ = k.Client.CoreV1().Pods(k.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
}

func (k *Kubelet) exited(ctx context.Context, e exit, exits chan exit, wg *sync.WaitGroup) {
	k.podEnded(ctx, e.pod, e.code)
	k.mu.Lock()
	st := k.jobs[e.job]
	delete(st.running, e.index)
	deleted := st.deleted
	k.mu.Unlock()
	if deleted {
		return
	}
	job, err := k.Client.BatchV1().Jobs(k.Namespace).Get(ctx, e.job, metav1.GetOptions{})
	if err != nil {
		return
	}
	pod, err := k.Client.CoreV1().Pods(k.Namespace).Get(ctx, e.pod, metav1.GetOptions{})
	if err != nil {
		return
	}
	attempt, _ := strconv.Atoi(pod.Annotations[batchv1.JobIndexFailureCountAnnotation])
	if e.code == 0 {
		st.completed[e.index] = true
	} else {
		failIndex := false
		if pfp := job.Spec.PodFailurePolicy; pfp != nil {
			for _, r := range pfp.Rules {
				if r.OnExitCodes != nil && r.Action == batchv1.PodFailurePolicyActionFailIndex && slices.Contains(r.OnExitCodes.Values, int32(e.code)) {
					failIndex = true
				}
			}
		}
		if !failIndex && job.Spec.BackoffLimitPerIndex != nil && attempt < int(*job.Spec.BackoffLimitPerIndex) {
			select {
			case <-time.After(k.RestartDelay):
			case <-ctx.Done():
				return
			}
			k.startPod(ctx, job, e.index, attempt+1, exits, wg)
			return
		}
		st.failed[e.index] = true
	}
	job.Status.CompletedIndexes = indexList(st.completed)
	if len(st.failed) > 0 {
		s := indexList(st.failed)
		job.Status.FailedIndexes = &s
	}
	if len(st.completed)+len(st.failed) == int(*job.Spec.Completions) {
		typ := batchv1.JobComplete
		if len(st.failed) > 0 {
			typ = batchv1.JobFailed
		}
		job.Status.Conditions = append(job.Status.Conditions, batchv1.JobCondition{Type: typ, Status: corev1.ConditionTrue, Reason: "Done"})
	}
	_, _ = k.Client.BatchV1().Jobs(k.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{})
}

func indexList(m map[int]bool) string {
	idx := slices.Sorted(maps.Keys(m))
	s := make([]string, len(idx))
	for i, v := range idx {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}
