package drivertest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// runMultiplexed runs every check again, on a second Target, with each
// Exec going through the connector's engine (driver.Multiplexer): one
// Engine.Serve per execution, which attaches the connection, runs the one
// statement, and releases it. It skips when the connector offers no
// engine (its settings run connections on goroutines).
func runMultiplexed(t *testing.T, open func(t *testing.T) Target, checks []check) {
	tg := open(t)
	t.Cleanup(func() { _ = tg.Connector.Close() })
	m, ok := tg.Connector.(driver.Multiplexer)
	if !ok {
		t.Skip("the connector is not a driver.Multiplexer")
	}
	eng, err := m.NewEngine()
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	if eng == nil {
		t.Skip("the connector's settings run connections on goroutines: no engine")
	}
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Errorf("engine Close: %v", err)
		}
	})
	tg.Connector = &muxConnector{Connector: tg.Connector, eng: eng}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.fn(t, tg) })
	}
}

type muxConnector struct {
	driver.Connector
	eng driver.Engine
}

func (m *muxConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := m.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &muxConn{Conn: c, eng: m.eng}, nil
}

func (m *muxConnector) Classify(err error) (core.ErrorClass, string) {
	return driver.Classify(m.Connector, err)
}

type muxConn struct {
	driver.Conn
	eng driver.Engine
}

func (c *muxConn) Prepare(ctx context.Context, sql string) (driver.Stmt, error) {
	s, err := c.Conn.Prepare(ctx, sql)
	if err != nil {
		return nil, err
	}
	return &muxStmt{c: c, s: s}, nil
}

func (c *muxConn) Classify(err error) (core.ErrorClass, string) { return driver.Classify(c.Conn, err) }

type muxStmt struct {
	c *muxConn
	s driver.Stmt
}

// Exec runs the statement once on the engine.
func (s *muxStmt) Exec(ctx context.Context, args []core.Value) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	h := &oneShot{s: s.s, args: args}
	err := s.c.eng.Serve(ctx, s.c.Conn, h)
	switch {
	case errors.Is(err, driver.ErrNotMultiplexed):
		return 0, fmt.Errorf("drivertest: the engine refused the connection: %w", err)
	case !h.done && err == nil:
		return 0, errors.New("drivertest: the engine released the connection without running the statement")
	case !h.done:
		return 0, err
	}
	return h.rows, h.err
}

// oneShot is a driver.Handler that runs one statement and releases.
type oneShot struct {
	s          driver.Stmt
	args       []core.Value
	sent, done bool
	rows       int64
	err        error
}

func (h *oneShot) Next() (driver.Stmt, []core.Value, driver.Step) {
	if h.sent {
		return nil, nil, driver.Release
	}
	h.sent = true
	return h.s, h.args, driver.Run
}

func (h *oneShot) Done(rows int64, err error) {
	h.done, h.rows, h.err = true, rows, err
}
