package unistore

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/cost"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/store"
)

// hungStats is a target session whose pg_stat_statements read hangs until
// its context ends (a target that stopped answering).
type hungStats struct{ closed atomic.Bool }

func (*hungStats) Prepare(context.Context, string) (driver.Stmt, error) {
	return nil, errors.New("not used")
}
func (*hungStats) QueryColumn(context.Context, string) ([]core.Value, error) {
	return nil, errors.New("not used")
}
func (h *hungStats) Close() error { h.closed.Store(true); return nil }
func (*hungStats) StatementStats(ctx context.Context, _ []string) ([]driver.StatementStat, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestMeterNeverHoldsTheRun: with a target that hangs, Measure returns at
// once (the run's clock does not wait on it) and Finish returns when its
// context — the stop's window — ends, its server section FAILED with why;
// the session is closed once the hung read has given up.
func TestMeterNeverHoldsTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := &hungStats{}
		spec := core.Spec{Workload: core.WorkloadSpec{Operations: []core.OperationSpec{{Name: "op", SQL: "SELECT 1"}}}}
		m := &runMeter{mr: orchestrator.MeterRun{RunID: "r1", Spec: spec, Store: store.NewMemory()},
			counter: cost.Count(store.NewMemory()), conn: conn}

		t0 := time.Now()
		m.Measure(t0)
		if d := time.Since(t0); d != 0 {
			t.Errorf("Measure held the run's goroutine %v on a hung target", d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		res := &core.Result{RunID: "r1", StartedAt: t0, EndedAt: t0.Add(time.Second)}
		m.Finish(ctx, res)
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("Finish took %v, past its 2 s context", d)
		}
		if res.Server == nil || res.Server.Status != core.EnrichFailed || res.Server.Reason == "" {
			t.Errorf("server section %+v, want FAILED saying the read did not end in time", res.Server)
		}
		synctest.Wait()
		time.Sleep(meterTimeout) // the hung read's own timeout, in virtual time
		synctest.Wait()
		if !conn.closed.Load() {
			t.Error("the meter's session was never closed")
		}
	})
}
