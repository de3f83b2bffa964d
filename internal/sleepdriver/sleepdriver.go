// Package sleepdriver is an in-memory driver.Connector for tests of the
// runner's own timing: every statement takes a fixed time (or one that
// Latency gives, for a target that warms up) and returns one row; with
// Slots, at most that many statements are served at once and the others
// queue, so the target has a known capacity of Slots/D statements per
// second. Inside a testing/synctest bubble that time is virtual, so pacing,
// phases, heartbeats and leases are tested without sleeps. The real
// drivers are exercised against real databases elsewhere.
package sleepdriver

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// Connector makes connections whose statements take D.
type Connector struct {
	D     time.Duration
	Execs atomic.Int64 // statements started
	Open  atomic.Int64 // connections open (a double Close shows as a deficit)
	// Engine makes NewEngine return an engine (see engine.go), so a runner
	// drives the connections through driver.Engine and its Handler.
	Engine bool
	// Latency, if set, gives a statement's time instead of D, from the
	// time it starts being served.
	Latency func(now time.Time) time.Duration
	// Slots, if positive, is how many statements are served at once; the
	// others wait for a free slot (that wait is part of their time).
	Slots int

	once  sync.Once
	slots chan struct{}
}

func (c *Connector) slot() chan struct{} {
	c.once.Do(func() {
		if c.Slots > 0 {
			c.slots = make(chan struct{}, c.Slots)
		}
	})
	return c.slots
}

var (
	_ driver.Connector   = (*Connector)(nil)
	_ driver.Multiplexer = (*Connector)(nil)
)

// Connect implements driver.Connector.
func (c *Connector) Connect(context.Context) (driver.Conn, error) {
	c.Open.Add(1)
	return conn{c}, nil
}

// Close implements driver.Connector.
func (c *Connector) Close() error { return nil }

type conn struct{ c *Connector }

func (s conn) Prepare(context.Context, string) (driver.Stmt, error) { return s, nil }
func (s conn) QueryColumn(context.Context, string) ([]core.Value, error) {
	return nil, nil
}
func (s conn) Close() error { s.c.Open.Add(-1); return nil }

// Exec waits for a slot (with Slots) and then D (or Latency's time), or
// until ctx ends.
func (s conn) Exec(ctx context.Context, _ []core.Value) (int64, error) {
	s.c.Execs.Add(1)
	if slots := s.c.slot(); slots != nil {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	d := s.c.D
	if s.c.Latency != nil {
		d = s.c.Latency(time.Now())
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return 1, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
