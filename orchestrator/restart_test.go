package orchestrator_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/store"
)

// scheduler is a fake of a scheduler that restarts workers itself (a
// Kubernetes Indexed Job): Launch starts a "job" per group whose handle
// lives while the scheduler keeps the group going; when the group's worker
// crashes, the job starts the next attempt after delay, at most restarts
// times, and then gives up (its handle ends).
type scheduler struct {
	in       orchestrator.InProcess
	restarts int
	delay    time.Duration

	mu       sync.Mutex
	launched []orchestrator.Assignment
	jobs     map[int]*job
}

var _ orchestrator.SelfRestarting = (*scheduler)(nil)

func (s *scheduler) RestartsWorkers() bool { return true }

func (s *scheduler) Launch(ctx context.Context, a orchestrator.Assignment) (orchestrator.Handle, error) {
	j := &job{s: s, a: a, left: s.restarts, done: make(chan struct{})}
	s.mu.Lock()
	s.launched = append(s.launched, a)
	s.jobs[a.Group] = j
	s.mu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	return j, j.startLocked()
}

func (s *scheduler) job(group int) *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jobs[group]
}

type job struct {
	s    *scheduler
	done chan struct{}

	mu      sync.Mutex
	a       orchestrator.Assignment
	cur     orchestrator.Handle
	left    int
	crashed bool // the current worker crashed (a restart is due)
	stopped bool // the orchestrator stopped the job
}

func (j *job) startLocked() error {
	h, err := j.s.in.Launch(context.Background(), j.a)
	if err != nil {
		return err
	}
	j.cur = h
	go j.watch(h)
	return nil
}

// watch restarts a crashed worker, or ends the job.
func (j *job) watch(h orchestrator.Handle) {
	<-h.Done()
	j.mu.Lock()
	restart := j.crashed && !j.stopped && j.left > 0
	j.crashed = false
	j.mu.Unlock()
	if !restart {
		close(j.done)
		return
	}
	time.Sleep(j.s.delay)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.left--
	j.a.Attempt++
	j.a.WorkerID = control.WorkerID(j.a.Group, j.a.Attempt)
	if j.stopped || j.startLocked() != nil {
		close(j.done)
	}
}

// crash ends the current worker as a crash would.
func (j *job) crash() {
	j.mu.Lock()
	j.crashed = true
	h := j.cur
	j.mu.Unlock()
	h.Kill()
}

func (j *job) Done() <-chan struct{} { return j.done }
func (j *job) Err() error            { return nil }
func (j *job) Terminate()            { j.stop(orchestrator.Handle.Terminate) }
func (j *job) Kill()                 { j.stop(orchestrator.Handle.Kill) }
func (j *job) stop(f func(orchestrator.Handle)) {
	j.mu.Lock()
	j.stopped = true
	h := j.cur
	j.mu.Unlock()
	f(h)
}

// TestSelfRestartingLauncher: with a launcher whose scheduler restarts
// workers, the orchestrator launches each group once and never relaunches;
// it counts the scheduler's restart (a later attempt heartbeating for the
// group) and the loss it implies, whether the restart comes before the
// heartbeat timeout or after it; a group the scheduler gives up on is
// lost and the run goes on with the others.
func TestSelfRestartingLauncher(t *testing.T) {
	for _, tc := range []struct {
		name          string
		restarts      int
		delay         time.Duration
		restarted     int
		reason        string
		back          bool
		lastWorker1ID string
	}{
		{"restart before the heartbeat timeout", 1, 0, 1, "restarted by the launcher's scheduler", true, "worker-1-r1"},
		{"restart after the heartbeat timeout", 1, 3 * hbTimeout, 1, "heartbeat silent", true, "worker-1-r1"},
		{"scheduler gives up", 0, 0, 0, "worker exited", false, "worker-1"},
		// The orchestrator gives the group up a join timeout after the
		// loss and stops the job: the late restart never comes.
		{"restart later than the join timeout", 1, orchestrator.DefaultJoinTimeout + 5*time.Second, 0, "heartbeat silent", false, "worker-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(store.NewMemory())
				s := &scheduler{in: r.inProcess(), restarts: tc.restarts, delay: tc.delay, jobs: map[int]*job{}}
				run := r.start(t, testSpec(2, 0, max(8*time.Second, tc.delay+5*time.Second)), s)
				time.Sleep(2 * time.Second)
				crashed := time.Now()
				s.job(1).crash()
				res, err := run.Wait()
				if err != nil {
					t.Fatalf("Wait: %v", err)
				}

				var attempts []int
				for _, a := range s.launched {
					attempts = append(attempts, a.Group*10+a.Attempt)
				}
				if !slices.Equal(attempts, []int{0, 10}) {
					t.Errorf("launched (group×10+attempt) %v, want [0 10]: each group once, no relaunch", attempts)
				}
				w := res.Workers
				if w.Lost != 1 || w.Relaunched != 0 || w.Restarted != tc.restarted || len(w.Gaps) != 1 {
					t.Fatalf("workers %+v, want 1 lost, 0 relaunched, %d restarted, 1 gap", w, tc.restarted)
				}
				gap := w.Gaps[0]
				if gap.Group != 1 || !strings.Contains(gap.Reason, tc.reason) || gap.BackAt.IsZero() == tc.back {
					t.Errorf("gap %+v: want group 1, reason %q, back %v", gap, tc.reason, tc.back)
				}
				if tc.back && (gap.BackAt.Before(crashed.Add(tc.delay)) || gap.BackAt.Sub(crashed.Add(tc.delay)) > poll+heartbeat) {
					t.Errorf("back at +%v after the crash, want within a poll and a heartbeat of the restart at +%v", gap.BackAt.Sub(crashed), tc.delay)
				}
				if res.Status != core.StatusCompleted {
					t.Errorf("status %s (%s), want COMPLETED: group 0 ran throughout", res.Status, res.Error)
				}
				hbs := r.heartbeats(t, run.ID)
				if _, ok := hbs[tc.lastWorker1ID]; !ok {
					t.Errorf("no heartbeat of %s; have %v", tc.lastWorker1ID, keys(hbs))
				}
				if _, ok := hbs["worker-1-r2"]; ok || !tc.back && hbs["worker-1-r1"].WorkerID != "" {
					t.Errorf("heartbeats of %v: want no attempt beyond %s", keys(hbs), tc.lastWorker1ID)
				}
				if row := r.getRun(t, run.ID); row.WorkersLost != 1 {
					t.Errorf("RUN_STATUS workers_lost %d, want 1", row.WorkersLost)
				}
				// A group given up is declared so in the control events,
				// which a late restart reads and refuses to join on.
				givenUp := -1
				for _, e := range r.events(t, run.ID) {
					if g, ok := control.GivenUpOf(e.Payload); ok && e.Kind == control.EventGroupGivenUp {
						givenUp = g
					}
				}
				if want := map[bool]int{true: -1, false: 1}[tc.back]; givenUp != want {
					t.Errorf("GROUP_GIVEN_UP of group %d, want %d (-1: none)", givenUp, want)
				}
			})
		})
	}
}
