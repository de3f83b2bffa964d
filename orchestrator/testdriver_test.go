package orchestrator_test

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/workload"
)

// sleepConnector is an in-memory driver whose every statement takes a fixed
// time (a copy of worker_test's): inside a synctest bubble that time is
// virtual, so the orchestrator's timing is what is under test.
type sleepConnector struct {
	d    time.Duration
	open atomic.Int64 // connections open
}

func (c *sleepConnector) Connect(context.Context) (driver.Conn, error) {
	c.open.Add(1)
	return sleepConn{c}, nil
}
func (c *sleepConnector) Close() error { return nil }

type sleepConn struct{ c *sleepConnector }

func (s sleepConn) Prepare(context.Context, string) (driver.Stmt, error) { return s, nil }
func (s sleepConn) QueryColumn(context.Context, string) ([]core.Value, error) {
	return nil, nil
}
func (s sleepConn) Close() error { s.c.open.Add(-1); return nil }
func (s sleepConn) Exec(ctx context.Context, _ []core.Value) (int64, error) {
	t := time.NewTimer(s.c.d)
	defer t.Stop()
	select {
	case <-t.C:
		return 1, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// oneOpSpec is a one-operation workload: SELECT ? over 1..100.
func oneOpSpec() core.WorkloadSpec {
	lo, hi := int64(1), int64(100)
	return core.WorkloadSpec{Operations: []core.OperationSpec{{
		Name: "op", SQL: "SELECT ?", Params: []core.ParamSpec{{Gen: "uniform", Min: &lo, Max: &hi}},
	}}}
}

func compile(ws core.WorkloadSpec) workload.Workload {
	w, err := workload.Compile(ws)
	if err != nil {
		panic(err)
	}
	return w
}
