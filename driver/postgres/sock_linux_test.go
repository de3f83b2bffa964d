//go:build linux

package postgres

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSockConnClosesOnce: the descriptor is closed once, by the last
// reference; a call on a closed sockConn fails without closing anything,
// even when the number has been reused by then.
func TestSockConnClosesOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { buf := make([]byte, 64); c.Read(buf); c.Write([]byte("pong")); c.Close() }()
		}
	}()
	dial := sockDialer((&net.Dialer{}).DialContext)
	c, err := dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, ok := c.(*sockConn)
	if !ok {
		t.Fatalf("dialer returned %T, want *sockConn", c)
	}
	if _, err := s.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4)
	if n, err := s.Read(buf); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	// The engine's hold outlives Close.
	if !s.acquire() {
		t.Fatal("acquire on an open sockConn failed")
	}
	fd := s.fd
	s.Close()
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Fatalf("descriptor closed while held: %v", err)
	}
	s.release()
	// The number is free: take it again, then use the closed sockConn.
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := s.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write on a closed sockConn: %v, want net.ErrClosed", err)
	}
	if _, err := s.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read on a closed sockConn: %v, want net.ErrClosed", err)
	}
	s.Close()
	if _, err := f.Stat(); err != nil {
		t.Errorf("a later descriptor was closed by the closed sockConn: %v", err)
	}
	var st unix.Stat_t
	if int(f.Fd()) == fd {
		if err := unix.Fstat(fd, &st); err != nil {
			t.Errorf("reused descriptor %d closed: %v", fd, err)
		}
	}
}

// TestSockConnDeadline: a blocked Read returns a timeout when its deadline,
// set from another goroutine, passes.
func TestSockConnDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(2 * time.Second)
			c.Close()
		}
	}()
	c, err := sockDialer((&net.Dialer{}).DialContext)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { time.Sleep(50 * time.Millisecond); c.SetDeadline(time.Now()) }()
	start := time.Now()
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read: %v, want a timeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Read returned after %v, want soon after the deadline", d)
	}
}
