// Package control is the protocol between the orchestrator and its workers:
// what one side writes to the results store's control tables and the other
// reads. It holds the control event kinds and their typed payloads (built
// by Start, Stop, SetPhase and Scale, read by PhaseOf and TargetFor), the
// worker ids of a group's launch attempts (WorkerID, AttemptOf), the typed
// heartbeat states, the errors a worker refuses to join with, and the
// open-model lateness threshold both sides report.
//
// # Decisions
//
//   - A leaf: it imports nothing of ours but core, so worker and
//     orchestrator meet here and neither imports the other (the in-process
//     launcher, which starts workers, aside). The store imports it for the
//     column types (Event.Kind, Heartbeat.Status); it never imports the
//     store — a Command is appended by whoever holds one.
//   - Payloads are JSON objects with lowercase keys, stored as they are in
//     RUN_CONTROL_EVENTS.PAYLOAD, so a human reading the table (or a worker
//     of another version) sees {"phase":"MEASUREMENT"} and
//     {"connections":8,"groups":[1]}. A payload a reader cannot decode is
//     ignored, never fatal: the event log is append-only and a bad row must
//     not stop every worker that replays it.
//   - Heartbeat states are a type, WorkerState, not strings compared in two
//     packages.
//   - The join errors keep their "worker:" prefix: it is the worker that
//     refuses to join, and the CLI prints them as the worker's.
//   - SET_RATE ({"rate":400}) carries the whole run's open-model rate, as
//     Spec.Rate does; each of N workers paces rate/N. Closed-loop workers
//     ignore it. find-max steps the rate with it.
//   - SET_PHASE may carry a reason ({"phase":"MEASUREMENT","reason":"steady"}):
//     how a warm-up ended (steady, max, duration), kept in the event log
//     beside RUN_STATUS.WARMUP_ENDED_AT. Workers ignore it.
package control
