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
// connections (workers × connections, plus the meter's session: see
// Meter) than the server has free (ErrCapacity, with the numbers). It then creates the run (PREPARED), launches
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
// A worker with a local channel (below) judges by the channel instead: it
// stops when the channel closes, at once, and a store outage longer than
// the lease does not stop it.
//
// # The result without the store
//
// A store outage must never lose or distort a run. Each worker the
// launcher starts on this machine (InProcess, Subprocess) gets a local
// channel (Assignment.Rows, LocalHandle): its snapshot rows come back over
// it as it cuts them, and STOP and SET_PHASE go out over it before they
// are appended to the store, so the run's clock never waits on the store.
// The orchestrator keeps every row it is sent (normalized as the store
// would keep it: UTC, microseconds), and the result is package rollup's
// merge of those rows and of the stored rows it lacks (workers started
// elsewhere, which keep the store path) — one code path, the same merge
// `runs show` makes, so with nothing lost the two are identical (a test
// holds it), and with the store down the result is whole.
//
// The end of a run is bounded by one window, the flush timeout, from STOP
// to the result: STOP goes out locally; owned workers are waited for by
// their handles alone (no store reads); they flush in the window's first
// four fifths (the last fifth, at most a second, is the final status's:
// statusReserve), and those still flushing then are sent a HURRY and
// spool the rest — whatever flush timeout they were given themselves;
// the final RUN_STATUS is retried in what is left of the window (one
// quick try when the store was down a moment ago), then spooled
// (status.json) for `unistore runs recover`, and the result says so
// (Store.StatusSpooled, RowsSpooled). So a Ctrl-C with the store down
// exits within the flush timeout (TestCtrlCWithStoreDown in
// cmd/unistore), not after it. Run.Hurry — a second Ctrl-C — passes a
// HURRY to the workers (spool now), gives them a second, and spools the
// status without trying the store. No store call outlasts the run's next deadline (the
// end of warm-up, of the run, of the stop's window), so a store that
// hangs does not delay a phase change or the end. The control writes the
// record needs — START, SET_PHASE, STOP and their RUN_STATUS changes — are
// kept when they fail and retried in order at every poll, so an outage
// delays them but neither loses nor reorders them (those still pending
// at the end go to the spool with the status, stamped when they were
// made, and Recover appends them). The
// outage is logged twice: one warning when it begins, one when it ends,
// with the count of failed calls.
//
// # Runs whose orchestrator died
//
// The orchestrator renews RUN_STATUS from its first join wait to its last
// grace period, so a run not renewed for longer than its lease has no
// orchestrator (Abandoned). Such a run is made final as FAILED, with an
// outcome beginning "orchestrator lost" (OutcomeOrchestratorLost) that
// names its last renewal and who marked it — not a new status: every
// reader, filter, exit code and UI already knows FAILED, and the outcome
// says why. It is marked by whoever sees it first (MarkAbandoned): `runs
// list` and `runs show` and the controller (through the root's Runs and
// Show), Stop and Scale (which then return ErrOrchestratorLost and append
// nothing), and the next orchestrator on the store (SweepAbandoned, before
// it creates its run). The mark carries the rollup of every stored
// snapshot as the summary, so the run's figures stay readable. It is a
// compare-and-set on updated_at (store.RunUpdaterIf): a renewal racing it
// wins. Judging a lease compares the reader's clock with the time the
// orchestrator wrote, so clocks skewed by more than a lease misjudge;
// and an orchestrator that was only cut off from the store writes its
// own outcome over the mark when it ends.
//
// A relaunch takes a group over from the worker it replaces because the
// orchestrator first appends WORKER_LOST naming that worker: a joining
// worker never takes over a group whose holder is alive (its heartbeat
// advances) unless that holder was declared lost, and a worker that reads
// its own WORKER_LOST stops (worker.ErrDeclaredLost). A group given up
// (its relaunches spent, its relaunch failed, or a self-restarting
// launcher's scheduler that gave up or did not restart it within a join
// timeout) gets GROUP_GIVEN_UP, appended before its handle is killed: a
// worker of that group that joins later — a scheduler's restart the
// orchestrator no longer waits for — refuses to (worker.ErrGroupGivenUp;
// `unistore worker` exits 6), and one that runs stops.
//
// # Progress
//
// While the run goes on, OnProgress gets rollup.Live's merge of every
// worker's newest snapshots about once a second — from the local
// channels when every worker has one (so progress goes on while the store
// is down), else from the store — with the workers' health from the
// heartbeats the liveness check read last.
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
// A launcher whose scheduler restarts workers itself (package
// orchestrator/kubernetes: an Indexed Job whose completion index is the
// group) implements SelfRestarting. The orchestrator then launches each group once and never
// relaunches: a lost worker is counted lost (with its gap) and the group
// waits a join timeout for the scheduler's next attempt; any later attempt
// of the group that heartbeats is a restart, counted in
// WorkerStats.Restarted (and, when it came before the heartbeat timeout
// judged the previous attempt, counted lost from that attempt's last
// heartbeat). A group whose handle ends (the scheduler gave up), or that
// no restart reaches within the join timeout, is given up; its handle is
// killed so the scheduler stops too.
//
// A handle may also implement FailureReporter: its scheduler saw the
// current attempt fail (a failed pod) while the handle lives on. That is
// one more signal of a lost worker, beside a silent heartbeat and the
// handle's end, and it is read at the next poll rather than a heartbeat
// timeout later. The cluster launchers live in sub-packages
// (orchestrator/kubernetes, orchestrator/spcs) that only cmd/unistore
// imports, so the library links neither client-go nor their SQL; they get
// the run's stored spec in Assignment.Spec to size their jobs.
//
// Which launcher runs is the caller's runtime choice, not part of the
// Spec: `workers:` (and `unistore run --workers`) is how many workers,
// nothing more. The library defaults to InProcess; the CLI takes
// `--launcher process|inprocess` and defaults to process for more than
// one worker and inprocess for one (unistore.DefaultLauncher).
//
// # Meter
//
// Options.Meter makes the run's Meter (the root package's: packages cost
// and serverstats) just before the workers are launched, with the run's
// connector and store, so it can read the server's counters before the
// first load statement. The orchestrator calls Measure when it appends
// SET_PHASE MEASUREMENT and Finish with the rolled-up result once every
// worker has stopped; Finish adds the Cost and Server sections, which
// the final RUN_STATUS summary stores (so `runs show` prints them as the
// run did). A run that never reaches its rollup still gets Finish (with
// an empty result) so the meter releases its session and goroutine. The
// meter works on its own connection and goroutine: nothing of it runs on
// a worker's loop. Before Finish, a meter that implements
// MeterWorkerWrites gets the control-plane writes the run's worker
// processes reported over their local channels (WritesReporter) and the
// ids of the workers counted exactly (those plus the in-process ones,
// whose writes go through the orchestrator's own store), so the cost
// estimates only the workers that reported nothing. That connection is a session of the target for the
// whole run when the target has server figures to read
// (MeterHoldsSession), so the preflight's capacity check counts it: a run
// of exactly the free slots, meter excluded, used to pass the preflight
// and then fail with "too many clients" when its last worker connected.
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
