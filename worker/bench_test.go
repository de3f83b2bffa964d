package worker

import (
	"context"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/workload"
)

type nopStmt struct{}

func (nopStmt) Exec(context.Context, []core.Value) (int64, error) { return 1, nil }

// BenchmarkLoopOverhead measures one turn of a loop without the driver:
// pick an operation, generate its parameters, take the two timestamps,
// record. The target is ≤ 200 ns and 0 allocations per operation.
func BenchmarkLoopOverhead(b *testing.B) {
	lo, hi := int64(1), int64(1_000_000)
	mixes := []struct {
		name string
		ops  []core.OperationSpec
	}{
		// pgbench -S: one operation, one uniform parameter.
		{"select", []core.OperationSpec{
			{Name: "select", SQL: "SELECT abalance FROM pgbench_accounts WHERE aid = ?", Params: []core.ParamSpec{{Gen: "uniform", Min: &lo, Max: &hi}}},
		}},
		// A mix of three operations using zipfian, uniform, sequence, string and now.
		{"mixed", []core.OperationSpec{
			{Name: "point", SQL: "SELECT ? ", Params: []core.ParamSpec{{Gen: "zipfian", Min: &lo, Max: &hi, Theta: 0.99}}},
			{Name: "upd", SQL: "UPDATE t SET v = ? WHERE id = ?", Params: []core.ParamSpec{{Gen: "uniform", Min: &lo, Max: &hi}, {Gen: "uniform", Min: &lo, Max: &hi}}},
			{Name: "ins", SQL: "INSERT INTO t VALUES (?, ?, ?)", Params: []core.ParamSpec{{Gen: "sequence"}, {Gen: "string", MinLen: 8, MaxLen: 16}, {Gen: "now"}}},
		}},
	}
	for _, mix := range mixes {
		for _, model := range []struct {
			name string
			rate float64
		}{{"closed", 0}, {"open", 1}} {
			b.Run(mix.name+"/"+model.name, func(b *testing.B) {
				benchLoop(b, mix.ops, model.rate)
			})
		}
	}
}

func benchLoop(b *testing.B, ops []core.OperationSpec, rate float64) {
	wl, err := workload.Compile(core.WorkloadSpec{Operations: ops})
	if err != nil {
		b.Fatal(err)
	}
	// The loop is built by hand: no connector, statements that do nothing.
	w := &Worker{cfg: Config{Connections: 1, Rate: rate, Seed: 1, Workload: wl}, ops: wl.Operations()}
	w.mix = workload.NewMix(w.ops)
	l := &loop{stmts: make([]driver.Stmt, len(ops)), args: make([]core.Value, 0, 16)}
	for i := range l.stmts {
		l.stmts[i] = nopStmt{}
	}
	l.l = workload.Loop{Seed: 1, Groups: 1, Rand: workload.NewRand(1, 0, 0)}
	l.src = wl.NewSource(l.l)
	l.rec = metrics.NewRecorder(len(w.ops), rate > 0)
	ctx := context.Background()
	w.started = time.Now()
	intended := closedLoop
	if rate > 0 {
		intended = 0
	}
	b.ReportAllocs()
	for b.Loop() {
		w.once(ctx, l, intended)
	}
}
