package orchestrator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/workload"
)

// Assignment is one launch of one worker group.
type Assignment struct {
	RunID    string
	Group    int
	Attempt  int // 0 first, k for the k-th relaunch
	WorkerID string
	// Target is the run's target, the same for every launch of the run.
	Target Target
	// Rows, if the launcher gives its worker a local channel (InProcess,
	// Subprocess), takes every snapshot row the worker sends over it: the
	// orchestrator's own copy, which the result is computed from. Safe
	// for concurrent use; it copies what it keeps.
	Rows func([]store.Snapshot)
	// SpoolDir is where the worker spools rows the store cannot take
	// (store.DefaultSpoolDir if empty).
	SpoolDir string
	// Spec is the run's spec as stored (defaults applied, DSN redacted):
	// what a cluster launcher needs to size its job (workers, resources,
	// timings).
	Spec core.Spec
	// FlushTimeout is the run's flush timeout (Service.FlushTimeout,
	// defaulted): how long the worker's store writers may flush at its
	// end before they spool the rest. A launcher that passes it on says so
	// (FlushTimeoutPasser); the orchestrator bounds the stop by it either
	// way (a worker still flushing late is told to spool).
	FlushTimeout time.Duration
}

// FlushTimeoutPasser is implemented by launchers whose workers take
// Assignment.FlushTimeout (InProcess, Subprocess): a flush timeout given
// for the run reaches them. unistore.WithFlushTimeout is an error beside
// a launcher that does not.
type FlushTimeoutPasser interface {
	PassesFlushTimeout()
}

// Target is what the orchestrator hands its launcher of a run's target:
// the one place a launcher gets the DSN's secret and the connector, so
// nobody configures a launcher with them beside the orchestrator.
type Target struct {
	// DSN is the target's DSN as the spec gave it, password included (the
	// stored spec is redacted). A launcher passes it only where nobody
	// else reads it — a child's environment, never its command line or a
	// log — or not at all.
	DSN string
	// Driver is the registered driver's name.
	Driver string
	// Connector is the run's connector, the one the preflight used. It is
	// open until the run has ended and its launched handles are done;
	// workers of this process share it, workers elsewhere cannot.
	Connector driver.Connector
	// Workload is the embedder's Go workload (Options.Workload), nil when
	// the workers compile the stored spec's. Workers elsewhere cannot get
	// one.
	Workload workload.Workload
}

// SelfRestarting is implemented by launchers whose scheduler restarts a
// group's worker by itself (a Kubernetes Indexed Job with a pod failure
// policy, say). When RestartsWorkers reports true the orchestrator launches
// each group once and never relaunches: a lost worker is counted and its
// group waits for the scheduler's next attempt — any worker of the group
// heartbeating with a higher attempt, counted in WorkerStats.Restarted —
// and a group is given up only when its handle ends (the scheduler gave
// up). Each restart must join with a higher --attempt than the one before
// (the join refuses a group held by the same or a later attempt).
type SelfRestarting interface {
	RestartsWorkers() bool
}

// FailureReporter is implemented by handles whose scheduler reports a
// failed worker while the handle lives on — a Kubernetes pod that failed,
// its index about to be restarted. It is one more signal of a lost worker,
// beside a silent heartbeat and the handle's end: the orchestrator counts
// the worker lost when it reads the failure, not a heartbeat timeout later.
type FailureReporter interface {
	// Failed returns the latest attempt of the group that the scheduler
	// saw fail, and why; attempt is -1 when none has.
	Failed() (attempt int, reason string)
}

// restartsWorkers reports whether l's scheduler restarts workers itself.
func restartsWorkers(l Launcher) bool {
	s, ok := l.(SelfRestarting)
	return ok && s.RestartsWorkers()
}

// Launcher starts workers. The in-process and subprocess launchers are
// here; a cluster launcher (a Kubernetes Indexed Job whose completion index
// is the group, say) implements the same interface, with handles that
// watch the pod. A launcher that starts nothing (workers started by hand
// on other machines) is valid too: the orchestrator then follows the
// workers through their heartbeats alone.
type Launcher interface {
	Launch(ctx context.Context, a Assignment) (Handle, error)
}

// Handle is a launched worker.
type Handle interface {
	// Done is closed when the worker has ended.
	Done() <-chan struct{}
	// Err is the worker's error once Done is closed (nil for a clean stop).
	Err() error
	// Terminate asks the worker to stop now (SIGTERM, or a cancel).
	Terminate()
	// Kill stops it at once (SIGKILL, or a cancel).
	Kill()
}

// StoreStatser is implemented by handles that know their worker's store
// writer counters (in-process ones).
type StoreStatser interface {
	StoreStats() core.StoreStats
}

// Subprocess launches each worker as `BINARY worker --run-id ID --group G
// --attempt K --flush-timeout D` (D: Assignment.FlushTimeout). The store DSN and the assignment's target DSN travel in the
// environment (UNISTORE_STORE, UNISTORE_TARGET), never on the command line
// where ps would show a password. The workers build their own connectors
// and compile the stored spec's workload: a Go connector or workload does
// not reach them. Workers run in their own process group, so a
// Ctrl-C at the terminal reaches the orchestrator, which stops them
// through the control tables; if the orchestrator dies, they stop on
// their own within the lease.
type Subprocess struct {
	Binary string // default: this executable
	Store  string // store DSN
	// Log receives the workers' output (default: discarded); each line is
	// prefixed by the worker id.
	Log io.Writer
}

// Launch implements Launcher. The worker gets a local channel: one end
// of a Unix socket pair as its file descriptor 3 (control.EnvLocalFD
// says so), over which its snapshots come back and STOP and phase
// changes go out, beside the store.
func (l Subprocess) Launch(_ context.Context, a Assignment) (Handle, error) {
	bin := l.Binary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("orchestrator: find the worker binary: %w", err)
		}
	}
	args := []string{"worker", "--run-id", a.RunID, "--group", strconv.Itoa(a.Group), "--attempt", strconv.Itoa(a.Attempt)}
	if a.FlushTimeout > 0 {
		args = append(args, "--flush-timeout", a.FlushTimeout.String())
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "UNISTORE_STORE="+l.Store)
	if a.Target.DSN != "" {
		cmd.Env = append(cmd.Env, "UNISTORE_TARGET="+a.Target.DSN)
	}
	if a.SpoolDir != "" {
		cmd.Env = append(cmd.Env, store.EnvSpoolDir+"="+a.SpoolDir)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if l.Log != nil {
		pw := &prefixWriter{w: l.Log, prefix: []byte(a.WorkerID + ": ")}
		cmd.Stdout, cmd.Stderr = pw, pw
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("orchestrator: local channel for %s: %w", a.WorkerID, err)
	}
	// Our end non-blocking, so the runtime's poller serves it and a write
	// deadline works.
	_ = syscall.SetNonblock(fds[0], true)
	mine, theirs := os.NewFile(uintptr(fds[0]), "local-"+a.WorkerID), os.NewFile(uintptr(fds[1]), "local-"+a.WorkerID+"-worker")
	cmd.ExtraFiles = []*os.File{theirs} // fd 3 in the child
	cmd.Env = append(cmd.Env, control.EnvLocalFD+"=3")
	err = cmd.Start()
	theirs.Close() // the child has its copy
	if err != nil {
		mine.Close()
		return nil, fmt.Errorf("orchestrator: start %s: %w", a.WorkerID, err)
	}
	h := &subprocess{cmd: cmd, id: a.WorkerID, done: make(chan struct{}), conn: mine, enc: json.NewEncoder(mine), read: make(chan struct{})}
	go h.readLocal(a.Rows)
	go func() {
		h.err = cmd.Wait()
		// The reader has what the worker sent before it exited: the
		// socket's buffer ends with the process.
		<-h.read
		mine.Close()
		close(h.done)
	}()
	return h, nil
}

// PassesFlushTimeout implements FlushTimeoutPasser: the worker gets
// --flush-timeout.
func (Subprocess) PassesFlushTimeout() {}

type subprocess struct {
	cmd  *exec.Cmd
	id   string // the worker's id
	done chan struct{}
	err  error

	conn *os.File
	read chan struct{} // closed when readLocal has ended

	wmu sync.Mutex
	enc *json.Encoder

	smu    sync.Mutex
	stats  core.StoreStats
	known  bool
	rowsOK bool
	writes *control.Writes // the worker's own control-plane writes, once reported
}

var (
	_ LocalHandle      = (*subprocess)(nil)
	_ StoreStatser     = (*subprocess)(nil)
	_ StoreStatsKnower = (*subprocess)(nil)
	_ WritesReporter   = (*subprocess)(nil)
)

// readLocal reads the worker's messages until the socket ends (the
// worker exited): snapshot rows go to rows, the final counters are kept.
func (h *subprocess) readLocal(rows func([]store.Snapshot)) {
	defer close(h.read)
	sc := bufio.NewScanner(h.conn)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		var m control.LocalMessage
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if len(m.Snapshots) > 0 && rows != nil {
			var rs []store.Snapshot
			if json.Unmarshal(m.Snapshots, &rs) == nil {
				rows(rs)
			}
		}
		if len(m.Done) > 0 {
			var s core.StoreStats
			if json.Unmarshal(m.Done, &s) == nil {
				h.smu.Lock()
				h.stats, h.known = s, true
				h.smu.Unlock()
			}
		}
		if m.Writes != nil {
			h.smu.Lock()
			h.writes = m.Writes
			h.smu.Unlock()
		}
	}
}

// Command implements LocalHandle.
func (h *subprocess) Command(c control.Command) {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	// A short deadline: a worker that stopped reading is exiting.
	_ = h.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = h.enc.Encode(control.LocalMessage{Command: &c})
}

// Hurry implements LocalHandle.
func (h *subprocess) Hurry() { h.Command(control.Command{Kind: control.LocalHurry}) }

// StoreStats implements StoreStatser: the counters the worker sent last.
func (h *subprocess) StoreStats() core.StoreStats {
	h.smu.Lock()
	defer h.smu.Unlock()
	return h.stats
}

// ControlWrites implements WritesReporter.
func (h *subprocess) ControlWrites() (string, control.Writes, bool) {
	h.smu.Lock()
	defer h.smu.Unlock()
	if h.writes == nil {
		return h.id, control.Writes{}, false
	}
	return h.id, *h.writes, true
}

// StoreStatsKnown implements StoreStatsKnower.
func (h *subprocess) StoreStatsKnown() bool {
	h.smu.Lock()
	defer h.smu.Unlock()
	return h.known
}

func (h *subprocess) Done() <-chan struct{} { return h.done }
func (h *subprocess) Err() error {
	<-h.done
	var ee *exec.ExitError
	if errors.As(h.err, &ee) {
		return fmt.Errorf("worker process %d: %s", h.cmd.Process.Pid, ee.ProcessState)
	}
	return h.err
}
func (h *subprocess) Terminate() { _ = h.cmd.Process.Signal(syscall.SIGTERM) }
func (h *subprocess) Kill()      { _ = h.cmd.Process.Kill() }

// PID returns the worker process's id.
func (h *subprocess) PID() int { return h.cmd.Process.Pid }

// prefixWriter prefixes each line; it is used from one process's two pipes
// at once, hence the lock. The workers of a run share w, so each Write goes
// out as one write to w, prefixes included: a worker's line is never split
// around another worker's (a line the child itself writes in pieces can
// still be).
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix []byte
	mid    bool
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	out := p.buf[:0]
	for len(b) > 0 {
		if !p.mid {
			out = append(out, p.prefix...)
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i, p.mid = len(b), true
		} else {
			i, p.mid = i+1, false
		}
		out = append(out, b[:i]...)
		b = b[i:]
	}
	p.buf = out
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return n, nil
}

// External launches nothing: the workers are started elsewhere — by hand
// (`unistore worker --run-id ID --group G`), or by a scheduler the
// orchestrator does not control — and followed through their heartbeats.
// Its handles never end by themselves; a relaunch of group G at attempt K
// means someone must start `unistore worker --group G --attempt K`.
type External struct{}

// Launch implements Launcher.
func (External) Launch(context.Context, Assignment) (Handle, error) {
	return externalHandle{done: make(chan struct{})}, nil
}

type externalHandle struct{ done chan struct{} }

func (h externalHandle) Done() <-chan struct{} { return h.done }
func (externalHandle) Err() error              { return nil }
func (externalHandle) Terminate()              {}
func (externalHandle) Kill()                   {}

// External marks a handle whose worker the launcher does not own.
func (externalHandle) External() {}
