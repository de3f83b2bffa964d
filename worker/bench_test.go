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
	for _, model := range []struct {
		name string
		rate float64
	}{{"closed", 0}, {"open", 1}} {
		b.Run(model.name, func(b *testing.B) {
			lo, hi := int64(1), int64(1_000_000)
			theta := 0.99
			wl, err := workload.Compile(core.WorkloadSpec{Operations: []core.OperationSpec{
				{Name: "point", SQL: "SELECT ? ", Params: []core.ParamSpec{{Gen: "zipfian", Min: &lo, Max: &hi, Theta: theta}}},
				{Name: "upd", SQL: "UPDATE t SET v = ? WHERE id = ?", Params: []core.ParamSpec{{Gen: "uniform", Min: &lo, Max: &hi}, {Gen: "uniform", Min: &lo, Max: &hi}}},
				{Name: "ins", SQL: "INSERT INTO t VALUES (?, ?, ?)", Params: []core.ParamSpec{{Gen: "sequence"}, {Gen: "string", MinLen: 8, MaxLen: 16}, {Gen: "now"}}},
			}})
			if err != nil {
				b.Fatal(err)
			}
			// The loop is built by hand: no connector, a statement that does nothing.
			w := &Worker{cfg: Config{Connections: 1, Rate: model.rate, Seed: 1, Workload: wl}, ops: wl.Operations()}
			w.mix = workload.NewMix(w.ops)
			l := &loop{stmts: []driver.Stmt{nopStmt{}, nopStmt{}, nopStmt{}}, args: make([]core.Value, 0, 16)}
			l.l = workload.Loop{Seed: 1, Groups: 1, Rand: workload.NewRand(1, 0, 0)}
			l.src = wl.NewSource(l.l)
			l.rec = metrics.NewRecorder(len(w.ops), model.rate > 0)
			ctx := context.Background()
			var intended time.Time
			if model.rate > 0 {
				intended = time.Now()
			}
			b.ReportAllocs()
			for b.Loop() {
				w.once(ctx, l, intended)
			}
		})
	}
}
