// Package sleepdriver is an in-memory driver.Connector for tests of the
// runner's own timing: every statement takes a fixed time and returns one
// row. Inside a testing/synctest bubble that time is virtual, so pacing,
// phases, heartbeats and leases are tested without sleeps. The real
// drivers are exercised against real databases elsewhere.
package sleepdriver

import (
	"context"
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

// Exec waits D, or until ctx ends.
func (s conn) Exec(ctx context.Context, _ []core.Value) (int64, error) {
	s.c.Execs.Add(1)
	t := time.NewTimer(s.c.D)
	defer t.Stop()
	select {
	case <-t.C:
		return 1, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
