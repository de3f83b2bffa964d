package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/sleepdriver"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/worker"
	"github.com/unistore-bench/unistore/workload"
)

// Join's tests run a worker against a Memory store whose run row and
// control events are written by hand, in a synctest bubble (virtual time).

const (
	joinPoll      = 100 * time.Millisecond
	joinHeartbeat = 50 * time.Millisecond
	joinLease     = 2 * time.Second
)

var quietLog = slog.New(slog.DiscardHandler)

// joinConnector: statements of 10 ms (virtual time in synctest).
type joinConnector = sleepdriver.Connector

func newJoinConnector() *joinConnector { return &joinConnector{D: 10 * time.Millisecond} }

func joinWorkload() (core.WorkloadSpec, workload.Workload) {
	lo, hi := int64(1), int64(100)
	ws := core.WorkloadSpec{Operations: []core.OperationSpec{{
		Name: "op", SQL: "SELECT ?", Params: []core.ParamSpec{{Gen: "uniform", Min: &lo, Max: &hi}},
	}}}
	w, err := workload.Compile(ws)
	if err != nil {
		panic(err)
	}
	return ws, w
}

func joinSpec(workers int, warmup time.Duration, lease time.Duration) core.Spec {
	ws, _ := joinWorkload()
	return core.Spec{Name: "j", Target: core.Target{DSN: "sleep://"}, Connections: 1, Workers: workers,
		Warmup: core.Duration(warmup), Duration: core.Duration(time.Minute),
		Control: core.ControlSpec{Poll: core.Duration(joinPoll), Heartbeat: core.Duration(joinHeartbeat),
			HeartbeatTimeout: core.Duration(time.Second), Lease: core.Duration(lease)},
		Workload: ws}
}

// createRun writes a run row with status and a START event, as an
// orchestrator would.
func createRun(t *testing.T, st store.Store, id string, spec core.Spec, status core.Status) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateRun(ctx, store.Run{ID: id, Spec: spec, Status: status, WorkersTarget: spec.Workers}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendEvent(ctx, store.Event{RunID: id, Kind: control.EventStart}); err != nil {
		t.Fatal(err)
	}
}

func appendEvent(t *testing.T, st store.Store, id string, kind control.EventKind, payload any) time.Time {
	t.Helper()
	var raw json.RawMessage
	if payload != nil {
		raw, _ = json.Marshal(payload)
	}
	e, err := st.AppendEvent(context.Background(), store.Event{RunID: id, Kind: kind, Payload: raw})
	if err != nil {
		t.Fatal(err)
	}
	return e.CreatedAt
}

// joined is a worker.Join running on its own goroutine.
type joined struct {
	conn  *joinConnector
	ready chan struct{}
	done  chan error
}

func join(st store.Store, runID string, group, attempt int) *joined {
	_, wl := joinWorkload()
	j := &joined{conn: newJoinConnector(), ready: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		j.done <- worker.Join(context.Background(), worker.JoinConfig{Store: st, RunID: runID, Group: group, Attempt: attempt,
			Connector: j.conn, Workload: wl, Logger: quietLog, Ready: j.ready})
	}()
	return j
}

func heartbeatOf(t *testing.T, st store.Store, runID, workerID string) store.Heartbeat {
	t.Helper()
	hbs, err := st.ListHeartbeats(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hbs {
		if h.WorkerID == workerID {
			return h
		}
	}
	t.Fatalf("no heartbeat from %s in %+v", workerID, hbs)
	return store.Heartbeat{}
}

// TestJoinLease: a worker whose run nobody renews stops on its own with
// ErrLeaseLost a lease (and at most a poll) after it joined; one whose run
// is renewed keeps going until STOP, and stops within a poll of it.
func TestJoinLease(t *testing.T) {
	t.Run("not renewed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			st := store.NewMemory()
			createRun(t, st, "r", joinSpec(1, 0, joinLease), core.StatusRunning)
			t0 := time.Now()
			j := join(st, "r", 0, 0)
			err := <-j.done
			if !errors.Is(err, control.ErrLeaseLost) {
				t.Fatalf("Join: %v, want ErrLeaseLost", err)
			}
			if d := time.Since(t0); d <= joinLease || d > joinLease+joinPoll {
				t.Errorf("stopped after %v, want within (%v, %v]", d, joinLease, joinLease+joinPoll)
			}
			if n := j.conn.Open.Load(); n != 0 {
				t.Errorf("%d connections left open", n)
			}
			if h := heartbeatOf(t, st, "r", "worker-0"); h.Status != "STOPPED" {
				t.Errorf("last heartbeat %s, want STOPPED", h.Status)
			}
		})
	})
	t.Run("renewed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			st := store.NewMemory()
			createRun(t, st, "r", joinSpec(1, 0, joinLease), core.StatusRunning)
			renewing := make(chan struct{})
			renewed := make(chan struct{})
			go func() {
				defer close(renewed)
				tick := time.NewTicker(joinLease / 3)
				defer tick.Stop()
				for {
					select {
					case <-renewing:
						return
					case <-tick.C:
					}
					live := 1
					_ = st.UpdateRun(context.Background(), "r", store.RunUpdate{WorkersLive: &live})
				}
			}()
			j := join(st, "r", 0, 0)
			<-j.ready
			time.Sleep(3*joinLease + 5*time.Millisecond)
			select {
			case err := <-j.done:
				t.Fatalf("Join returned %v while the run was renewed", err)
			default:
			}
			stopAt := appendEvent(t, st, "r", control.EventStop, nil)
			if err := <-j.done; err != nil {
				t.Fatalf("Join after STOP: %v", err)
			}
			if d := time.Since(stopAt); d > joinPoll {
				t.Errorf("stopped %v after STOP, want within a poll", d)
			}
			close(renewing)
			<-renewed
		})
	})
}

// TestJoinFollows: a worker in warm-up moves to MEASUREMENT within a poll of
// SET_PHASE, and to the connections of SET_WORKER_TARGET within a poll;
// its heartbeat shows both a heartbeat later. A target for other groups
// leaves it alone.
func TestJoinFollows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := store.NewMemory()
		createRun(t, st, "r", joinSpec(2, time.Minute, time.Minute), core.StatusRunning)
		j := join(st, "r", 0, 0)
		<-j.ready
		// Events fall 5 ms off the poll and heartbeat grids, so nothing
		// happens at the same virtual instant as a check.
		time.Sleep(time.Second + 5*time.Millisecond)
		if h := heartbeatOf(t, st, "r", "worker-0"); h.Phase != core.PhaseWarmup || h.Connections != 1 {
			t.Fatalf("heartbeat %s with %d connections, want WARMUP with 1", h.Phase, h.Connections)
		}

		phaseAt := appendEvent(t, st, "r", control.EventSetPhase, control.PhasePayload{Phase: core.PhaseMeasurement})
		time.Sleep(joinPoll + joinHeartbeat)
		if h := heartbeatOf(t, st, "r", "worker-0"); h.Phase != core.PhaseMeasurement {
			t.Errorf("heartbeat phase %s a poll and a heartbeat after SET_PHASE, want MEASUREMENT", h.Phase)
		}

		appendEvent(t, st, "r", control.EventSetWorkerTarget, control.TargetPayload{Connections: 5, Groups: []int{1}})
		time.Sleep(joinPoll)
		if n := j.conn.Open.Load(); n != 1 {
			t.Errorf("%d connections held after SET_WORKER_TARGET for group 1 only, want 1", n)
		}
		appendEvent(t, st, "r", control.EventSetWorkerTarget, control.TargetPayload{Connections: 3})
		time.Sleep(joinPoll)
		if n := j.conn.Open.Load(); n != 3 {
			t.Errorf("%d connections held a poll after SET_WORKER_TARGET 3, want 3", n)
		}
		time.Sleep(joinHeartbeat)
		if h := heartbeatOf(t, st, "r", "worker-0"); h.Connections != 3 {
			t.Errorf("heartbeat shows %d connections, want 3", h.Connections)
		}

		appendEvent(t, st, "r", control.EventStop, nil)
		if err := <-j.done; err != nil {
			t.Fatalf("Join: %v", err)
		}
		// The phase change cut the worker's interval: the first measurement
		// snapshot begins where the worker moved, within a poll of the event.
		rows, err := st.Snapshots(context.Background(), "r")
		if err != nil {
			t.Fatal(err)
		}
		var first time.Time
		for _, r := range rows {
			if r.Phase == core.PhaseMeasurement && (first.IsZero() || r.IntervalStart.Before(first)) {
				first = r.IntervalStart
			}
		}
		if first.IsZero() {
			t.Errorf("no measurement snapshot in %d rows", len(rows))
		} else if d := first.Sub(phaseAt); d <= 0 || d > joinPoll {
			t.Errorf("measurement began %v after SET_PHASE, want within (0, %v]", d, joinPoll)
		}
		if n := j.conn.Open.Load(); n != 0 {
			t.Errorf("%d connections left open", n)
		}
	})
}

// storeState is everything a Join could write for a run.
type storeState struct {
	run    store.Run
	runErr error
	events []store.Event
	hbs    []store.Heartbeat
	snaps  []store.Snapshot
}

func stateOf(st store.Store, id string) storeState {
	ctx := context.Background()
	var s storeState
	s.run, s.runErr = st.GetRun(ctx, id)
	s.events, _ = st.EventsSince(ctx, id, 0)
	s.hbs, _ = st.ListHeartbeats(ctx, id)
	s.snaps, _ = st.Snapshots(ctx, id)
	return s
}

// TestJoinRefuses: Join's errors before load leave the store as it was; a
// relaunch (higher attempt) takes over a group its predecessor still
// appears to hold once that heartbeat has gone stale without advancing.
func TestJoinRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  core.Status
		stop    bool   // a STOP event was appended
		holder  string // a fresh RUNNING heartbeat of this worker
		runID   string // joined, if not the run's own id
		group   int
		attempt int
		is      error
		msg     string
	}{
		{name: "unknown run", status: core.StatusRunning, runID: "no-such-run", msg: `run "no-such-run" does not exist`},
		{name: "completed run", status: core.StatusCompleted, is: control.ErrRunFinished, msg: "run r is COMPLETED"},
		{name: "failed run", status: core.StatusFailed, is: control.ErrRunFinished, msg: "run r is FAILED"},
		{name: "stopping run", status: core.StatusRunning, stop: true, is: control.ErrRunFinished, msg: "run r is stopping"},
		{name: "group below", status: core.StatusRunning, group: -1, is: control.ErrBadGroup, msg: "group -1, run r has groups 0..1"},
		{name: "group above", status: core.StatusRunning, group: 2, is: control.ErrBadGroup, msg: "group 2, run r has groups 0..1"},
		{name: "group taken", status: core.StatusRunning, holder: "worker-1", group: 1, is: control.ErrGroupTaken,
			msg: "group 1 of run r is held by worker-1"},
		{name: "group taken by a relaunch", status: core.StatusRunning, holder: "worker-1-r2", group: 1, attempt: 1,
			is: control.ErrGroupTaken, msg: "group 1 of run r is held by worker-1-r2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := store.NewMemory()
				createRun(t, st, "r", joinSpec(2, 0, joinLease), tc.status)
				if tc.stop {
					appendEvent(t, st, "r", control.EventStop, nil)
				}
				if tc.holder != "" {
					time.Sleep(time.Second)
					if err := st.PutHeartbeat(context.Background(), store.Heartbeat{RunID: "r", WorkerID: tc.holder, Group: tc.group,
						Status: "RUNNING", LastSeen: time.Now().Add(-500 * time.Millisecond)}); err != nil {
						t.Fatal(err)
					}
				}
				id := "r"
				if tc.runID != "" {
					id = tc.runID
				}
				before, beforeOther := stateOf(st, "r"), stateOf(st, id)
				j := join(st, id, tc.group, tc.attempt)
				err := <-j.done
				if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("Join: %v; want an error matching %v containing %q", err, tc.is, tc.msg)
				}
				if after := stateOf(st, "r"); !reflect.DeepEqual(after, before) {
					t.Errorf("store changed:\nbefore %+v\nafter  %+v", before, after)
				}
				if after := stateOf(st, id); !reflect.DeepEqual(after, beforeOther) {
					t.Errorf("store changed for %s:\nbefore %+v\nafter  %+v", id, beforeOther, after)
				}
				if n := j.conn.Open.Load(); n != 0 {
					t.Errorf("%d connections opened", n)
				}
			})
		})
	}

	t.Run("orchestrator gone", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			st := store.NewMemory()
			createRun(t, st, "r", joinSpec(2, 0, joinLease), core.StatusRunning)
			time.Sleep(joinLease + time.Second) // nobody renews the run
			before := stateOf(st, "r")
			j := join(st, "r", 0, 0)
			if err := <-j.done; !errors.Is(err, control.ErrRunFinished) || !strings.Contains(err.Error(), "orchestrator is gone") {
				t.Fatalf("Join: %v, want ErrRunFinished: its orchestrator is gone", err)
			}
			if after := stateOf(st, "r"); !reflect.DeepEqual(after, before) || j.conn.Open.Load() != 0 {
				t.Errorf("store changed or connections opened")
			}
		})
	})

	t.Run("relaunch takes over", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			st := store.NewMemory()
			createRun(t, st, "r", joinSpec(2, 0, time.Minute), core.StatusRunning)
			if err := st.PutHeartbeat(context.Background(), store.Heartbeat{RunID: "r", WorkerID: "worker-1", Group: 1,
				Status: "RUNNING", LastSeen: time.Now()}); err != nil {
				t.Fatal(err)
			}
			j := join(st, "r", 1, 1)
			select {
			case <-j.ready:
			case err := <-j.done:
				t.Fatalf("Join at attempt 1: %v", err)
			}
			time.Sleep(joinHeartbeat / 2)
			if h := heartbeatOf(t, st, "r", "worker-1-r1"); h.Status != "RUNNING" || h.Group != 1 {
				t.Errorf("worker-1-r1 heartbeat %+v, want RUNNING in group 1", h)
			}
			appendEvent(t, st, "r", control.EventStop, nil)
			if err := <-j.done; err != nil {
				t.Fatalf("Join: %v", err)
			}
		})
	})
}

// TestJoinTakeover: a worker started with a later --attempt never takes
// over a group whose worker is alive (its heartbeat advances); it takes
// over at once from one the orchestrator declared lost (WORKER_LOST), and
// a worker declared lost stops.
func TestJoinTakeover(t *testing.T) {
	t.Run("live holder refuses a later attempt", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			st := store.NewMemory()
			createRun(t, st, "r", joinSpec(2, 0, time.Minute), core.StatusRunning)
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			beat := func() {
				_ = st.PutHeartbeat(context.Background(), store.Heartbeat{RunID: "r", WorkerID: "worker-1", Group: 1,
					Status: "RUNNING", LastSeen: time.Now()})
			}
			beat()
			go func() { // worker-1 alive: it heartbeats
				for {
					select {
					case <-ctx.Done():
						return
					case <-time.After(joinHeartbeat):
						beat()
					}
				}
			}()
			j := join(st, "r", 1, 5)
			err := <-j.done
			if !errors.Is(err, control.ErrGroupTaken) || !strings.Contains(err.Error(), "held by worker-1") || !strings.Contains(err.Error(), "alive") {
				t.Fatalf("Join at attempt 5 beside a live worker-1: %v; want ErrGroupTaken saying it is alive", err)
			}
			if n := j.conn.Open.Load(); n != 0 {
				t.Errorf("%d connections opened", n)
			}
			for _, h := range stateOf(st, "r").hbs {
				if h.WorkerID != "worker-1" {
					t.Errorf("heartbeat of %s: the refused worker wrote to the store", h.WorkerID)
				}
			}
		})
	})
	t.Run("declared lost: taken over at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			st := store.NewMemory()
			spec := joinSpec(2, 0, time.Minute)
			createRun(t, st, "r", spec, core.StatusRunning)
			if err := st.PutHeartbeat(context.Background(), store.Heartbeat{RunID: "r", WorkerID: "worker-1", Group: 1,
				Status: "RUNNING", LastSeen: time.Now()}); err != nil {
				t.Fatal(err)
			}
			c := control.WorkerLost("worker-1", "heartbeat silent")
			appendEvent(t, st, "r", c.Kind, json.RawMessage(c.Payload))
			began := time.Now()
			j := join(st, "r", 1, 1)
			select {
			case <-j.ready:
			case err := <-j.done:
				t.Fatalf("Join at attempt 1: %v", err)
			}
			// Virtual time: no waiting for worker-1's heartbeat to age.
			if waited := time.Since(began); waited >= spec.Control.HeartbeatTimeout.D() {
				t.Errorf("joined after %v, want at once: worker-1 was declared lost", waited)
			}
			appendEvent(t, st, "r", control.EventStop, nil)
			if err := <-j.done; err != nil {
				t.Fatalf("Join: %v", err)
			}
		})
	})
	t.Run("declared lost before it joined", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			st := store.NewMemory()
			createRun(t, st, "r", joinSpec(2, 0, time.Minute), core.StatusRunning)
			c := control.WorkerLost("worker-1", "did not join within 30s")
			appendEvent(t, st, "r", c.Kind, json.RawMessage(c.Payload))
			j := join(st, "r", 1, 0)
			if err := <-j.done; !errors.Is(err, control.ErrDeclaredLost) || j.conn.Open.Load() != 0 {
				t.Fatalf("Join: %v (%d connections), want ErrDeclaredLost before connecting", err, j.conn.Open.Load())
			}
		})
	})
	t.Run("a worker declared lost stops", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			st := store.NewMemory()
			createRun(t, st, "r", joinSpec(2, 0, time.Minute), core.StatusRunning)
			j := join(st, "r", 1, 0)
			select {
			case <-j.ready:
			case err := <-j.done:
				t.Fatalf("Join: %v", err)
			}
			c := control.WorkerLost("worker-1", "heartbeat silent")
			appendEvent(t, st, "r", c.Kind, json.RawMessage(c.Payload))
			if err := <-j.done; !errors.Is(err, control.ErrDeclaredLost) {
				t.Fatalf("Join: %v, want ErrDeclaredLost", err)
			}
		})
	})
	// A scheduler's restart of a group the orchestrator gave up (a
	// Kubernetes index with restarts left) refuses to join, at any
	// attempt, before connecting; another group joins.
	t.Run("group given up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			st := store.NewMemory()
			createRun(t, st, "r", joinSpec(2, 0, time.Minute), core.StatusRunning)
			c := control.GroupGivenUp(1, "no restart by the launcher's scheduler within 30s")
			appendEvent(t, st, "r", c.Kind, json.RawMessage(c.Payload))
			j := join(st, "r", 1, 2)
			if err := <-j.done; !errors.Is(err, control.ErrGroupGivenUp) || !strings.Contains(err.Error(), "group 1 of run r") || j.conn.Open.Load() != 0 {
				t.Fatalf("Join: %v (%d connections), want ErrGroupGivenUp before connecting", err, j.conn.Open.Load())
			}
			other := join(st, "r", 0, 0)
			select {
			case <-other.ready:
			case err := <-other.done:
				t.Fatalf("Join of group 0: %v", err)
			}
			appendEvent(t, st, "r", control.EventStop, nil)
			if err := <-other.done; err != nil {
				t.Fatalf("Join of group 0: %v", err)
			}
		})
	})
	t.Run("a worker of a group given up stops", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			st := store.NewMemory()
			createRun(t, st, "r", joinSpec(2, 0, time.Minute), core.StatusRunning)
			j := join(st, "r", 1, 0)
			select {
			case <-j.ready:
			case err := <-j.done:
				t.Fatalf("Join: %v", err)
			}
			c := control.GroupGivenUp(1, "given up")
			appendEvent(t, st, "r", c.Kind, json.RawMessage(c.Payload))
			if err := <-j.done; !errors.Is(err, control.ErrGroupGivenUp) {
				t.Fatalf("Join: %v, want ErrGroupGivenUp", err)
			}
		})
	})
}
