//go:build linux

package postgres

import (
	"context"
	"syscall"
	"unsafe"
)

const rawSupported = true

// rawConn is the raw engine's hold on a connection's socket, through its
// syscall.RawConn: the read and write system calls are ours, the waiting
// is the Go netpoller's (a read that finds nothing parks the goroutine
// until the socket is readable), so a blocked Exec costs no OS thread and
// closing the connection still wakes it.
//
// The socket is non-blocking, so neither call ever sleeps (EAGAIN
// instead), and both go through syscall.RawSyscall, without the runtime's
// entersyscall/exitsyscall, as the epoll engine's do. That bookkeeping is
// pure cost here, and worse than that on a machine shared with the
// server: a loopback write wakes the backend, which often preempts the
// writing thread inside the call, and a thread that stays off its CPU past
// 20 µs "in a system call" has sysmon hand its P to another thread — a
// futex wake-up and a context switch more. At 64 connections on 2 cores
// (auto's goroutine fallback): 5.44–5.56 µs of client CPU per query
// against 5.57–5.75 with syscall.Syscall, voluntary context switches 0.004
// per query against 0.018 (pgbench: 5.42–5.67 µs).
//
// Blocking reads (one system call per answer instead of a failed read, a
// park and a netpoller wake-up) were measured too: with syscall.Syscall
// every blocked read ties up a P, so the scheduler hands Ps back and forth
// (worse at 4 and 64 connections, and worse still with GOMAXPROCS raised
// to connections+2); with syscall.RawSyscall it matched pgbench at 4
// connections but capped concurrency at GOMAXPROCS and can stall a
// stop-the-world for as long as a query runs. Neither is kept.
type rawConn struct {
	c       *conn
	rc      syscall.RawConn
	entered bool
	broken  error
	rd      rawReader
	wbuf    []byte

	// The closures given to rc.Read and rc.Write, made once, and their
	// arguments and results.
	readFn, writeFn func(fd uintptr) bool
	rb, wb          []byte
	rn              int
	rerr, werr      error
}

// newRawConn returns nil when the connection has no plain socket (TLS):
// that connection runs the prepared mode's pgconn path.
func newRawConn(c *conn) *rawConn {
	sc, ok := c.pg.Conn().(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawConn{c: c, rc: rc, rd: rawReader{buf: make([]byte, 16384)}, wbuf: make([]byte, 0, 256)}
	r.readFn = func(fd uintptr) bool {
		for {
			n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.rb[0])), uintptr(len(r.rb)))
			switch errno {
			case 0:
				r.rn, r.rerr = int(n), nil
				return true
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait in the netpoller
			}
			r.rn, r.rerr = 0, errno
			return true
		}
	}
	r.writeFn = func(fd uintptr) bool {
		for len(r.wb) > 0 {
			n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&r.wb[0])), uintptr(len(r.wb)))
			switch errno {
			case 0:
				r.wb = r.wb[n:]
				continue
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait in the netpoller
			}
			r.werr = errno
			return true
		}
		return true
	}
	return r
}

// enter makes sure pgconn is idle with nothing buffered before the raw
// engine reads the socket (pgconn may have been used since the last Exec).
func (r *rawConn) enter() error {
	if r.entered {
		return nil
	}
	if r.broken != nil {
		return r.broken
	}
	if err := r.c.pg.SyncConn(context.Background()); err != nil {
		return err
	}
	r.entered = true
	return nil
}

// failed reports whether the raw engine closed the connection.
func (r *rawConn) failed() bool { return r != nil && r.broken != nil }

// leave is called before pgconn uses the connection again.
func (r *rawConn) leave() {
	if r != nil {
		r.entered = false
	}
}

func (r *rawConn) write(b []byte) error {
	r.wb, r.werr = b, nil
	if err := r.rc.Write(r.writeFn); err != nil {
		return &rawError{"write", err}
	}
	r.wb = nil
	if r.werr != nil {
		return &rawError{"write", r.werr}
	}
	return nil
}

func (r *rawConn) read(b []byte) (int, error) {
	r.rb = b
	if err := r.rc.Read(r.readFn); err != nil {
		return 0, &rawError{"read", err}
	}
	r.rb = nil
	if r.rerr != nil {
		return 0, &rawError{"read", r.rerr}
	}
	if r.rn == 0 {
		return 0, &rawError{"read", errServerClosed}
	}
	return r.rn, nil
}

// fail marks the connection broken after an I/O or protocol error: its
// socket is closed, so the loop reconnects.
func (r *rawConn) fail(err error) error {
	if _, ok := err.(*rawError); !ok {
		err = &rawError{"protocol", err}
	}
	r.broken = err
	r.leave()
	_ = r.c.pg.Conn().Close()
	return err
}
