package worker

import (
	"context"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/store"
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

// BenchmarkCapture measures what capture all adds to a loop's turn, on the
// loop: the turn of BenchmarkLoopOverhead's select mix with the execution
// built, staged and handed to a store writer whose flush does nothing
// (the COPY encoding is store/postgres's BenchmarkEncodeExecutions; the
// writer's goroutine runs on another P). Compare with capture=none.
func BenchmarkCapture(b *testing.B) {
	lo, hi := int64(1), int64(1_000_000)
	ops := []core.OperationSpec{{Name: "select", SQL: "SELECT abalance FROM pgbench_accounts WHERE aid = ?",
		Params: []core.ParamSpec{{Gen: "uniform", Min: &lo, Max: &hi}}}}
	for _, mode := range []string{"none", "all"} {
		b.Run(mode, func(b *testing.B) {
			wl, err := workload.Compile(core.WorkloadSpec{Operations: ops})
			if err != nil {
				b.Fatal(err)
			}
			capture, _ := core.ParseCapture(mode)
			w := &Worker{cfg: Config{Connections: 1, Seed: 1, Workload: wl, Capture: capture, RunID: "run", WorkerID: "worker-0"},
				ops: wl.Operations(), names: []string{"select"}}
			w.mix = workload.NewMix(w.ops)
			if mode != "none" {
				w.execs = store.NewWriter(func(context.Context, []store.Execution) error { return nil }, store.WriterConfig{})
				defer w.execs.Close(context.Background())
			}
			l := &loop{stmts: []driver.Stmt{nopStmt{}}, args: make([]core.Value, 0, 16)}
			l.l = workload.Loop{Seed: 1, Groups: 1, Rand: workload.NewRand(1, 0, 0)}
			l.src = wl.NewSource(l.l)
			l.rec = metrics.NewRecorder(1, false)
			ctx := context.Background()
			w.started = time.Now()
			b.ReportAllocs()
			for b.Loop() {
				w.once(ctx, l, closedLoop)
			}
		})
	}
}
