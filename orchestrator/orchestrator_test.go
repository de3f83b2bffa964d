package orchestrator_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/workload"
)

// The tests below run the store, the workers and the orchestrator in one
// synctest bubble, on virtual time: a Memory store, the in-process launcher
// and an in-memory driver whose statements take 10 ms.

const (
	poll      = 100 * time.Millisecond
	heartbeat = 250 * time.Millisecond
	hbTimeout = time.Second
)

var quiet = slog.New(slog.DiscardHandler)

// testSpec is a spec with the control timings above.
func testSpec(workers int, warmup, duration time.Duration) core.Spec {
	return core.Spec{Name: "t", Connections: 2, Workers: workers, Warmup: core.Duration(warmup), Duration: core.Duration(duration),
		Control: core.ControlSpec{Poll: core.Duration(poll), Heartbeat: core.Duration(heartbeat),
			HeartbeatTimeout: core.Duration(hbTimeout), Lease: core.Duration(6 * time.Second), MaxRelaunches: 2},
		Workload: oneOpSpec()}
}

// rig is one bubble's store, driver and launcher.
type rig struct {
	st   store.Store
	conn *sleepConnector
	wl   workload.Workload
}

func newRig(st store.Store) *rig {
	return &rig{st: st, conn: &sleepConnector{D: 10 * time.Millisecond}, wl: compile(oneOpSpec())}
}

func (r *rig) inProcess() orchestrator.InProcess {
	return orchestrator.InProcess{Store: r.st, Logger: quiet}
}

// start starts spec through l (the in-process launcher if nil).
func (r *rig) start(t *testing.T, spec core.Spec, l orchestrator.Launcher) *orchestrator.Run {
	t.Helper()
	if l == nil {
		l = r.inProcess()
	}
	svc := &orchestrator.Service{Store: r.st, Launcher: l, Logger: quiet, StopGrace: 2 * time.Second}
	run, err := svc.Start(context.Background(), spec, orchestrator.Options{Connector: r.conn, DriverName: "sleep", Workload: r.wl})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return run
}

func (r *rig) getRun(t *testing.T, id string) store.Run {
	t.Helper()
	run, err := r.st.GetRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func (r *rig) events(t *testing.T, id string) []store.Event {
	t.Helper()
	ev, err := r.st.EventsSince(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func (r *rig) heartbeats(t *testing.T, id string) map[string]store.Heartbeat {
	t.Helper()
	hbs, err := r.st.ListHeartbeats(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]store.Heartbeat{}
	for _, h := range hbs {
		m[h.WorkerID] = h
	}
	return m
}

// within reports whether d is in [lo, hi].
func within(d, lo, hi time.Duration) bool { return d >= lo && d <= hi }

// TestPhases: START, SET_PHASE MEASUREMENT at the end of warm-up and STOP at
// the end of the duration, each on the first poll after it is due; the
// measured length is the duration give or take a poll at each end (the
// workers see each event within a poll).
func TestPhases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(store.NewMemory())
		run := r.start(t, testSpec(2, 2*time.Second, 5*time.Second), nil)
		res, err := run.Wait()
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}

		ev := r.events(t, run.ID)
		var kinds []control.EventKind
		for _, e := range ev {
			kinds = append(kinds, e.Kind)
		}
		if len(ev) != 3 || ev[0].Kind != control.EventStart || ev[1].Kind != control.EventSetPhase || ev[2].Kind != control.EventStop {
			t.Fatalf("events %v, want [START SET_PHASE STOP]", kinds)
		}
		var p control.PhasePayload
		if err := json.Unmarshal(ev[1].Payload, &p); err != nil || p.Phase != core.PhaseMeasurement {
			t.Errorf("SET_PHASE payload %s (%v), want phase MEASUREMENT", ev[1].Payload, err)
		}
		if d := ev[1].CreatedAt.Sub(ev[0].CreatedAt); !within(d, 2*time.Second, 2*time.Second+poll) {
			t.Errorf("SET_PHASE %v after START, want 2s (+ one poll)", d)
		}
		if d := ev[2].CreatedAt.Sub(ev[1].CreatedAt); !within(d, 5*time.Second-poll, 5*time.Second+poll) {
			t.Errorf("STOP %v after SET_PHASE, want 5s ± one poll", d)
		}
		if got := res.MeasuredSeconds; got < (5*time.Second-2*poll).Seconds() || got > (5*time.Second+2*poll).Seconds() {
			t.Errorf("measured_seconds %v, want 5 ± two polls", got)
		}
		if res.Status != core.StatusCompleted || res.Total.Count == 0 || res.Warmup.Count == 0 {
			t.Errorf("result status %s, %d measured, %d warm-up; want COMPLETED and counts", res.Status, res.Total.Count, res.Warmup.Count)
		}

		row := r.getRun(t, run.ID)
		if row.Status != core.StatusCompleted || row.Phase != core.PhaseDone || row.WorkersLive != 0 || row.WorkersLost != 0 {
			t.Errorf("RUN_STATUS %s/%s live %d lost %d, want COMPLETED/DONE live 0 lost 0", row.Status, row.Phase, row.WorkersLive, row.WorkersLost)
		}
		if got := r.conn.Open.Load(); got != 0 {
			t.Errorf("%d connections left open", got)
		}
	})
}

// launcherFunc adapts a function to Launcher and records every assignment.
type launcherFunc struct {
	mu       sync.Mutex
	launched []orchestrator.Assignment
	f        func(ctx context.Context, a orchestrator.Assignment) (orchestrator.Handle, error)
}

func (l *launcherFunc) Launch(ctx context.Context, a orchestrator.Assignment) (orchestrator.Handle, error) {
	l.mu.Lock()
	l.launched = append(l.launched, a)
	l.mu.Unlock()
	return l.f(ctx, a)
}

func (l *launcherFunc) attempts(group int) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int
	for _, a := range l.launched {
		if a.Group == group {
			out = append(out, a.Attempt)
		}
	}
	return out
}

// hungHandle is a worker that heartbeats for a while, then hangs: silent,
// but its process has not exited. Kill ends it, as SIGKILL would.
type hungHandle struct {
	done     chan struct{}
	kill     sync.Once
	lastBeat chan time.Time // the last heartbeat written, once silent
}

func (h *hungHandle) Done() <-chan struct{} { return h.done }
func (h *hungHandle) Err() error            { return nil }
func (h *hungHandle) Terminate()            {}
func (h *hungHandle) Kill()                 { h.kill.Do(func() { close(h.done) }) }

func hang(st store.Store, a orchestrator.Assignment, beatFor time.Duration) *hungHandle {
	h := &hungHandle{done: make(chan struct{}), lastBeat: make(chan time.Time, 1)}
	go func() {
		t0 := time.Now()
		for {
			now := time.Now()
			_ = st.PutHeartbeat(context.Background(), store.Heartbeat{RunID: a.RunID, WorkerID: a.WorkerID, Group: a.Group,
				Status: "RUNNING", Phase: core.PhaseMeasurement, LastSeen: now, Connections: 2})
			if now.Sub(t0) >= beatFor {
				h.lastBeat <- now
				return
			}
			time.Sleep(heartbeat)
		}
	}()
	return h
}

// TestHeartbeatTimeoutRelaunch: group 1's first worker goes silent after 1 s
// without exiting; it is declared lost within the heartbeat timeout and a
// poll, relaunched with the same group at attempt 1, and the run completes
// with the gap recorded.
func TestHeartbeatTimeoutRelaunch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(store.NewMemory())
		var hung *hungHandle
		l := &launcherFunc{}
		l.f = func(ctx context.Context, a orchestrator.Assignment) (orchestrator.Handle, error) {
			if a.Group == 1 && a.Attempt == 0 {
				hung = hang(r.st, a, time.Second)
				return hung, nil
			}
			return r.inProcess().Launch(ctx, a)
		}
		run := r.start(t, testSpec(2, 0, 6*time.Second), l)
		res, err := run.Wait()
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		last := <-hung.lastBeat

		if got, want := l.attempts(1), []int{0, 1}; !slices.Equal(got, want) {
			t.Errorf("group 1 launched at attempts %v, want %v", got, want)
		}
		if got := l.attempts(0); !slices.Equal(got, []int{0}) {
			t.Errorf("group 0 launched at attempts %v, want [0]", got)
		}
		w := res.Workers
		if w.Lost != 1 || w.Relaunched != 1 || len(w.Gaps) != 1 {
			t.Fatalf("workers %+v, want 1 lost, 1 relaunched, 1 gap", w)
		}
		gap := w.Gaps[0]
		if gap.Group != 1 {
			t.Errorf("gap of group %d, want 1", gap.Group)
		}
		if d := gap.LostAt.Sub(last); !within(d, hbTimeout+time.Nanosecond, hbTimeout+poll) {
			t.Errorf("declared lost %v after the last heartbeat, want within (%v, %v]", d, hbTimeout, hbTimeout+poll)
		}
		// The relaunch heartbeats at once: in virtual time, back at the
		// instant it was lost, seen a poll later.
		if gap.BackAt.IsZero() || gap.BackAt.Before(gap.LostAt) || gap.BackAt.Sub(gap.LostAt) > poll {
			t.Errorf("gap back at %v, lost at %v: want back within a poll", gap.BackAt, gap.LostAt)
		}
		if !strings.Contains(gap.Reason, "heartbeat silent") {
			t.Errorf("gap reason %q, want a silent heartbeat", gap.Reason)
		}
		hbs := r.heartbeats(t, run.ID)
		if _, ok := hbs["worker-1-r1"]; !ok {
			t.Errorf("no heartbeat from worker-1-r1; have %v", keys(hbs))
		}
		if got := hbs["worker-1-r1"].Group; got != 1 {
			t.Errorf("worker-1-r1 heartbeats as group %d", got)
		}
		row := r.getRun(t, run.ID)
		if row.Status != core.StatusCompleted || row.WorkersLost != 1 || row.WorkersLive != 0 {
			t.Errorf("RUN_STATUS %s, lost %d, live %d; want COMPLETED, 1, 0", row.Status, row.WorkersLost, row.WorkersLive)
		}
	})
}

// failedHandle is a worker that ended with an error at once.
type failedHandle struct {
	done chan struct{}
	err  error
}

func failed(err error) failedHandle {
	h := failedHandle{done: make(chan struct{}), err: err}
	close(h.done)
	return h
}

func (h failedHandle) Done() <-chan struct{} { return h.done }
func (h failedHandle) Err() error            { return h.err }
func (failedHandle) Terminate()              {}
func (failedHandle) Kill()                   {}

// TestBoundedRelaunch: a group whose every launch fails at once is
// relaunched max_relaunches times and then given up; the run goes on with
// the other groups, and fails with the workers' error once none is left.
// Start itself succeeds: launching worked, the workers failed.
func TestBoundedRelaunch(t *testing.T) {
	errBoom := errors.New("boom: cannot reach the target")
	for _, tc := range []struct {
		name    string
		failing func(group int) bool
	}{
		{"one group of two", func(g int) bool { return g == 1 }},
		{"every group", func(int) bool { return true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(store.NewMemory())
				l := &launcherFunc{}
				l.f = func(ctx context.Context, a orchestrator.Assignment) (orchestrator.Handle, error) {
					if tc.failing(a.Group) {
						return failed(errBoom), nil
					}
					return r.inProcess().Launch(ctx, a)
				}
				spec := testSpec(2, 0, 3*time.Second)
				run := r.start(t, spec, l)
				res, err := run.Wait()

				n := spec.Control.MaxRelaunches
				if got := l.attempts(1); !slices.Equal(got, []int{0, 1, 2}) {
					t.Errorf("group 1 launched at attempts %v, want [0 1 2]", got)
				}
				row := r.getRun(t, run.ID)
				if !tc.failing(0) {
					if err != nil {
						t.Fatalf("Wait: %v", err)
					}
					if res.Workers.Lost != n+1 || res.Workers.Relaunched != n || len(res.Workers.Gaps) != 1 {
						t.Errorf("workers %+v, want %d lost, %d relaunched, 1 gap", res.Workers, n+1, n)
					}
					if g := res.Workers.Gaps[0]; g.Group != 1 || !g.BackAt.IsZero() {
						t.Errorf("gap %+v, want group 1 never back", g)
					}
					if row.Status != core.StatusCompleted || row.WorkersLost != n+1 {
						t.Errorf("RUN_STATUS %s, lost %d; want COMPLETED, %d", row.Status, row.WorkersLost, n+1)
					}
					return
				}
				// Nobody ever joined: the run fails before START, naming
				// why the workers were lost.
				if err == nil || !strings.Contains(err.Error(), "no worker could join: group 0: worker exited: "+errBoom.Error()) {
					t.Errorf("Wait error %v, want one naming the workers' error %q", err, errBoom)
				}
				if res == nil || res.Status != core.StatusFailed {
					t.Fatalf("result %+v, want FAILED", res)
				}
				if res.Workers.Lost != 2*(n+1) || res.Workers.Relaunched != 2*n {
					t.Errorf("workers %+v, want %d lost, %d relaunched", res.Workers, 2*(n+1), 2*n)
				}
				if row.Status != core.StatusFailed || !strings.Contains(row.Outcome, errBoom.Error()) {
					t.Errorf("RUN_STATUS %s, outcome %q; want FAILED naming %q", row.Status, row.Outcome, errBoom)
				}
				// Nobody joined: no START, only a WORKER_LOST per lost
				// worker (before its relaunch) and the STOP that ends the run.
				ev := r.events(t, run.ID)
				var kinds []control.EventKind
				lost, givenUp := 0, map[int]bool{}
				for _, e := range ev {
					if e.Kind == control.EventWorkerLost {
						lost++
						continue
					}
					if g, ok := control.GivenUpOf(e.Payload); ok && e.Kind == control.EventGroupGivenUp {
						givenUp[g] = true
						continue
					}
					kinds = append(kinds, e.Kind)
				}
				if len(kinds) != 1 || kinds[0] != control.EventStop || lost != 2*(n+1) || len(givenUp) != 2 {
					t.Errorf("events %+v, want %d WORKER_LOST, GROUP_GIVEN_UP of groups 0 and 1, and one STOP", ev, 2*(n+1))
				}
			})
		})
	}
}

// outageStore fails every call while down is set; while hang is set, a
// call blocks until its context ends (a store gone silent).
type outageStore struct {
	store.Store
	down atomic.Bool
	hang atomic.Bool
}

var errOutage = errors.New("store: outage (test)")

func (s *outageStore) err(ctx context.Context) error {
	if s.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	if s.down.Load() {
		return errOutage
	}
	return nil
}

func (s *outageStore) CreateRun(ctx context.Context, r store.Run) error {
	if err := s.err(ctx); err != nil {
		return err
	}
	return s.Store.CreateRun(ctx, r)
}
func (s *outageStore) UpdateRun(ctx context.Context, id string, u store.RunUpdate) error {
	if err := s.err(ctx); err != nil {
		return err
	}
	return s.Store.UpdateRun(ctx, id, u)
}
func (s *outageStore) GetRun(ctx context.Context, id string) (store.Run, error) {
	if err := s.err(ctx); err != nil {
		return store.Run{}, err
	}
	return s.Store.GetRun(ctx, id)
}
func (s *outageStore) ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, error) {
	if err := s.err(ctx); err != nil {
		return nil, err
	}
	return s.Store.ListRuns(ctx, f)
}
func (s *outageStore) AppendEvent(ctx context.Context, e store.Event) (store.Event, error) {
	if err := s.err(ctx); err != nil {
		return store.Event{}, err
	}
	return s.Store.AppendEvent(ctx, e)
}
func (s *outageStore) EventsSince(ctx context.Context, id string, after int64) ([]store.Event, error) {
	if err := s.err(ctx); err != nil {
		return nil, err
	}
	return s.Store.EventsSince(ctx, id, after)
}
func (s *outageStore) PutHeartbeat(ctx context.Context, h store.Heartbeat) error {
	if err := s.err(ctx); err != nil {
		return err
	}
	return s.Store.PutHeartbeat(ctx, h)
}
func (s *outageStore) ListHeartbeats(ctx context.Context, id string) ([]store.Heartbeat, error) {
	if err := s.err(ctx); err != nil {
		return nil, err
	}
	return s.Store.ListHeartbeats(ctx, id)
}
func (s *outageStore) WriteSnapshots(ctx context.Context, rows []store.Snapshot) error {
	if err := s.err(ctx); err != nil {
		return err
	}
	return s.Store.WriteSnapshots(ctx, rows)
}
func (s *outageStore) Snapshots(ctx context.Context, id string) ([]store.Snapshot, error) {
	if err := s.err(ctx); err != nil {
		return nil, err
	}
	return s.Store.Snapshots(ctx, id)
}
func (s *outageStore) SnapshotsSince(ctx context.Context, id string, since time.Time) ([]store.Snapshot, error) {
	if err := s.err(ctx); err != nil {
		return nil, err
	}
	return s.Store.SnapshotsSince(ctx, id, since)
}
func (s *outageStore) WriteExecutions(ctx context.Context, rows []store.Execution) error {
	if err := s.err(ctx); err != nil {
		return err
	}
	return s.Store.WriteExecutions(ctx, rows)
}

// TestStoreOutage: the store fails every call for 3 s, three heartbeat
// timeouts; the workers' heartbeats stop reaching it, but once it is back
// each worker gets a full timeout to heartbeat again, so nobody is lost and
// the run completes.
func TestStoreOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := store.NewMemory()
		st := &outageStore{Store: mem}
		r := newRig(st)
		l := &launcherFunc{f: r.inProcess().Launch}
		run := r.start(t, testSpec(2, 0, 8*time.Second), l)

		time.Sleep(2*time.Second + 5*time.Millisecond)
		st.down.Store(true)
		time.Sleep(3 * time.Second)
		// The premise: read past the outage, every heartbeat is stale by
		// more than the timeout.
		hbs, err := mem.ListHeartbeats(context.Background(), run.ID)
		if err != nil || len(hbs) != 2 {
			t.Fatalf("heartbeats %+v (%v), want 2", hbs, err)
		}
		for _, h := range hbs {
			if age := time.Since(h.LastSeen); age <= hbTimeout {
				t.Errorf("%s's heartbeat is %v old after the outage, want more than %v", h.WorkerID, age, hbTimeout)
			}
		}
		st.down.Store(false)

		res, err := run.Wait()
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if res.Workers.Lost != 0 || res.Workers.Relaunched != 0 || len(res.Workers.Gaps) != 0 {
			t.Errorf("workers %+v, want nobody lost", res.Workers)
		}
		if len(l.launched) != 2 {
			t.Errorf("%d launches, want 2", len(l.launched))
		}
		row := r.getRun(t, run.ID)
		if row.Status != core.StatusCompleted || row.WorkersLost != 0 {
			t.Errorf("RUN_STATUS %s, lost %d; want COMPLETED, 0", row.Status, row.WorkersLost)
		}
		for id, h := range r.heartbeats(t, run.ID) {
			if h.Status != "STOPPED" {
				t.Errorf("%s ended %s, want STOPPED", id, h.Status)
			}
		}
	})
}

// TestStopScaleLive: Scale and Stop from outside the orchestrator (as
// `unistore scale` and `unistore stop` do) reach a running run's workers
// through the control events: every worker holds the new connections within
// a poll, and the run ends CANCELLED within two polls of STOP.
func TestStopScaleLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(store.NewMemory())
		run := r.start(t, testSpec(2, 0, time.Minute), nil)
		ctx := context.Background()
		time.Sleep(time.Second + 5*time.Millisecond)
		if got := r.conn.Open.Load(); got != 4 {
			t.Fatalf("%d connections, want 2 workers × 2", got)
		}
		if err := orchestrator.Scale(ctx, r.st, run.ID, 3); err != nil {
			t.Fatal(err)
		}
		time.Sleep(poll)
		if got := r.conn.Open.Load(); got != 6 {
			t.Errorf("%d connections a poll after Scale 3, want 2 workers × 3", got)
		}
		time.Sleep(heartbeat)
		for id, h := range r.heartbeats(t, run.ID) {
			if h.Connections != 3 {
				t.Errorf("%s heartbeats %d connections, want 3", id, h.Connections)
			}
		}
		if err := orchestrator.Stop(ctx, r.st, run.ID); err != nil {
			t.Fatal(err)
		}
		stopAt := time.Now()
		res, err := run.Wait()
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if d := time.Since(stopAt); d > 2*poll {
			t.Errorf("run ended %v after Stop, want within two polls", d)
		}
		if res.Status != core.StatusCancelled {
			t.Errorf("status %s, want CANCELLED", res.Status)
		}
		if row := r.getRun(t, run.ID); row.Status != core.StatusCancelled || row.Phase != core.PhaseDone {
			t.Errorf("RUN_STATUS %s/%s, want CANCELLED/DONE", row.Status, row.Phase)
		}
		// Stop's STOP; the orchestrator appends its own as it winds down,
		// which changes nothing for workers already stopping.
		var kinds []control.EventKind
		for _, e := range r.events(t, run.ID) {
			kinds = append(kinds, e.Kind)
		}
		want := []control.EventKind{control.EventStart, control.EventSetWorkerTarget, control.EventStop}
		if len(kinds) < len(want) || !slices.Equal(kinds[:len(want)], want) || slices.ContainsFunc(kinds[len(want):],
			func(k control.EventKind) bool { return k != control.EventStop }) {
			t.Errorf("events %v, want %v and nothing but STOP after", kinds, want)
		}
		if got := r.conn.Open.Load(); got != 0 {
			t.Errorf("%d connections left open", got)
		}
	})
}

// TestStopScaleRefuse: Stop and Scale on a run that does not exist or has
// finished are errors naming it, and append nothing.
func TestStopScaleRefuse(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	spec := testSpec(2, 0, time.Second)
	for _, r := range []store.Run{{ID: "done", Spec: spec, Status: core.StatusCompleted},
		{ID: "failed", Spec: spec, Status: core.StatusFailed}, {ID: "live", Spec: spec, Status: core.StatusRunning}} {
		if err := st.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, id, want string
		call           func(id string) error
	}{
		{"stop unknown", "nope", `run "nope" does not exist`, func(id string) error { return orchestrator.Stop(ctx, st, id) }},
		{"stop completed", "done", "run done is already COMPLETED", func(id string) error { return orchestrator.Stop(ctx, st, id) }},
		{"stop failed", "failed", "run failed is already FAILED", func(id string) error { return orchestrator.Stop(ctx, st, id) }},
		{"scale unknown", "nope", `run "nope" does not exist`, func(id string) error { return orchestrator.Scale(ctx, st, id, 3) }},
		{"scale completed", "done", "run done is already COMPLETED", func(id string) error { return orchestrator.Scale(ctx, st, id, 3) }},
		{"scale zero", "live", "connections must be at least 1", func(id string) error { return orchestrator.Scale(ctx, st, id, 0) }},
		{"scale bad group", "live", "group 2 outside 0..1", func(id string) error { return orchestrator.Scale(ctx, st, id, 3, 0, 2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(tc.id)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
			if missing := tc.id == "nope"; errors.Is(err, store.ErrNotFound) != missing {
				t.Errorf("errors.Is(%v, store.ErrNotFound) = %v, want %v", err, !missing, missing)
			}
			if ev, _ := st.EventsSince(ctx, tc.id, 0); len(ev) != 0 {
				t.Errorf("events appended: %+v", ev)
			}
		})
	}

	// The live run takes both.
	if err := orchestrator.Scale(ctx, st, "live", 3, 1); err != nil {
		t.Fatal(err)
	}
	if err := orchestrator.Stop(ctx, st, "live"); err != nil {
		t.Fatal(err)
	}
	ev, _ := st.EventsSince(ctx, "live", 0)
	if len(ev) != 2 || ev[0].Kind != control.EventSetWorkerTarget || ev[1].Kind != control.EventStop {
		t.Fatalf("events %+v, want SET_WORKER_TARGET, STOP", ev)
	}
	var p control.TargetPayload
	if err := json.Unmarshal(ev[0].Payload, &p); err != nil || p.Connections != 3 || !slices.Equal(p.Groups, []int{1}) {
		t.Errorf("SET_WORKER_TARGET payload %s, want 3 connections for group 1", ev[0].Payload)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
