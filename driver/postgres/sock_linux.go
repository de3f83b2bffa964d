//go:build linux

package postgres

import (
	"context"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sys/unix"
)

// sockConn is the net.Conn under pgconn when the epoll engine is on: the
// dialed socket, taken out of the Go netpoller.
//
// Why: a socket stays registered, edge-triggered, in the runtime's own
// epoll set for as long as its net.Conn lives. Were the engine to read it
// from its own epoll set, every answer would also wake whichever thread
// sleeps in the runtime's netpoll (an idle P's), for nothing — a thread
// wake-up per query, the cost the engine exists to remove. So the dialer
// duplicates the descriptor and closes the net.Conn, which removes it
// from the runtime's set (the duplicate keeps the socket open and
// non-blocking).
//
// pgconn then uses it like any net.Conn (connect, Prepare, QueryColumn,
// Close, cancel requests): reads and writes are non-blocking system calls
// and a call that would block waits in poll(2) through the ordinary,
// runtime-aware syscall path, so the thread gives up its P while it
// sleeps. A blocked wait rechecks its deadline at least every
// pollSlice (SetDeadline from another goroutine, which pgconn's context
// watcher uses, has nothing to wake it); Close shuts the socket down,
// which wakes every wait at once.
//
// The descriptor is reference counted: the owner (Close) holds one
// reference, every call in progress and the engine while it serves the
// connection hold one each, and the descriptor is closed with the last,
// so it is never closed (and its number reused) under a reader.
type sockConn struct {
	fd           int
	refs         atomic.Int32
	closed       atomic.Bool
	rdl, wdl     atomic.Int64 // deadlines, Unix nanoseconds; 0: none
	laddr, raddr net.Addr
	network      string
}

var (
	_ net.Conn     = (*sockConn)(nil)
	_ syscall.Conn = (*sockConn)(nil)
)

// pollSlice bounds one poll(2) wait of a blocked sockConn call.
const pollSlice = 10 * time.Millisecond

// sockDialer wraps dial (pgconn's dialer, keeping its timeouts and
// keep-alive) so that it returns a sockConn. Connections that are not TCP
// or Unix sockets are returned as they are.
func sockDialer(dial pgconn.DialFunc) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		s, err := detach(c)
		if err != nil {
			c.Close()
			return nil, err
		}
		return s, nil
	}
}

// detach duplicates c's descriptor into a sockConn and closes c, which
// removes the socket from the runtime's netpoller.
func detach(c net.Conn) (net.Conn, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c, nil
	}
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return c, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("fcntl", derr)
	}
	// O_NONBLOCK belongs to the open file, which the duplicate shares;
	// set it anyway, as the reads and writes below rely on it.
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	s := &sockConn{fd: nfd, laddr: c.LocalAddr(), raddr: c.RemoteAddr(), network: c.LocalAddr().Network()}
	s.refs.Store(1)
	// Closing c deregisters the socket from the netpoller (epoll_ctl DEL
	// precedes close in the runtime) and closes its descriptor; the socket
	// lives on in nfd.
	c.Close()
	return s, nil
}

// acquire takes a reference for a call; false if the socket is closed.
// It never takes one back from zero: the descriptor is closed exactly once.
func (s *sockConn) acquire() bool {
	for {
		if s.closed.Load() {
			return false
		}
		r := s.refs.Load()
		if r == 0 {
			return false
		}
		if s.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// release drops a reference and closes the descriptor with the last.
func (s *sockConn) release() {
	if s.refs.Add(-1) == 0 {
		unix.Close(s.fd)
	}
}

// Close shuts the socket down (waking every wait on it, the engine's
// included) and drops the owner's reference. Calling it again does
// nothing.
func (s *sockConn) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	_ = unix.Shutdown(s.fd, unix.SHUT_RDWR)
	s.release()
	return nil
}

func (s *sockConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: s.network, Source: s.laddr, Addr: s.raddr, Err: err}
}

// Read implements net.Conn.
func (s *sockConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if !s.acquire() {
		return 0, s.opError("read", net.ErrClosed)
	}
	defer s.release()
	for {
		n, errno := sysRead(s.fd, b)
		switch errno {
		case 0:
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if err := s.wait(unix.POLLIN, &s.rdl); err != nil {
				return 0, s.opError("read", err)
			}
			continue
		}
		return 0, s.opError("read", os.NewSyscallError("read", errno))
	}
}

// Write implements net.Conn.
func (s *sockConn) Write(b []byte) (int, error) {
	if !s.acquire() {
		return 0, s.opError("write", net.ErrClosed)
	}
	defer s.release()
	done := 0
	for done < len(b) {
		n, errno := sysWrite(s.fd, b[done:])
		switch errno {
		case 0:
			done += n
			continue
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if err := s.wait(unix.POLLOUT, &s.wdl); err != nil {
				return done, s.opError("write", err)
			}
			continue
		}
		return done, s.opError("write", os.NewSyscallError("write", errno))
	}
	return done, nil
}

// wait blocks until the socket is ready for events (or hung up), the
// deadline in dl passes, or the socket is closed. poll(2) goes through
// the runtime-aware syscall path: this thread may sleep here.
func (s *sockConn) wait(events int16, dl *atomic.Int64) error {
	fds := []unix.PollFd{{Fd: int32(s.fd), Events: events}}
	for {
		if s.closed.Load() {
			return net.ErrClosed
		}
		slice := pollSlice
		if d := dl.Load(); d != 0 {
			left := time.Until(time.Unix(0, d))
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			slice = min(slice, left)
		}
		ms := int((slice + time.Millisecond - 1) / time.Millisecond)
		n, err := unix.Poll(fds, ms)
		if err != nil && err != unix.EINTR {
			return os.NewSyscallError("poll", err)
		}
		if n > 0 {
			return nil
		}
	}
}

func (s *sockConn) LocalAddr() net.Addr  { return s.laddr }
func (s *sockConn) RemoteAddr() net.Addr { return s.raddr }

func deadline(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func (s *sockConn) SetDeadline(t time.Time) error {
	s.rdl.Store(deadline(t))
	s.wdl.Store(deadline(t))
	return nil
}
func (s *sockConn) SetReadDeadline(t time.Time) error  { s.rdl.Store(deadline(t)); return nil }
func (s *sockConn) SetWriteDeadline(t time.Time) error { s.wdl.Store(deadline(t)); return nil }

// SyscallConn implements syscall.Conn, for statement_mode=raw's Exec
// outside the engine.
func (s *sockConn) SyscallConn() (syscall.RawConn, error) { return sockRaw{s}, nil }

// sockRaw is a syscall.RawConn whose waits are sockConn's poll(2).
type sockRaw struct{ s *sockConn }

func (r sockRaw) Control(f func(fd uintptr)) error {
	if !r.s.acquire() {
		return net.ErrClosed
	}
	defer r.s.release()
	f(uintptr(r.s.fd))
	return nil
}

func (r sockRaw) Read(f func(fd uintptr) bool) error  { return r.io(f, unix.POLLIN, &r.s.rdl) }
func (r sockRaw) Write(f func(fd uintptr) bool) error { return r.io(f, unix.POLLOUT, &r.s.wdl) }

func (r sockRaw) io(f func(fd uintptr) bool, events int16, dl *atomic.Int64) error {
	if !r.s.acquire() {
		return net.ErrClosed
	}
	defer r.s.release()
	for !f(uintptr(r.s.fd)) {
		if err := r.s.wait(events, dl); err != nil {
			return err
		}
	}
	return nil
}

// sysRead and sysWrite are read(2) and write(2) on a non-blocking
// descriptor through syscall.RawSyscall: no entersyscall/exitsyscall
// around them, which only matter for a call that may block, and these
// never do (EAGAIN instead).
func sysRead(fd int, b []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), errno
}

func sysWrite(fd int, b []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), errno
}
