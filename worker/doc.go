// Package worker runs one worker of a run: Connections long-lived loops
// (SetTarget changes the number live), each owning its connection, its
// random generator, its parameter source and its metrics recorder —
// nothing shared or locked on the hot path.
//
// # Lifecycle
//
// New checks the config; Open connects every connection and prepares every
// statement on each (and lets the workload sample the target), so a missing
// table or a wrong DSN fails before any load, with nothing left open. Run
// drives the load until its context ends, then stops the loops, interrupts
// queries still in flight (driver.Canceler) and does not count their
// results, takes a last snapshot and closes the connections; every
// goroutine it started has ended when it returns. SetPhase cuts the
// interval in progress, so warm-up samples never mix with measurement ones.
//
// Preflight is Open's check on one connection without a worker to follow:
// the same statements prepared under the same labels (worker "preflight",
// phase PREPARE) and the same key sampling, then closed. The orchestrator
// runs it before it writes a run row.
//
// # Scaling
//
// SetTarget(ctx, n) changes the number of loops of a running worker
// without restarting it or dropping a query in flight. Growing connects
// and prepares the new connections on the caller's goroutine (never the
// collector's), like Open, and starts a loop on each with the next
// connection indexes; a failed connection fails the call, closes what it
// opened, and leaves the loops as they were. Shrinking retires the loops
// of the highest indexes: each finishes the operation it is in — recorded
// as usual, into the phase current when it ends — closes its connection
// and exits, and SetTarget returns once all have exited (or ctx ends; they
// still exit). In the open model a retiring loop that took a start just as
// it was retired runs it. A retired loop's recorder stays on the
// collector's list until a drain that began after the loop exited, so
// nothing it recorded is lost. Growing after a shrink reuses the freed
// indexes: a new connection, and a generator seeded afresh from (seed,
// group, index), so that index replays its parameter sequence from the
// start (sequence generators excepted: their counter is shared and goes
// on). The pacer is the worker's, so in the open model the rate stays
// Rate whatever the number of loops. Calls are serialized; n < 1 is an
// error, and so is a worker that is not running (ErrNotRunning).
// Connections reports the current count (heartbeats carry it).
//
// The list of loops is guarded by a mutex taken by SetTarget, the
// collector, the stop path and Connections — never by a loop. A loop
// learns it is retired from a channel it checks between operations (and
// waits on beside the pacer's starts). Run's stop first forbids further
// changes, so every loop, added live or not, is in the group it waits for.
//
// # Engines
//
// A loop owns its connection, but need not spend a goroutine wake-up on
// each query. When the connector is a driver.Multiplexer with an engine
// (the PostgreSQL driver's epoll engine), Open makes one and each loop's
// goroutine hands its connection to it (Engine.Serve) and sleeps until the
// engine hands it back; meanwhile the engine's event loops call the loop's
// driver.Handler: Next picks the operation, generates its parameters and
// takes the start time; Done takes the end time and records — the same
// steps as the goroutine path (begin and record are shared), on the same
// per-loop recorder, generator and capture batch, which are never touched
// by two threads at once (the hand-over is a channel). In the open model a
// connection with no start due is Idle on the engine, and the pacer wakes
// the engine after each batch of due starts. The connection comes back to
// its goroutine when the run stops, the loop is retired (SetTarget wakes
// the engine so that idle connections see it) or the connection broke;
// the goroutine then reconnects, as once does, and hands the new
// connection over again. A connection the engine refuses (TLS, say) runs
// on its goroutine. Run closes the engine after every loop has exited.
// The result's target settings say which engine ran (the driver's
// Settings).
//
// # Load models
//
// Closed loop (Rate 0): each loop issues its next operation when the last
// returns. Open model (Rate > 0): a pacer, apart from the loops, issues
// starts at t0 + n/Rate into a bounded backlog; a free loop takes the next
// start, records it late if it begins more than LateThreshold after its
// intended time, and measures response time from the intended time
// (coordinated omission corrected) beside service time from its actual
// start. Starts due while the backlog is full are skipped and counted.
//
// # Failures
//
// A failed query is a measurement: counted by class (driver.Classify) and
// timed in its own histogram, never returned. Captured executions are
// gathered per loop and handed to the store writer 128 at a time (or when
// the first is a second old, or the loop exits): one lock per batch
// instead of a channel operation per row. A connection error makes the
// loop reconnect and re-prepare with backoff (50 ms doubling to 2 s) until
// it succeeds or the run stops.
//
// # Joining a run
//
// Join is a worker's whole life inside a stored run, the same for a
// goroutine group (orchestrator.InProcess) and a process (`unistore
// worker`): it reads the run's spec from the store, refuses a finished run,
// a group outside 0..workers-1 or one held by a live worker (ids worker-G,
// worker-G-rK), connects and prepares, and
// starts in the run's current phase, replayed from the control events — a
// worker joining after warm-up starts in MEASUREMENT. It then polls the
// events every control.poll: SET_PHASE moves it, SET_WORKER_TARGET scales
// it (SetTarget), STOP ends it after its store buffers are flushed. It
// heartbeats every control.heartbeat. It stops on its own, with
// ErrLeaseLost, when the orchestrator has not renewed RUN_STATUS — judged
// on the worker's own clock, by whether updated_at changes — or the store
// has been unreachable for control.lease: a worker never outlives its
// control plane by more than a lease. Each of N workers paces rate/N in
// the open model.
//
// SET_RATE changes that rate live (SetRate): the pacer's schedule goes
// on from the next start it had due at the new period — no start lost or
// doubled, no burst — and the starts still queued in the backlog are
// dropped and counted skipped, so one rate's overload does not spill into
// the next rate's measurements (find-max steps down after a breach). A
// worker joining late replays the newest SET_RATE and starts at it. The
// pacer computes due starts and its next wake-up with one rounding, so its
// timer never wakes to find nothing due (which spins on a virtual clock).
//
// A group is held by a worker of it whose heartbeat is RUNNING and fresher
// than control.heartbeat_timeout, unless the orchestrator declared it lost
// (WORKER_LOST, appended before every relaunch). A holder of the same or a
// later attempt refuses the join at once. A later --attempt never takes a
// live group over: a holder of an earlier attempt may be dead with a fresh
// last heartbeat, so Join watches it for at most the heartbeat timeout and
// refuses as soon as its heartbeat advances (it is alive), taking the
// group only once it stopped, went silent for the timeout or was declared
// lost. A worker that reads WORKER_LOST naming itself stops, with
// ErrDeclaredLost: its group belongs to the relaunch. GROUP_GIVEN_UP for
// its group refuses the join, at any attempt and before connecting, and
// stops a running worker, with ErrGroupGivenUp: the orchestrator no longer
// counts the group, so its load would be unmeasured.
//
// # The local channel and the store
//
// A worker its orchestrator launched on the same machine (in-process, or
// a worker process) has a local channel to it beside the store
// (JoinConfig.Local; a Unix socket pair for a process, LocalConn, its
// descriptor named by control.EnvLocalFD). Each interval's snapshot rows
// go over it as they are offered to the store — the orchestrator computes
// the run's result from them, so the result never depends on the store —
// and STOP and SET_PHASE come over it as well as through the control
// events, whichever arrives first: a run ends on time whatever the store
// does. While the channel is open the orchestrator is alive, so such a
// worker does not stop on the store's silence (an outage longer than the
// lease); it stops when the channel closes — at once when its
// orchestrator dies, not a lease later. Workers started elsewhere have no
// channel and keep the store path and the lease. Last, with its store
// counters, a worker sends its own control-plane writes
// (StoreStats.Control: every heartbeat and snapshot row it sent the
// store, retries included, counted where it makes them) for the run's
// cost, which is then counted, not derived from the heartbeat cadence.
// Counting happens in the worker rather than by wrapping its store so
// that the store's optional capabilities (store.BatchWriter) reach the
// writers untouched.
//
// The store writers spool what the store cannot take (Config.Spool,
// store.Spool): at the end of Run, what is unstored by FlushTimeout
// (control.DefaultFlushTimeout, 5 s, or the run's: a worker process gets
// it as `worker --flush-timeout`); during the run, once an outage has
// lasted FlushTimeout. The launching orchestrator may cut the final flush
// shorter (a HURRY at the last fifth of its own stop window, kept for the
// run's final status); after a HURRY the STOPPED heartbeat gets one quick
// try, not a second.
// Closing Urgent (a HURRY on the local channel, or a second signal to a
// worker process) spools at once. Each batch carries an id (worker id,
// kind, a random part, a sequence number) so that a retry, or the spool
// loaded by `unistore runs recover`, stores it once. A store outage is
// logged once when it begins and once when it ends, at Info: the
// orchestrator gives the run's one warning.
//
// # Deterministic sharding by worker group
//
// Loop c of the worker in group g draws from a PCG generator seeded with
// (seed, g<<32 | c) (workload.NewRand): one seed, group and connection give
// one sequence of operations and parameters, and no two loops of a run
// share a stream. Sequence generators hand group g the range
// start + g*span + k (k = 0, 1, …; shared by the group's loops through one
// atomic counter), so inserts of different groups never collide. A worker
// relaunched with the same group continues in the same shard.
package worker
