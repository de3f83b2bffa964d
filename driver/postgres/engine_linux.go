//go:build linux

package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"golang.org/x/sys/unix"

	"github.com/unistore-bench/unistore/driver"
)

const epollSupported = true

// epollEngine is the multiplexed engine (driver.Engine): up to maxLoops
// event loops, each a goroutine locked to its OS thread that owns an epoll
// set and the connections assigned to it. A loop sends a connection's next
// request as soon as the answer to the last one is read, then waits in
// epoll_wait for whichever of its connections is ready.
//
// Loops start lazily: the first maxLoops connections get a loop each, the
// next ones go to the least loaded. A connection stays on its loop until
// released, unless the affinity balancer (affinity_linux.go) moves it to
// another between two executions.
type epollEngine struct {
	maxLoops  int
	dedicated bool       // ProcsDedicated: each loop counted in dedicateLoops
	affinity  bool       // AffinityRX: the balancer runs while 2 or more loops do
	mu        sync.Mutex // guards loops, served and closed
	loops     []*evloop
	served    []*slot // the connections being served (the balancer's to move)
	closed    bool
	quit      chan struct{}  // closed by Close: the balancer ends
	wg        sync.WaitGroup // the loops' and the balancer's goroutines
}

var _ driver.KernelSleeper = (*epollEngine)(nil)

// SleepsInKernel implements driver.KernelSleeper: the loops sleep in
// epoll_wait.
func (e *epollEngine) SleepsInKernel() bool { return true }

func newEpollEngine(loops int, dedicated, affinity bool) (*epollEngine, error) {
	refreshRawLimit()
	return &epollEngine{maxLoops: loops, dedicated: dedicated, affinity: affinity, quit: make(chan struct{})}, nil
}

// wakeID marks the loop's eventfd in epoll events; connections are
// numbered from 0.
const wakeID = -1

// evloop is one event loop. The fields after taken are the loop thread's
// alone.
type evloop struct {
	e     *epollEngine
	epfd  int
	evfd  int
	woken atomic.Bool  // a wake-up is pending in evfd
	load  atomic.Int32 // connections assigned, for placement
	cpu   atomic.Int32 // the CPU the loop last ran on, for the balancer
	tid   atomic.Int32 // the loop's OS thread, for tests and debugging

	mu      sync.Mutex // guards the four fields below
	inbox   []*slot    // connections handed over by Serve
	closing bool       // Close asked the loop to end
	exited  bool       // the loop has ended: nothing may join its inbox
	fdsGone bool       // epfd and evfd are closed (by Close, after the loop ended)
	taken   []*slot    // the loop's spare inbox, swapped with inbox

	inflight int     // connections with an execution in flight
	nextCPU  uint32  // executions until the loop next publishes its cpu
	slots    []*slot // by id; nil: free
	free     []int32
	idle     []*slot // connections whose Next returned Idle
	spare    []*slot
	events   [64]unix.EpollEvent
}

// slot is one connection served by a loop.
type slot struct {
	c    *conn
	sock *sockConn
	h    driver.Handler
	id   int32
	done chan error // Serve's answer; buffered

	loop   atomic.Pointer[evloop] // the loop serving it, or about to
	moveTo atomic.Pointer[evloop] // set by the balancer: move there before the next execution
	place  placement              // the balancer's own

	// The execution in flight, if any.
	busy     bool
	ps       *preparedStmt
	out      []byte // unwritten part of wbuf
	wantOut  bool   // EPOLLOUT is registered
	rows     int64
	affected int64
	pgErr    error
	rd       rawReader
	wbuf     []byte
}

// Serve implements driver.Engine.
func (e *epollEngine) Serve(ctx context.Context, c driver.Conn, h driver.Handler) error {
	cn, ok := c.(*conn)
	if !ok || (cn.c.mode != ModePrepared && cn.c.mode != ModeRaw) {
		return driver.ErrNotMultiplexed
	}
	sock, ok := cn.pg.Conn().(*sockConn)
	if !ok {
		return driver.ErrNotMultiplexed
	}
	if cn.raw.failed() {
		return cn.raw.broken
	}
	// pgconn may have been used since (Prepare, QueryColumn): it must be
	// idle with nothing buffered before the engine reads the socket.
	cn.raw.leave()
	if err := cn.pg.SyncConn(ctx); err != nil {
		return err
	}
	if !sock.acquire() {
		return &rawError{"serve", errServerClosed}
	}
	s := &slot{c: cn, sock: sock, h: h, done: make(chan error, 1),
		rd: rawReader{buf: make([]byte, 16384)}, wbuf: make([]byte, 0, 256)}
	l, err := e.pick()
	if err != nil {
		sock.release()
		return err
	}
	l.mu.Lock()
	if l.exited {
		l.mu.Unlock()
		l.load.Add(-1)
		sock.release()
		return driver.ErrEngineClosed
	}
	s.loop.Store(l)
	l.inbox = append(l.inbox, s)
	l.mu.Unlock()
	e.serving(s, true)
	l.wake()
	// The loop serving s when ctx ends may not be l: the balancer may have
	// moved it.
	stop := context.AfterFunc(ctx, func() { s.loop.Load().wake() })
	err = <-s.done
	stop()
	e.serving(s, false)
	return err
}

// serving adds s to the connections being served, which the balancer
// looks at, or removes it.
func (e *epollEngine) serving(s *slot, on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if on {
		s.place = placement{want: -1}
		e.served = append(e.served, s)
		return
	}
	for i, x := range e.served {
		if x == s {
			last := len(e.served) - 1
			e.served[i], e.served[last] = e.served[last], nil
			e.served = e.served[:last]
			return
		}
	}
}

// pick returns the loop for a new connection, starting one if fewer than
// maxLoops run.
func (e *epollEngine) pick() (*evloop, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, driver.ErrEngineClosed
	}
	var best *evloop
	if len(e.loops) < e.maxLoops {
		l, err := e.startLoop()
		if err != nil {
			return nil, err
		}
		best = l
	} else {
		for _, l := range e.loops {
			if best == nil || l.load.Load() < best.load.Load() {
				best = l
			}
		}
	}
	best.load.Add(1)
	return best, nil
}

func (e *epollEngine) startLoop() (*evloop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("postgres: epoll engine: %w", os.NewSyscallError("epoll_create1", err))
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("postgres: epoll engine: %w", os.NewSyscallError("eventfd", err))
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeID}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, fmt.Errorf("postgres: epoll engine: %w", os.NewSyscallError("epoll_ctl", err))
	}
	l := &evloop{e: e, epfd: epfd, evfd: evfd}
	l.cpu.Store(-1)
	if e.dedicated {
		dedicateLoops(1)
	}
	e.loops = append(e.loops, l)
	e.wg.Add(1)
	go l.run()
	if e.affinity && len(e.loops) == 2 {
		e.wg.Add(1)
		go e.balance()
	}
	return l, nil
}

// Wake implements driver.Engine.
func (e *epollEngine) Wake() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	for _, l := range e.loops {
		l.wake()
	}
}

// Close implements driver.Engine.
func (e *epollEngine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.quit)
	loops := e.loops
	e.mu.Unlock()
	for _, l := range loops {
		l.mu.Lock()
		l.closing = true
		l.mu.Unlock()
		l.wake()
	}
	e.wg.Wait()
	if e.dedicated && len(loops) > 0 {
		dedicateLoops(-len(loops))
	}
	// The descriptors are closed here, not by the loops, under each loop's
	// mu: a late wake (a Serve's context ending) never writes to a closed,
	// perhaps reused, descriptor.
	for _, l := range loops {
		l.mu.Lock()
		l.fdsGone = true
		unix.Close(l.epfd)
		unix.Close(l.evfd)
		l.mu.Unlock()
	}
	return nil
}

// wake makes the loop's epoll_wait return and the loop look at its inbox,
// its closing flag and its idle connections. Safe from any goroutine; at
// most one write is pending at a time.
func (l *evloop) wake() {
	if l.woken.Swap(true) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fdsGone {
		return
	}
	one := uint64(1)
	b := (*[8]byte)(unsafe.Pointer(&one))[:]
	for {
		// Raw: an eventfd write never blocks (EFD_NONBLOCK; the counter
		// cannot overflow with one write pending).
		_, errno := sysWrite(l.evfd, b)
		if errno != unix.EINTR {
			return
		}
	}
}

// run is the loop's goroutine. It holds its OS thread for its whole life,
// so the connections' sockets are always served by the same thread.
//
// While an answer is in flight the next event is usually tens of
// microseconds away, and the runtime's bookkeeping around a blocking
// system call costs more than that wait: entersyscall, sysmon taking the
// P away after 20 µs and handing it to another thread, exitsyscall finding
// a P again — often through a futex wake-up and a context switch. So with
// an answer in flight, and while at most GOMAXPROCS−1 loops of the process
// are in such a wait (rawWaiters), the loop waits in epoll_pwait through
// RawSyscall6, keeping its P; a signal (the runtime preempting it for a
// collection, sysmon after 10 ms) ends that wait with EINTR and the loop
// yields. With nothing in flight (an idle open-model loop may wait for
// seconds) it sleeps in the runtime-aware unix.EpollWait
// (syscall.Syscall6), its P free for the rest of the process.
func (l *evloop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer l.e.wg.Done()
	l.tid.Store(int32(unix.Gettid()))
	if l.e.affinity {
		l.cpu.Store(getcpu())
	}
	for {
		raw := false
		if l.inflight > 0 {
			if rawWaiters.Add(1) <= rawLimit.Load() {
				raw = true
			} else {
				rawWaiters.Add(-1) // as many raw waits as the process allows already
			}
		}
		var n int
		var err error
		if raw {
			var errno syscall.Errno
			n, errno = epollWaitRaw(l.epfd, l.events[:])
			rawWaiters.Add(-1)
			if errno == unix.EINTR {
				// A signal, perhaps the runtime asking for this P (a
				// collection stopping the world, sysmon): yield it.
				runtime.Gosched()
				continue
			}
			if errno != 0 {
				err = errno
			}
		} else {
			n, err = unix.EpollWait(l.epfd, l.events[:], -1)
		}
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			// Not expected with a valid epoll descriptor: fail every
			// connection and end the loop; Serve calls on it return.
			l.shutdown(&rawError{"epoll_wait", err})
			return
		}
		for i := range n {
			ev := &l.events[i]
			if ev.Fd == wakeID {
				if l.wakeup() {
					return
				}
				continue
			}
			s := l.slots[ev.Fd]
			if s == nil {
				continue // released earlier in this batch
			}
			if ev.Events&unix.EPOLLOUT != 0 && len(s.out) > 0 {
				l.write(s)
				if l.slots[ev.Fd] != s {
					continue
				}
			}
			if ev.Events&^uint32(unix.EPOLLOUT) != 0 {
				l.readable(s)
			}
		}
	}
}

// wakeup handles the eventfd: new connections, closing, idle
// connections. It returns true when the loop must end.
func (l *evloop) wakeup() bool {
	var buf [8]byte
	for {
		_, errno := sysRead(l.evfd, buf[:])
		if errno != unix.EINTR {
			break
		}
	}
	l.woken.Store(false)
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		l.shutdown(driver.ErrEngineClosed)
		return true
	}
	taken := l.inbox
	l.inbox = l.taken[:0]
	l.mu.Unlock()
	for i, s := range taken {
		taken[i] = nil
		l.attach(s)
	}
	l.taken = taken[:0]
	idle := l.idle
	l.idle = l.spare[:0]
	for i, s := range idle {
		idle[i] = nil
		if l.slots[s.id] == s {
			l.next(s)
		}
	}
	l.spare = idle[:0]
	return false
}

// shutdown releases every connection with err (an execution in flight is
// abandoned: its socket is shut down), and those waiting in the inbox,
// and marks the loop exited. Its descriptors stay open until Close.
func (l *evloop) shutdown(err error) {
	for _, s := range l.slots {
		if s != nil {
			if s.busy {
				s.sock.Close()
			}
			l.release(s, err)
		}
	}
	l.mu.Lock()
	l.exited = true
	inbox := l.inbox
	l.inbox = nil
	l.mu.Unlock()
	for _, s := range inbox {
		l.done(s, err)
	}
}

// attach adds a connection to the loop and asks its handler for work.
func (l *evloop) attach(s *slot) {
	if n := len(l.free); n > 0 {
		s.id = l.free[n-1]
		l.free = l.free[:n-1]
		l.slots[s.id] = s
	} else {
		s.id = int32(len(l.slots))
		l.slots = append(l.slots, s)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: s.id}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, s.sock.fd, &ev); err != nil {
		l.slots[s.id] = nil
		l.free = append(l.free, s.id)
		l.done(s, &rawError{"epoll_ctl", err})
		return
	}
	l.next(s)
}

// release removes a connection from the loop and ends its Serve with err.
func (l *evloop) release(s *slot, err error) {
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, s.sock.fd, nil)
	l.slots[s.id] = nil
	l.free = append(l.free, s.id)
	l.done(s, err)
}

// done ends Serve for s with err and drops the engine's hold on it.
func (l *evloop) done(s *slot, err error) {
	l.load.Add(-1)
	s.sock.release()
	s.done <- err
}

// errForeignStmt is Done's error for a statement the connection did not
// prepare.
var errForeignStmt = errors.New("postgres: epoll engine: the statement is not one prepared on this connection")

// next asks the handler what the connection does next and does it —
// first moving the connection to another loop if the balancer asked.
func (l *evloop) next(s *slot) {
	if s.moveTo.Load() != nil {
		if to := s.moveTo.Swap(nil); to != l && l.handoff(s, to) {
			return
		}
	}
	for {
		st, args, step := s.h.Next()
		switch step {
		case driver.Idle:
			l.idle = append(l.idle, s)
			return
		case driver.Release:
			l.release(s, nil)
			return
		}
		ps, ok := st.(*preparedStmt)
		if !ok || ps.c != s.c {
			s.h.Done(0, errForeignStmt)
			continue
		}
		if len(args) != len(ps.vals) {
			s.h.Done(0, fmt.Errorf("postgres: %q takes %d parameters, got %d", ps.sql, len(ps.vals), len(args)))
			continue
		}
		s.ps, s.busy = ps, true
		l.inflight++
		s.rows, s.affected, s.pgErr = 0, 0, nil
		s.wbuf = ps.appendRequest(s.wbuf[:0], args)
		s.out = s.wbuf
		l.write(s)
		return
	}
}

// write sends what is left of the request. A socket whose buffer is full
// (a request larger than it) waits for EPOLLOUT.
func (l *evloop) write(s *slot) {
	for len(s.out) > 0 {
		n, errno := sysWrite(s.sock.fd, s.out)
		switch errno {
		case 0:
			s.out = s.out[n:]
			continue
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if !s.wantOut {
				l.interest(s, unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLOUT)
				s.wantOut = true
			}
			return
		}
		l.broken(s, &rawError{"write", errno})
		return
	}
	if s.wantOut {
		l.interest(s, unix.EPOLLIN|unix.EPOLLRDHUP)
		s.wantOut = false
	}
}

func (l *evloop) interest(s *slot, events uint32) {
	ev := unix.EpollEvent{Events: events, Fd: s.id}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, s.sock.fd, &ev); err != nil {
		l.broken(s, &rawError{"epoll_ctl", err})
	}
}

// readable reads what the server sent and walks it; when ReadyForQuery
// ends the answer, the execution is done and the next request goes out.
// It reads once more only when the answer is incomplete, so a complete
// answer costs one read.
func (l *evloop) readable(s *slot) {
	for {
		typ, body, ok, err := s.rd.frame()
		if err != nil {
			l.broken(s, errProtocol)
			return
		}
		if !ok {
			s.rd.room()
			n, errno := sysRead(s.sock.fd, s.rd.buf[s.rd.w:])
			switch {
			case errno == unix.EAGAIN:
				return
			case errno == unix.EINTR:
				continue
			case errno != 0:
				l.broken(s, &rawError{"read", errno})
				return
			case n == 0:
				l.broken(s, &rawError{"read", errServerClosed})
				return
			}
			s.rd.w += n
			continue
		}
		switch typ {
		case 'D': // DataRow
			s.rows++
		case 'C': // CommandComplete
			s.affected = rowsAffected(body)
		case 'E': // ErrorResponse
			var er pgproto3.ErrorResponse
			if err := er.Decode(body); err != nil {
				l.broken(s, errProtocol)
				return
			}
			s.pgErr = pgconn.ErrorResponseToPgError(&er)
		case 'G', 'W': // CopyInResponse, CopyBothResponse: the server would wait for us
			l.broken(s, errCopy)
			return
		case 'Z': // ReadyForQuery
			if !s.busy {
				continue
			}
			id := s.id
			l.complete(s)
			// Released or moved to another loop (whose s is no longer
			// this loop's to read), or nothing more buffered: wait for
			// epoll.
			if l.slots[id] != s || s.rd.r == s.rd.w {
				return
			}
		}
		// BindComplete, NoData, notices, parameter status, notifications:
		// nothing to do.
	}
}

// complete reports the execution's outcome and sends the next request.
func (l *evloop) complete(s *slot) {
	s.busy = false
	l.inflight--
	n := s.rows
	if len(s.ps.sd.Fields) == 0 {
		n = s.affected
	}
	if err := s.pgErr; err != nil {
		s.pgErr = nil
		s.h.Done(0, err)
	} else {
		s.h.Done(n, nil)
	}
	if l.e.affinity {
		if l.nextCPU == 0 {
			l.nextCPU = cpuEvery
			l.cpu.Store(getcpu())
		}
		l.nextCPU--
	}
	l.next(s)
}

// cpuEvery is how many executions a loop completes between two looks at
// the CPU it runs on (getcpu(2), about 0.1 µs).
const cpuEvery = 256

// handoff moves s, which has nothing in flight, to loop to, and reports
// whether it did: not when to has ended (the engine is closing; s stays
// here and this loop's own shutdown releases it). Its next execution
// starts there.
func (l *evloop) handoff(s *slot, to *evloop) bool {
	to.mu.Lock()
	if to.exited || to.closing {
		to.mu.Unlock()
		return false
	}
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, s.sock.fd, nil)
	l.slots[s.id] = nil
	l.free = append(l.free, s.id)
	l.load.Add(-1)
	to.load.Add(1)
	s.loop.Store(to)
	to.inbox = append(to.inbox, s)
	to.mu.Unlock()
	to.wake()
	return true
}

// broken ends a connection after an I/O or framing error: the socket is
// shut down (pgconn sees it closed), the execution in flight fails with
// err — or with the server's error if it sent one before going away (an
// administrator's pg_terminate_backend is 57P01) — and Serve returns it.
func (l *evloop) broken(s *slot, err error) {
	if s.pgErr != nil {
		err = s.pgErr
	}
	if _, ok := err.(*rawError); !ok {
		if _, isPG := err.(*pgconn.PgError); !isPG {
			err = &rawError{"protocol", err}
		}
	}
	if s.c.raw != nil {
		s.c.raw.broken = err
	}
	s.sock.Close()
	if s.busy {
		s.busy = false
		l.inflight--
		s.h.Done(0, err)
	}
	l.release(s, err)
}

// frame returns the next complete message in the buffer without reading:
// ok is false when more bytes are needed.
func (rd *rawReader) frame() (typ byte, body []byte, ok bool, err error) {
	avail := rd.w - rd.r
	if avail < 5 {
		return 0, nil, false, nil
	}
	n := int(binary.BigEndian.Uint32(rd.buf[rd.r+1:]))
	if n < 4 || n > math.MaxInt32-1 {
		return 0, nil, false, errProtocol
	}
	if avail < 1+n {
		if 1+n > len(rd.buf) { // a message larger than the buffer
			nb := make([]byte, 1+n+len(rd.buf))
			rd.w = copy(nb, rd.buf[rd.r:rd.w])
			rd.r = 0
			rd.buf = nb
		}
		return 0, nil, false, nil
	}
	typ = rd.buf[rd.r]
	body = rd.buf[rd.r+5 : rd.r+1+n]
	rd.r += 1 + n
	return typ, body, true, nil
}

// room makes space at the end of the buffer for a read.
func (rd *rawReader) room() {
	if rd.r == rd.w {
		rd.r, rd.w = 0, 0
	} else if rd.r > 0 && (rd.w == len(rd.buf) || len(rd.buf)-rd.r < 8192) {
		rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r = 0
	}
}

// epollWaitRaw is epoll_pwait(2) without a signal mask (epoll_wait, which
// arm64 lacks) through RawSyscall6: no entersyscall/exitsyscall, so the
// loop keeps its P while it sleeps. It has no timeout: the kernel arms a
// timer for a wait that has one, which cost about 1 µs per query
// (measured at 4 connections: 8.0 against 6.9 µs of client CPU per query,
// 0.92× the QPS). A signal ends it (EINTR): the runtime preempting the
// loop, which sysmon does after 10 ms, a collection at once.
func epollWaitRaw(epfd int, events []unix.EpollEvent) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), ^uintptr(0), 0, 0)
	return int(n), errno
}

// rawWaiters counts the loops of the process in epollWaitRaw; the most
// at once is rawLimit (procs.go).
var rawWaiters atomic.Int32
