// Package orchestrator is unistore's OrchestratorService: it runs a spec's
// workers, coordinated only through the results store's control tables, so
// the same code drives goroutine workers, worker processes on this machine
// and workers on other machines.
//
// # Lifecycle
//
// Service.Start applies the spec's defaults — the one place they are
// applied: the stored spec is the defaulted one, and readers of stored
// runs use it as it is — validates it and checks the target once before it
// writes anything, so bad input leaves no run row. The preflight is
// worker.Preflight, a worker's own connect-and-prepare on one connection —
// every statement prepared under the worker's labels (run id, worker
// "preflight", phase PREPARE) and the workload's key sampling — so what
// passes it is what the loops will do, and a sampled table that is missing
// or empty fails here, not in N workers. On a connection that implements
// driver.Capacity (PostgreSQL) it also refuses a run needing more
// connections (workers × connections) than the server has free
// (ErrCapacity, with the numbers). It then creates the run (PREPARED), launches
// spec.Workers workers (groups 0..N-1) through a Launcher and returns. The
// run's goroutine waits for every worker's first heartbeat, marks the run
// RUNNING and appends START, appends SET_PHASE MEASUREMENT at the end of
// warm-up and STOP at the end of the duration (or at once on Run.Stop, a
// cancelled context, or a STOP appended by `unistore stop`). Workers get a
// grace period to flush and exit, then SIGTERM, then SIGKILL. The final
// RUN_STATUS holds the outcome and the rollup as the summary. The
// orchestrator writes only RUN_STATUS and RUN_CONTROL_EVENTS.
//
// # Faults
//
// A worker whose handle ends before STOP, whose heartbeat is silent for
// longer than control.heartbeat_timeout, or that never joins within the
// join timeout is declared lost: it is killed, counted in
// RUN_STATUS.workers_lost, and relaunched with the same group at the next
// attempt (worker id worker-G-rK), at most control.max_relaunches times; the
// gap is recorded in the result (workers.gaps). While the store cannot be
// read, nobody is judged; once it is back, each worker gets a full timeout
// to heartbeat again, so a store outage does not look like dead workers.
//
// The orchestrator renews RUN_STATUS (live and lost worker counts) every
// lease/5: that is its lease. A worker that sees no renewal — or cannot
// reach the store — for control.lease stops on its own, so an orchestrator
// that dies leaves no orphan load. Workers judge renewals on their own clock
// (did updated_at change?), so clock skew between machines does not matter.
//
// # Progress
//
// The final RUN_STATUS summary is package rollup's exact merge of every
// worker's stored snapshots. While the run goes on, OnProgress gets
// rollup.Live's merge of every worker's newest snapshots about once a
// second, with the workers' health from the heartbeats the liveness check
// read last.
//
// # Protocol
//
// The orchestrator and its workers meet in package control (event kinds and
// payloads, worker ids, heartbeat states, join errors). Two files import
// package worker, and a test keeps it so: the in-process launcher
// (inprocess.go), which starts workers, and the preflight (preflight.go),
// which calls worker.Preflight. The preflight could have been handed in as
// a function, or its code moved to a package both import; calling the
// worker's own function is simpler and keeps one implementation, and the
// import runs the sanctioned way (orchestrator above worker). What the rule
// guards — the protocol lives in control, not in worker — is unchanged.
//
// # Launchers
//
// The orchestrator owns the run's target: Start opens the connector (or
// takes Options.Connector), runs the preflight on it, and hands the
// launcher a Target — the unredacted DSN, the driver name, that connector
// and the embedder's Go workload, if any — in every Assignment. Nobody
// configures a launcher with a DSN or a connector beside the orchestrator.
// A connector Start opened is closed once the run has ended.
//
// InProcess runs workers as goroutine groups through worker.Join, the same
// path a worker process takes (used by unistore.Run and tests); they share
// the Target's connector and Go workload. Subprocess spawns `unistore
// worker --run-id ID --group G --attempt K` in its own process group, with
// the store DSN and the Target's DSN in the environment, never on the
// command line; its workers build their own connector and workload from
// the stored spec. External launches nothing, for workers started by hand
// or by a scheduler the orchestrator does not own.
//
// A launcher whose scheduler restarts workers itself (a Kubernetes Indexed
// Job whose completion index is the group, not written yet) implements
// SelfRestarting. The orchestrator then launches each group once and never
// relaunches: a lost worker is counted lost (with its gap) and the group
// waits a join timeout for the scheduler's next attempt; any later attempt
// of the group that heartbeats is a restart, counted in
// WorkerStats.Restarted (and, when it came before the heartbeat timeout
// judged the previous attempt, counted lost from that attempt's last
// heartbeat). A group whose handle ends (the scheduler gave up), or that
// no restart reaches within the join timeout, is given up; its handle is
// killed so the scheduler stops too.
//
// Which launcher runs is the caller's runtime choice, not part of the
// Spec: `workers:` (and `unistore run --workers`) is how many workers,
// nothing more. The library defaults to InProcess; the CLI takes
// `--launcher process|inprocess` and defaults to process for more than
// one worker and inprocess for one (unistore.DefaultLauncher).
//
// # Steady-state warm-up
//
// A spec with WarmupSteady ends its warm-up once the run is steady: once a
// second (steady.go) the orchestrator reads the newest warm-up snapshots,
// buckets them per second (rollup.Intervals, the first and the newest
// second left out as partial) and ends the warm-up when the per-second
// QPS and p99 (response time in the open model) over the last window each
// have a coefficient of variation below the tolerance — or at max. The
// measurement phase then lasts its full duration from there. The decision
// (steady, max, or duration for a fixed warm-up), when it came and the two
// CVs go in the result (Result.WarmupDecision, so in RUN_STATUS.SUMMARY),
// the time in RUN_STATUS.WARMUP_ENDED_AT and the reason in the SET_PHASE
// event's payload. RUN_STATUS has no column of its own for the reason:
// SQLite cannot add one rerunnably (no ADD COLUMN IF NOT EXISTS), and the
// schema's scripts are rerun whole.
//
// # Find-max
//
// Service.FindMax (findmax.go) is one run whose steps change the
// open-model rate (SET_RATE) or the connections (SET_WORKER_TARGET) live:
// the run starts at the first step's value with no run-level warm-up and
// an upper-bound duration, and FindMax ends it (Run.End: COMPLETED) once
// it has an answer. Each step waits its own warm-up, then its measured
// window, then for every worker's snapshot covering the window's end; the
// window's figures are the rollup of the snapshots whose midpoint lies in
// it. A step is BREACH when an objective fails (latency on response time
// in the open model), CLIENT-BOUND when it meets the SLO but started fewer
// than 95 % of the intended starts or skipped any (the answer is then
// "client-bound": the figure is the client's, not the target's), PASS
// otherwise. The search multiplies the value by the factor while steps
// pass, divides it while they fail, then bisects between the best good and
// the smallest bad value until they are within the resolution (whole
// connections: until they differ by one); out of steps, the bracket so far
// is the answer. Every step is written to FIND_MAX_STEPS as it is judged,
// when the store has it (store.StepStore).
//
// A saturated target and a saturated client look alike to the schedule:
// both leave starts late. A loose SLO that tolerates the queueing can
// therefore answer client-bound where more connections would have shown a
// server limit; the step's note says so.
//
// # Decisions
//
//   - Control is by polling (control.poll, default 200 ms) on every store;
//     LISTEN/NOTIFY on PostgreSQL would cut the latency but would leave
//     SQLite and Snowflake on another path, and STOP within two polls is
//     well inside what a load run needs.
//   - The open-model rate is the whole run's: each of N workers paces
//     rate/N.
//   - The Service runs inside the CLI (and later the HTTP controller) as a
//     goroutine per run; everything it knows is in the store, so it can move
//     to a process of its own.
package orchestrator
