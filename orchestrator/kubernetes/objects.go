package kubernetes

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/orchestrator"
)

// Names and keys shared by the objects, the launcher and the manifest.
const (
	// LabelRunID labels the Job, its pods and its Secret with the run id.
	LabelRunID = "unistore.dev/run-id"
	// ContainerName is the worker container's name.
	ContainerName = "worker"
	// EnvStore and EnvTarget are the Secret's keys, and the variables
	// `unistore worker` reads its DSNs from.
	EnvStore  = "UNISTORE_STORE"
	EnvTarget = "UNISTORE_TARGET"
	// EnvAttempt carries the pod's attempt: the index's failure count,
	// from the pod annotation the Job controller keeps when
	// backoffLimitPerIndex is set (absent or empty on a first pod: 0).
	EnvAttempt = "UNISTORE_ATTEMPT"
	// EnvIndex is the variable Kubernetes sets to an Indexed Job pod's
	// completion index.
	EnvIndex = "JOB_COMPLETION_INDEX"
	// DefaultNamespace is the namespace when none is given.
	DefaultNamespace = "default"
	// DeadlineSlack is what activeDeadlineSeconds allows beyond the run's
	// warm-up and duration: joins, the stop grace and its signals, with
	// room to spare. It is a backstop only: workers stop on their own a
	// lease after their orchestrator is gone.
	DeadlineSlack = 10 * time.Minute
	// FinishedTTL is ttlSecondsAfterFinished: a Job the launcher did not
	// delete (its orchestrator died) goes, with its Secret, this long
	// after it finished.
	FinishedTTL = time.Hour
	// JoinWait is the workers' least --join-wait.
	JoinWait = 2 * time.Minute
	// nonRootUID is distroless's "nonroot" user, the image's USER.
	nonRootUID = 65532
)

// Exit statuses of `unistore worker` that no restart can mend: bad input
// (2), a run whose orchestrator is gone (3) and a group the orchestrator
// gave up (6). The pod failure policy fails the index at once on them
// instead of spending its backoff.
var permanentExits = []int32{2, 3, 6}

// Params are what the objects of one run are built from.
type Params struct {
	RunID     string
	Namespace string // default DefaultNamespace
	Image     string
	// Spec is the run's spec, defaults applied: workers, resources and
	// timings (its DSN is not read: Target is).
	Spec core.Spec
	// Store and Target are the DSNs the workers connect with, secrets
	// included. They go into the Secret only.
	Store, Target string
	// StopGrace is the pods' terminationGracePeriodSeconds (default
	// orchestrator.DefaultStopGrace): a deleted pod's worker gets it to
	// flush its rows.
	StopGrace time.Duration
}

// Name is the Job's and the Secret's name for a run.
func Name(runID string) string { return "unistore-" + strings.ToLower(runID) }

// Validate reports every problem with p, naming the parameter.
func (p Params) Validate() error {
	var msgs []string
	if p.RunID == "" {
		msgs = append(msgs, "run id: missing")
	} else {
		for _, m := range validation.IsDNS1123Label(Name(p.RunID)) {
			msgs = append(msgs, fmt.Sprintf("run id %q: the Job's name %s: %s", p.RunID, Name(p.RunID), m))
		}
		for _, m := range validation.IsValidLabelValue(p.RunID) {
			msgs = append(msgs, fmt.Sprintf("run id %q: as a label value: %s", p.RunID, m))
		}
	}
	if p.Namespace != "" {
		for _, m := range validation.IsDNS1123Label(p.Namespace) {
			msgs = append(msgs, fmt.Sprintf("namespace %q: %s", p.Namespace, m))
		}
	}
	if p.Image == "" {
		msgs = append(msgs, "image: missing: give the worker image (see the Dockerfile)")
	}
	if p.Spec.Workers < 1 {
		msgs = append(msgs, fmt.Sprintf("workers: must be at least 1, got %d", p.Spec.Workers))
	}
	if p.Store == "" {
		msgs = append(msgs, "store: missing: the workers need the run's results store (a shared one: postgres:// or snowflake://)")
	} else if strings.HasPrefix(p.Store, "sqlite:") {
		msgs = append(msgs, "store: "+core.RedactDSN(p.Store)+" is a file on this machine: workers in pods need a shared store (postgres:// or snowflake://)")
	}
	if p.Target == "" {
		msgs = append(msgs, "target: missing")
	}
	for _, r := range []struct{ name, v string }{{"resources.cpu", p.Spec.Resources.CPU}, {"resources.memory", p.Spec.Resources.Memory}} {
		if r.v == "" {
			continue
		}
		if _, err := resource.ParseQuantity(r.v); err != nil {
			msgs = append(msgs, fmt.Sprintf("%s: %q: %v", r.name, r.v, err))
		}
	}
	if len(msgs) > 0 {
		return errors.New("kubernetes: " + strings.Join(msgs, "; "))
	}
	return nil
}

// Objects builds the Indexed Job and the Secret of one run: what the
// launcher creates and what `unistore k8s manifest` prints. The Secret's
// owner reference to the Job needs the Job's uid, which only the API
// server gives: the launcher adds it after creating the Job; a manifest's
// Secret has none (delete it with `kubectl delete job,secret -l
// unistore.dev/run-id=ID`).
func Objects(p Params) (*batchv1.Job, *corev1.Secret, error) {
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	ns := p.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	grace := p.StopGrace
	if grace <= 0 {
		grace = orchestrator.DefaultStopGrace
	}
	name := Name(p.RunID)
	labels := map[string]string{
		"app.kubernetes.io/name":       "unistore",
		"app.kubernetes.io/component":  "worker",
		"app.kubernetes.io/managed-by": "unistore",
		LabelRunID:                     p.RunID,
	}
	n := int32(p.Spec.Workers)
	perIndex := int32(max(p.Spec.Control.MaxRelaunches, 0))
	deadline := int64(math.Ceil((p.Spec.Warmup.D() + p.Spec.Duration.D() + DeadlineSlack).Seconds()))
	ttl := int32(FinishedTTL / time.Second)
	graceS := int64(math.Ceil(grace.Seconds()))
	// A restart that comes while its predecessor's heartbeat is still
	// fresh waits for it to go stale instead of failing the pod again;
	// a pod applied from a manifest before its orchestrator has created
	// the run waits for it.
	joinWait := max(2*p.Spec.Control.HeartbeatTimeout.D(), JoinWait)

	res := corev1.ResourceRequirements{}
	if p.Spec.Resources.CPU != "" || p.Spec.Resources.Memory != "" {
		res.Requests = corev1.ResourceList{}
	}
	if v := p.Spec.Resources.CPU; v != "" {
		res.Requests[corev1.ResourceCPU] = resource.MustParse(v)
	}
	if v := p.Spec.Resources.Memory; v != "" {
		res.Requests[corev1.ResourceMemory] = resource.MustParse(v)
		res.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(v)}
	}

	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: batchv1.JobSpec{
			CompletionMode:          ptr(batchv1.IndexedCompletion),
			Completions:             &n,
			Parallelism:             &n,
			BackoffLimitPerIndex:    &perIndex,
			ActiveDeadlineSeconds:   &deadline,
			TTLSecondsAfterFinished: &ttl,
			PodReplacementPolicy:    ptr(batchv1.Failed),
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr(ContainerName), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: permanentExits}},
				// A pod evicted or preempted is the cluster's doing, not
				// the worker's: restarted without spending the backoff.
				{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
					{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					TerminationGracePeriodSeconds: &graceS,
					// Workers talk to the store and the target, never to
					// the Kubernetes API.
					AutomountServiceAccountToken: ptr(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(nonRootUID)), RunAsGroup: ptr(int64(nonRootUID)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  ContainerName,
						Image: p.Image,
						// $(JOB_COMPLETION_INDEX) is expanded by Kubernetes
						// from the container's environment.
						Args: []string{"worker", "--run-id", p.RunID, "--group", "$(" + EnvIndex + ")",
							"--join-wait", joinWait.String()},
						Env: []corev1.EnvVar{{Name: EnvAttempt, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
							FieldPath: "metadata.annotations['" + batchv1.JobIndexFailureCountAnnotation + "']"}}}},
						EnvFrom:   []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}},
						Resources: res,
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{EnvStore: []byte(p.Store), EnvTarget: []byte(p.Target)},
	}
	return job, secret, nil
}

// ownedBy makes secret owned by job (created, with its uid): the garbage
// collector deletes the Secret with the Job.
func ownedBy(secret *corev1.Secret, job *batchv1.Job) {
	secret.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
		Controller: ptr(true),
	}}
}

// podIndex and podAttempt read an Indexed Job pod's completion index and
// failure count from its annotations.
func podIndex(pod *corev1.Pod) (int, bool) {
	v, ok := pod.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		v, ok = pod.Labels[batchv1.JobCompletionIndexAnnotation]
	}
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(v)
	return i, err == nil && i >= 0
}

func podAttempt(pod *corev1.Pod) int {
	n, _ := strconv.Atoi(pod.Annotations[batchv1.JobIndexFailureCountAnnotation])
	return n
}

func ptr[T any](v T) *T { return &v }
