package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/unistore-bench/unistore/core"
)

// EventKind is the kind of a control event (RUN_CONTROL_EVENTS.KIND).
type EventKind string

// The control event kinds.
const (
	// EventStart marks the run RUNNING: every worker has joined.
	EventStart EventKind = "START"
	// EventStop asks every worker to stop; appended by the orchestrator at
	// the end of the run, or by anyone (Stop) to end it early.
	EventStop EventKind = "STOP"
	// EventSetPhase moves the workers to a phase (PhasePayload).
	EventSetPhase EventKind = "SET_PHASE"
	// EventSetWorkerTarget changes the connections of running workers
	// (TargetPayload).
	EventSetWorkerTarget EventKind = "SET_WORKER_TARGET"
	// EventWorkerLost records that the orchestrator declared a worker
	// lost (LostPayload), before it relaunches the worker's group: the
	// relaunch may take the group over although the lost worker's last
	// heartbeat is still fresh, and the lost worker, should it still run,
	// stops when it reads the event.
	EventWorkerLost EventKind = "WORKER_LOST"
	// EventGroupGivenUp records that the orchestrator gave a worker group
	// up (GivenUpPayload): it counts no worker of the group live again. A
	// worker of that group that would join (a scheduler's restart that
	// came too late) refuses to (ErrGroupGivenUp), and one that runs stops.
	EventGroupGivenUp EventKind = "GROUP_GIVEN_UP"
	// EventSetRate changes the open-model arrival rate of a running run
	// (RatePayload); closed-loop workers ignore it.
	EventSetRate EventKind = "SET_RATE"
)

// Control event payloads, stored as JSON.
type (
	// PhasePayload is SET_PHASE's payload.
	PhasePayload struct {
		Phase core.Phase `json:"phase"`
		// Reason says why the orchestrator moved the run: for the end of
		// a warm-up, how it ended (core.WarmupEndedBy*). Workers ignore it.
		Reason string `json:"reason,omitempty"`
	}
	// TargetPayload is SET_WORKER_TARGET's payload: the connections each
	// worker holds; Groups, if not empty, limits it to those groups.
	TargetPayload struct {
		Connections int   `json:"connections"`
		Groups      []int `json:"groups,omitempty"`
	}
	// LostPayload is WORKER_LOST's payload: the worker declared lost.
	LostPayload struct {
		WorkerID string `json:"worker_id"`
		Reason   string `json:"reason,omitempty"`
	}

	// GivenUpPayload is GROUP_GIVEN_UP's payload: the group given up.
	GivenUpPayload struct {
		Group  int    `json:"group"`
		Reason string `json:"reason,omitempty"`
	}

	// RatePayload is SET_RATE's payload: the whole run's rate in
	// operations per second; each of N workers paces Rate/N.
	RatePayload struct {
		Rate float64 `json:"rate"`
	}
)

// Command is a control event before it is appended: its kind and payload.
type Command struct {
	Kind    EventKind       `json:"kind"`
	Payload json.RawMessage `json:"payload,omitempty"` // nil for none
}

// Start is the START event.
func Start() Command { return Command{Kind: EventStart} }

// Stop is the STOP event.
func Stop() Command { return Command{Kind: EventStop} }

// SetPhase is the SET_PHASE event moving the workers to p.
func SetPhase(p core.Phase) Command {
	raw, _ := json.Marshal(PhasePayload{Phase: p})
	return Command{Kind: EventSetPhase, Payload: raw}
}

// SetPhaseBecause is SetPhase with the reason recorded in the event.
func SetPhaseBecause(p core.Phase, reason string) Command {
	raw, _ := json.Marshal(PhasePayload{Phase: p, Reason: reason})
	return Command{Kind: EventSetPhase, Payload: raw}
}

// Scale is the SET_WORKER_TARGET event moving every worker of a run of
// workers groups (or only those of groups, if given) to connections
// connections. connections < 1 or a group outside 0..workers-1 is an
// error.
func Scale(connections, workers int, groups ...int) (Command, error) {
	if connections < 1 {
		return Command{}, fmt.Errorf("control: scale: connections must be at least 1, got %d", connections)
	}
	for _, g := range groups {
		if g < 0 || g >= workers {
			return Command{}, fmt.Errorf("control: scale: group %d outside 0..%d", g, workers-1)
		}
	}
	raw, _ := json.Marshal(TargetPayload{Connections: connections, Groups: groups})
	return Command{Kind: EventSetWorkerTarget, Payload: raw}, nil
}

// WorkerLost is the WORKER_LOST event declaring worker workerID lost.
func WorkerLost(workerID, reason string) Command {
	raw, _ := json.Marshal(LostPayload{WorkerID: workerID, Reason: reason})
	return Command{Kind: EventWorkerLost, Payload: raw}
}

// LostOf reads a WORKER_LOST payload: the worker declared lost, or ok
// false if it names none.
func LostOf(payload json.RawMessage) (workerID string, ok bool) {
	var p LostPayload
	if json.Unmarshal(payload, &p) != nil || p.WorkerID == "" {
		return "", false
	}
	return p.WorkerID, true
}

// GroupGivenUp is the GROUP_GIVEN_UP event giving group up.
func GroupGivenUp(group int, reason string) Command {
	raw, _ := json.Marshal(GivenUpPayload{Group: group, Reason: reason})
	return Command{Kind: EventGroupGivenUp, Payload: raw}
}

// GivenUpOf reads a GROUP_GIVEN_UP payload: the group given up, or ok
// false if it names none.
func GivenUpOf(payload json.RawMessage) (group int, ok bool) {
	var p struct {
		Group *int `json:"group"`
	}
	if json.Unmarshal(payload, &p) != nil || p.Group == nil {
		return 0, false
	}
	return *p.Group, true
}

// SetRate is the SET_RATE event moving an open-model run to rate
// operations per second (the whole run's). rate must be positive and
// finite.
func SetRate(rate float64) (Command, error) {
	if !(rate > 0) || math.IsInf(rate, 0) {
		return Command{}, fmt.Errorf("control: set rate: must be a positive number of operations per second, got %v", rate)
	}
	raw, _ := json.Marshal(RatePayload{Rate: rate})
	return Command{Kind: EventSetRate, Payload: raw}, nil
}

// RateOf reads a SET_RATE payload; ok is false if it holds no positive
// rate.
func RateOf(payload json.RawMessage) (float64, bool) {
	var p RatePayload
	if json.Unmarshal(payload, &p) != nil || !(p.Rate > 0) || math.IsInf(p.Rate, 0) {
		return 0, false
	}
	return p.Rate, true
}

// PhaseOf reads a SET_PHASE payload; ok is false if it holds no phase.
func PhaseOf(payload json.RawMessage) (core.Phase, bool) {
	var p PhasePayload
	if json.Unmarshal(payload, &p) != nil || p.Phase == "" {
		return "", false
	}
	return p.Phase, true
}

// TargetFor reads a SET_WORKER_TARGET payload for group g: the connections
// g's worker moves to, or ok false if the event is not for g (or is bad).
func TargetFor(payload json.RawMessage, g int) (connections int, ok bool) {
	var p TargetPayload
	if json.Unmarshal(payload, &p) != nil || p.Connections < 1 {
		return 0, false
	}
	if len(p.Groups) > 0 && !containsInt(p.Groups, g) {
		return 0, false
	}
	return p.Connections, true
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// WorkerState is a worker's own state in its heartbeat row
// (WORKER_HEARTBEATS.STATUS).
type WorkerState string

// Worker states.
const (
	// WorkerRunning is written on every heartbeat while the worker runs.
	WorkerRunning WorkerState = "RUNNING"
	// WorkerStopped is the last heartbeat of a worker that stopped and
	// flushed its store rows.
	WorkerStopped WorkerState = "STOPPED"
)

// WorkerID returns the id of a group's worker at a launch attempt:
// "worker-G" first, "worker-G-rK" for the K-th relaunch.
func WorkerID(group, attempt int) string {
	if attempt == 0 {
		return "worker-" + strconv.Itoa(group)
	}
	return "worker-" + strconv.Itoa(group) + "-r" + strconv.Itoa(attempt)
}

// AttemptOf parses WorkerID's attempt (0 for anything else).
func AttemptOf(id string) int {
	if i := strings.LastIndex(id, "-r"); i >= 0 {
		if n, err := strconv.Atoi(id[i+2:]); err == nil {
			return n
		}
	}
	return 0
}

// Errors a worker refuses to join (or stops) with, matched with errors.Is.
var (
	ErrRunFinished = errors.New("worker: run is finished")
	ErrGroupTaken  = errors.New("worker: group is held by a live worker")
	ErrBadGroup    = errors.New("worker: group outside the run's groups")
	ErrLeaseLost   = errors.New("worker: lost the control plane")
	// ErrDeclaredLost: the orchestrator declared this worker lost
	// (WORKER_LOST) and its group belongs to a relaunch now.
	ErrDeclaredLost = errors.New("worker: declared lost by the orchestrator")
	// ErrGroupGivenUp: the orchestrator gave the worker's group up
	// (GROUP_GIVEN_UP); no attempt of it may join the run again.
	ErrGroupGivenUp = errors.New("worker: group given up by the orchestrator")
)

// DefaultFlushTimeout is how long a stopping worker may spend storing what
// it still holds before it spools the rest to local disk, and so how long
// the end of a run waits for an unreachable store.
const DefaultFlushTimeout = 5 * time.Second

// LateThreshold is how far after its intended time an open-model start may
// begin before it counts as late: workers count by it, results report it.
const LateThreshold = time.Millisecond

// LateThresholdMS is LateThreshold in milliseconds, as results report it.
func LateThresholdMS() float64 { return float64(LateThreshold) / float64(time.Millisecond) }

// The local channel: an orchestrator and the worker processes it
// launched on its machine talk over a socket pair beside the store, so
// that STOP and phase changes reach them, and their snapshots reach it,
// whatever the store does. Each side writes LocalMessage values as JSON
// lines.

// EnvLocalFD names the environment variable that gives a worker process
// the file descriptor of its end of the local channel.
const EnvLocalFD = "UNISTORE_LOCAL_FD"

// LocalHurry is a local-channel command with no store event: the
// orchestrator is exiting at once (a second Ctrl-C), so the worker spools
// what it has not stored now instead of waiting out its flush timeout.
const LocalHurry EventKind = "HURRY"

// LocalMessage is one line on the local channel. The orchestrator sends
// Command; the worker sends Snapshots (its rows of each interval, as it
// offers them to the store: []store.Snapshot) and, last, Done (its store
// counters: core.StoreStats) with Writes (its own control-plane writes,
// for the run's cost). An orchestrator that predates Writes ignores it; a
// worker that predates it sends none, and its writes are estimated.
type LocalMessage struct {
	Command   *Command        `json:"command,omitempty"`
	Snapshots json.RawMessage `json:"snapshots,omitempty"`
	Done      json.RawMessage `json:"done,omitempty"`
	Writes    *Writes         `json:"writes,omitempty"`
}

// Writes counts a process's control-plane writes to the results store:
// every write it made, retries included (each reaches the store's
// server). A worker makes heartbeats and snapshot rows only; the
// orchestrator RUN_STATUS writes and events.
type Writes struct {
	RunStatus    int64 `json:"run_status,omitempty"`
	Events       int64 `json:"events,omitempty"`
	Heartbeats   int64 `json:"heartbeats"`
	SnapshotRows int64 `json:"snapshot_rows"`
}

// Add returns the sum of w and o.
func (w Writes) Add(o Writes) Writes {
	return Writes{RunStatus: w.RunStatus + o.RunStatus, Events: w.Events + o.Events,
		Heartbeats: w.Heartbeats + o.Heartbeats, SnapshotRows: w.SnapshotRows + o.SnapshotRows}
}
