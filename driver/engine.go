package driver

import (
	"context"
	"errors"

	"github.com/unistore-bench/unistore/core"
)

// Multiplexer is implemented by connectors whose connections can run on a
// shared engine: a few event loops, each driving many connections, instead
// of one goroutine blocked on each connection's socket (the PostgreSQL
// driver's epoll engine on Linux). It is optional, found by type assertion
// like the other capabilities: a runner that finds it hands its
// connections to the engine, and every other driver, and every connection
// the engine refuses, runs through Conn and Stmt as usual.
type Multiplexer interface {
	// NewEngine returns a new engine for connections of this connector, or
	// (nil, nil) when the connector's settings run connections on
	// goroutines (the engine is off, or does not apply). The caller owns
	// the engine and must Close it.
	NewEngine() (Engine, error)
}

// Engine runs the executions of many connections on a few event loops.
// Its methods are safe for concurrent use.
type Engine interface {
	// Serve hands c, a connection of the engine's connector that nothing
	// else uses meanwhile, to the engine, which drives it with h until h
	// releases it, the connection breaks, or the engine closes; Serve
	// blocks until then. The engine calls h on one of its event loops, one
	// call at a time for a given c: Next when c is free, and Done when the
	// execution Next asked for has ended. Serve returns nil when h released
	// the connection; the error that broke it (after passing it to Done)
	// when it broke; ErrNotMultiplexed at once, having called nothing, if c
	// cannot run on the engine (use its Stmt.Exec); ErrEngineClosed once
	// the engine is closed. When ctx ends, the engine asks an idle c's
	// Next again, as Wake does.
	Serve(ctx context.Context, c Conn, h Handler) error
	// Wake makes the engine call Next again for every connection whose
	// last Next returned Idle. A caller that makes work available to an
	// idle handler (an open-model start), or wants one released, calls it.
	Wake()
	// Close releases every connection still served (Serve returns
	// ErrEngineClosed; an execution in flight is abandoned and its
	// connection must not be reused), stops the event loops and returns
	// when they have ended. Calling it again does nothing.
	Close() error
}

// Handler is the runner's side of one connection served by an Engine. Its
// methods are called on an event loop, never concurrently for one
// connection; they must not block.
type Handler interface {
	// Next returns what the connection does next: Run with a statement
	// prepared on it and its arguments (read until Done is called), Idle
	// to wait for Wake (or for ctx to end), or Release to hand the
	// connection back (Serve returns).
	Next() (s Stmt, args []core.Value, step Step)
	// Done reports the outcome of the execution the last Next asked for,
	// as Stmt.Exec would have: rows returned or affected, or the error.
	// The engine calls Next next, unless the error broke the connection:
	// then it releases the connection.
	Done(rows int64, err error)
}

// Step is a Handler's choice of what its connection does next.
type Step uint8

// The steps a Handler's Next returns.
const (
	// Run executes the statement Next returned.
	Run Step = iota
	// Idle leaves the connection waiting for Engine.Wake.
	Idle
	// Release hands the connection back: Serve returns nil.
	Release
)

// KernelSleeper is implemented by an Engine whose event loops sleep in the
// kernel, outside the Go scheduler. The rest of the process is then mostly
// idle, and the runtime's timers fire at its netpoller's granularity of
// 1 ms: a runner pacing open-model starts (Engine.Wake after each) sleeps
// their last moments in nanosleep(2) instead, or every start would be up
// to 1 ms late. An engine that runs on the scheduler (a test double on a
// virtual clock, say) must not implement it.
type KernelSleeper interface {
	Engine
	// SleepsInKernel reports whether the engine's loops sleep in the kernel.
	SleepsInKernel() bool
}

// ErrNotMultiplexed is returned by Engine.Serve for a connection the engine
// cannot drive (a TLS connection, say); run it through Stmt.Exec instead.
var ErrNotMultiplexed = errors.New("driver: connection cannot run on the engine")

// ErrEngineClosed is returned by Engine.Serve once the engine is closed.
var ErrEngineClosed = errors.New("driver: engine closed")
