package sleepdriver

import (
	"context"
	"sync"

	"github.com/unistore-bench/unistore/driver"
)

// NewEngine implements driver.Multiplexer: an engine when c.Engine is set,
// else (nil, nil).
//
// The engine honours driver.Engine's contract with no event loop: Serve
// runs the handler on the caller's goroutine, each statement with Exec
// (which waits D, or until Serve's ctx ends, as the goroutine path's Exec
// does). It tests a runner's Handler — Idle, Wake, Release, Done — under
// testing/synctest, where its timing is exact; the real engine is tested
// against a real database.
func (c *Connector) NewEngine() (driver.Engine, error) {
	if !c.Engine {
		return nil, nil
	}
	return &engine{wake: make(chan struct{}), closed: make(chan struct{})}, nil
}

type engine struct {
	mu     sync.Mutex
	wake   chan struct{} // closed and replaced by Wake
	closed chan struct{}
	once   sync.Once
}

func (e *engine) woken() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.wake
}

func (e *engine) Serve(ctx context.Context, c driver.Conn, h driver.Handler) error {
	if _, ok := c.(conn); !ok {
		return driver.ErrNotMultiplexed
	}
	ctxDone := ctx.Done()
	for {
		select {
		case <-e.closed:
			return driver.ErrEngineClosed
		default:
		}
		// Taken before Next: a Wake after Next returned Idle is not lost.
		woken := e.woken()
		st, args, step := h.Next()
		switch step {
		case driver.Release:
			return nil
		case driver.Idle:
			select {
			case <-woken:
			case <-ctxDone:
				ctxDone = nil // asked again once; then only Wake
			case <-e.closed:
				return driver.ErrEngineClosed
			}
			continue
		}
		h.Done(st.Exec(ctx, args))
	}
}

func (e *engine) Wake() {
	e.mu.Lock()
	defer e.mu.Unlock()
	close(e.wake)
	e.wake = make(chan struct{})
}

func (e *engine) Close() error {
	e.once.Do(func() { close(e.closed) })
	return nil
}
