// Package kubernetes is the orchestrator's Kubernetes launcher: a run's
// workers as one Indexed Job, whose completion index is the worker group.
// It is the way k6-operator distributes k6, without an operator: the
// orchestrator (inside `unistore run` or `unistore serve`) creates the Job
// and follows its workers through the results store, as it follows any
// worker; the cluster only schedules and restarts them.
//
// # The objects
//
// Objects builds them, for the launcher and for `unistore k8s manifest`
// alike (a test holds the two equal):
//
//   - a batch/v1 Job named unistore-RUN_ID, completionMode Indexed,
//     completions = parallelism = the spec's workers. Its pods run
//     `unistore worker --run-id ID --group $(JOB_COMPLETION_INDEX)
//     --join-wait W` (W = 2×heartbeat_timeout, at least JoinWait: a pod
//     waits that long for its run to exist, or for a predecessor's
//     heartbeat to go stale), with restartPolicy Never,
//     non-root (uid 65532, distroless's nonroot), no privilege escalation,
//     every capability dropped, no service-account token (workers never
//     call the Kubernetes API), and terminationGracePeriodSeconds = the
//     orchestrator's stop grace, so a deleted pod's worker flushes its rows;
//   - resources from the spec's `resources:` — cpu and memory requested,
//     memory limited, cpu never limited (a CPU limit's throttling would be
//     measured as the target's latency);
//   - a v1 Secret of the same name holding UNISTORE_STORE and
//     UNISTORE_TARGET, the DSNs with their passwords, which the container
//     gets through envFrom: no DSN is in the Job, its arguments or its
//     environment literals (a test checks it), and the stored spec's DSN
//     is redacted anyway. The launcher creates the Secret after the Job,
//     owned by it (an ownerReference with the Job's uid), so the garbage
//     collector deletes both together; pods created before the Secret wait
//     for it (a missing Secret is retried by the kubelet, not a pod
//     failure). A manifest's Secret has no owner — no uid exists before the
//     API server creates the Job — so GitOps users delete both with
//     `kubectl delete job,secret -l unistore.dev/run-id=ID`.
//
// # Loss and restart
//
// The launcher implements orchestrator.SelfRestarting: the orchestrator
// launches each group once and the Job controller restarts a failed index,
// backoffLimitPerIndex = control.max_relaunches times (restartPolicy Never,
// as backoffLimitPerIndex requires). A restarted pod's attempt is its
// index's failure count, which the Job controller keeps in the pod
// annotation batch.kubernetes.io/job-index-failure-count; the downward API
// passes it as UNISTORE_ATTEMPT, so the restart joins as worker-G-rK with
// a higher attempt than the pod before it, as the join requires. The
// orchestrator counts it in the result's workers.restarted (its relaunch
// accounting for self-restarting launchers) and the gap in workers.gaps.
//
// A failed pod is one more signal of a lost worker, beside a silent
// heartbeat: every poll (DefaultPoll) the launcher reads the Job and the
// run's pods, and a handle reports a failed pod whose index will be
// restarted through orchestrator.FailureReporter, so the worker is counted
// lost when its pod fails, not a heartbeat timeout later. The index's last
// failure is not reported that way: the index appears in the Job's
// failedIndexes and its handle ends, which the orchestrator takes as the
// scheduler giving the group up. A pod failure policy fails the index at
// once on the worker's exit statuses 2 (bad input), 3 (its orchestrator
// is gone) and 6 (its group given up, below), which no restart mends, and ignores evictions and preemptions
// (DisruptionTarget): the cluster's doing, restarted without spending the
// backoff. A restart that comes while its predecessor's heartbeat is still
// fresh (a Snowflake store's 30 s timeout is longer than the Job
// controller's first 10 s backoff) waits for it to go stale, with
// `--join-wait`, instead of failing again.
//
// # GitOps
//
// `unistore k8s manifest` prints what Objects builds for a run id the
// user picks; the user applies it, then starts the orchestrator with
// `unistore run --launcher external --run-id ID` within JoinWait (the
// pods wait that long for the run to exist). The other way round, the
// pods must heartbeat within the orchestrator's join timeout (30 s). The orchestrator then follows
// the workers through the store only: no pod failure signal, no Job
// deletion at the end (ttlSecondsAfterFinished removes it).
//
// # Stop and cleanup
//
// STOP goes through the control tables, as for every launcher: the
// workers flush and exit 0, their pods succeed, their indexes complete.
// When every handle of the run has ended the launcher deletes the Job,
// and with it the Secret. Workers that have not ended after the stop
// grace are terminated: the Job is deleted (background propagation), each
// pod getting its termination grace; Kill then deletes an index's pods at
// once. Kill is also how the orchestrator gives a group up; should the
// index have restarts left, the Job controller starts another pod — there
// is no API to fail one index from outside. So the orchestrator first
// appends GROUP_GIVEN_UP for the group to the control events; that pod's
// worker reads it before it connects, refuses to join
// (worker.ErrGroupGivenUp) and exits 6, on which the pod failure policy
// fails the index at once: no load is added to a run that no longer counts
// the group, and no backoff is spent. (A pod that starts before the event
// is stored — the orchestrator writes it just before the kill, the Job
// controller's restart backoff is at least 10 s — joins, reads it at its
// next poll and stops the same way.)
//
// An orchestrator that dies leaves the Job behind: its workers stop on
// their own a lease later and the pods succeed or fail;
// activeDeadlineSeconds (warm-up + duration + DeadlineSlack) is the
// backstop that stops pods in any case, and ttlSecondsAfterFinished
// (FinishedTTL) removes the finished Job and its Secret.
//
// # Permissions
//
// The orchestrator's identity (the kubeconfig's user, or the service
// account of a pod running `unistore run`/`serve`) needs, in the run's
// namespace: jobs (batch) create, get, delete; secrets create; pods list,
// delete. The workers need none (no service-account token is mounted).
//
//	kind: Role
//	rules:
//	- {apiGroups: [batch], resources: [jobs], verbs: [create, get, delete]}
//	- {apiGroups: [""], resources: [secrets], verbs: [create]}
//	- {apiGroups: [""], resources: [pods], verbs: [list, delete]}
//
// # Weight
//
// client-go is a large dependency (it brings k8s.io/api's every API group).
// Only this package imports it, and only cmd/unistore imports this
// package: the root package, the worker and the orchestrator core link
// none of it, so an embedder of the library pays nothing for it.
package kubernetes
