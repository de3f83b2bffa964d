package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/worker"
	"github.com/unistore-bench/unistore/workload"
)

// labelConnector's connections label statements and record, for each
// Prepare and QueryColumn, the label it ran under; a query naming table
// "missing" fails.
type labelConnector struct {
	mu      sync.Mutex
	calls   []string // "prepare|sample SQL @ worker/phase/op"
	open    int
	connect int
}

type labelKey struct{}

type labelConn struct{ c *labelConnector }

func (c *labelConnector) Connect(context.Context) (driver.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open++
	c.connect++
	return labelConn{c}, nil
}
func (c *labelConnector) Close() error { return nil }

func (c *labelConnector) record(ctx context.Context, what, sql string) {
	l, _ := ctx.Value(labelKey{}).(driver.Label)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, what+" "+sql+" @ "+l.Run+"/"+l.Worker+"/"+string(l.Phase)+"/"+l.Operation)
}

func (c labelConn) Label(ctx context.Context, l driver.Label) context.Context {
	return context.WithValue(ctx, labelKey{}, l)
}
func (c labelConn) Prepare(ctx context.Context, sql string) (driver.Stmt, error) {
	c.c.record(ctx, "prepare", sql)
	if strings.Contains(sql, "missing") {
		return nil, errors.New("no such table: missing")
	}
	return nil, nil
}
func (c labelConn) QueryColumn(ctx context.Context, sql string) ([]core.Value, error) {
	c.c.record(ctx, "query", sql)
	if strings.Contains(sql, "missing") {
		return nil, errors.New("no such table: missing")
	}
	return []core.Value{core.Int(1), core.Int(2)}, nil
}
func (c labelConn) Close() error {
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	c.c.open--
	return nil
}

func sampling(t *testing.T, table string) workload.Workload {
	t.Helper()
	wl, err := workload.Compile(core.WorkloadSpec{Operations: []core.OperationSpec{{
		Name: "get", SQL: "SELECT v FROM t WHERE id = ?", Params: []core.ParamSpec{{Gen: "sample", Table: table, Column: "id"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return wl
}

// TestPreflight: one connection, every operation prepared and the keys
// sampled, each under the PREPARE label of the run and worker "preflight";
// nothing left open.
func TestPreflight(t *testing.T) {
	c := &labelConnector{}
	if err := worker.Preflight(context.Background(), "r1", c, sampling(t, "t"), nil); err != nil {
		t.Fatal(err)
	}
	// The sampling query's text is package workload's; its label is ours.
	if len(c.calls) != 2 || c.calls[0] != "prepare SELECT v FROM t WHERE id = ? @ r1/preflight/PREPARE/get" ||
		!strings.HasPrefix(c.calls[1], "query SELECT id FROM t ") || !strings.HasSuffix(c.calls[1], " @ r1/preflight/PREPARE/sample") {
		t.Errorf("calls %q: want the operation prepared, then its keys sampled, under PREPARE labels", c.calls)
	}
	if c.connect != 1 || c.open != 0 {
		t.Errorf("%d connections made, %d left open; want 1 and 0", c.connect, c.open)
	}
}

// TestPreflightFails: a statement that does not prepare and a sampled
// table that does not exist are Preflight's errors, and close what it
// opened.
func TestPreflightFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		wl   workload.Workload
		want string
	}{
		{"missing sampled table", sampling(t, "missing"), `sample missing.id`},
		{"statement does not prepare", func() workload.Workload {
			wl, err := workload.Compile(core.WorkloadSpec{Operations: []core.OperationSpec{{Name: "bad", SQL: "SELECT * FROM missing"}}})
			if err != nil {
				t.Fatal(err)
			}
			return wl
		}(), `operation "bad"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &labelConnector{}
			err := worker.Preflight(context.Background(), "r1", c, tc.wl, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one naming %s", err, tc.want)
			}
			if c.open != 0 {
				t.Errorf("%d connections left open", c.open)
			}
		})
	}
}
