package worker

// This file is the worker's end of the local channel: the path beside the
// store between a worker and the orchestrator that launched it on the
// same machine.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// Local is a worker's channel to the orchestrator that launched it on this
// machine (JoinConfig.Local). Over it the worker sends every snapshot row
// as it cuts it — the orchestrator computes the run's result from these,
// so the result never depends on the store — and its final store
// counters; and it receives STOP and SET_PHASE, so a run ends on time
// whatever the store does. While the channel is open the orchestrator is
// alive: the worker does not judge the orchestrator's lease by the store.
type Local interface {
	// Snapshots takes one interval's rows; it must not block for long
	// nor keep rows (the slice is reused).
	Snapshots(rows []store.Snapshot)
	// Commands delivers the orchestrator's commands; it is closed when
	// the orchestrator is gone.
	Commands() <-chan control.Command
	// Done takes the worker's final store counters, its own
	// control-plane writes among them (StoreStats.Control).
	Done(StoreStats)
}

// followLocal applies the local channel's commands until ctx ends: a
// SET_PHASE moves the worker, a STOP (or the channel's end: the
// orchestrator is gone) calls stop with the reason, nil for a STOP.
func followLocal(ctx context.Context, l Local, w *Worker, stop func(reason error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case c, ok := <-l.Commands():
			if !ok {
				stop(fmt.Errorf("%w: the local channel to the orchestrator closed", ErrLeaseLost))
				return
			}
			switch c.Kind {
			case control.EventStop:
				stop(nil)
				return
			case control.EventSetPhase:
				if p, ok := control.PhaseOf(c.Payload); ok && p != w.Phase() {
					w.SetPhase(ctx, p)
				}
			}
		}
	}
}

// LocalConn is the worker process's end of the local channel: JSON lines
// (control.LocalMessage) over conn, the socket its launcher passed it
// (control.EnvLocalFD). A HURRY command closes Urgent.
type LocalConn struct {
	conn io.ReadWriteCloser
	log  *slog.Logger
	cmds chan control.Command

	wmu    sync.Mutex
	enc    *json.Encoder
	broken bool

	urgent     chan struct{}
	urgentOnce sync.Once
	done       chan struct{}
}

var _ Local = (*LocalConn)(nil)

// NewLocalConn starts reading commands from conn. Close it when the
// worker has ended.
func NewLocalConn(conn io.ReadWriteCloser, log *slog.Logger) *LocalConn {
	if log == nil {
		log = slog.Default()
	}
	l := &LocalConn{conn: conn, log: log, cmds: make(chan control.Command, 16), enc: json.NewEncoder(conn),
		urgent: make(chan struct{}), done: make(chan struct{})}
	go l.read()
	return l
}

func (l *LocalConn) read() {
	defer close(l.cmds)
	sc := bufio.NewScanner(l.conn)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var m control.LocalMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m.Command == nil {
			l.log.Warn("worker: bad line on the local channel", "err", err)
			continue
		}
		if m.Command.Kind == control.LocalHurry {
			l.Hurry()
			continue
		}
		select {
		case l.cmds <- *m.Command:
		case <-l.done:
			return
		}
	}
}

// Hurry closes Urgent (a second signal does it too).
func (l *LocalConn) Hurry() { l.urgentOnce.Do(func() { close(l.urgent) }) }

// Urgent is closed by a HURRY command or Hurry: pass it as
// JoinConfig.Urgent.
func (l *LocalConn) Urgent() <-chan struct{} { return l.urgent }

// Commands implements Local.
func (l *LocalConn) Commands() <-chan control.Command { return l.cmds }

func (l *LocalConn) send(m control.LocalMessage) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.broken {
		return
	}
	if err := l.enc.Encode(m); err != nil {
		// The orchestrator is gone: the rows still go to the store.
		l.broken = true
		if !errors.Is(err, io.ErrClosedPipe) {
			l.log.Warn("worker: the local channel to the orchestrator broke", "err", err)
		}
	}
}

// Snapshots implements Local.
func (l *LocalConn) Snapshots(rows []store.Snapshot) {
	b, err := json.Marshal(rows)
	if err != nil {
		return
	}
	l.send(control.LocalMessage{Snapshots: b})
}

// Done implements Local.
func (l *LocalConn) Done(s StoreStats) {
	b, _ := json.Marshal(s.Core()) // plain integers: always marshals
	writes := s.Control
	l.send(control.LocalMessage{Done: b, Writes: &writes})
}

// Close closes the connection; the reader ends.
func (l *LocalConn) Close() error {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	return l.conn.Close()
}

// localRows is the worker's OnRows for a local channel (nil without one).
func localRows(l Local) func([]store.Snapshot) {
	if l == nil {
		return nil
	}
	return l.Snapshots
}

// followBoth follows the store's control events (follow) and, with a
// local channel, its commands too, until either says stop; it returns the
// first reason.
func followBoth(ctx context.Context, l Local, st JoinStore, w *Worker, run store.Run, lastSeq int64, group int, ctl core.ControlSpec, log *slog.Logger) error {
	if l == nil {
		return follow(ctx, st, w, run, lastSeq, group, ctl, log, false)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once   sync.Once
		reason error
		wg     sync.WaitGroup
	)
	set := func(r error) { once.Do(func() { reason = r; cancel() }) }
	wg.Go(func() { followLocal(ctx, l, w, set) })
	set(follow(ctx, st, w, run, lastSeq, group, ctl, log, true))
	wg.Wait()
	return reason
}
