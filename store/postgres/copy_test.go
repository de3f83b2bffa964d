package postgres

import (
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// BenchmarkEncodeExecutions: the client's cost of turning one captured
// execution into binary COPY data (per row, in batches of 2000).
func BenchmarkEncodeExecutions(b *testing.B) {
	rows := make([]store.Execution, 2000)
	t0 := time.Now()
	for i := range rows {
		rows[i] = store.Execution{RunID: "20260101-000000-abcdef", WorkerID: "worker-0", Connection: i % 16, Operation: "select_balance",
			Phase: core.PhaseMeasurement, StartedAt: t0, EndedAt: t0.Add(time.Millisecond), OK: true, RowsAffected: 1}
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendExecutionsCopy(buf[:0], rows)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
	b.ReportMetric(float64(len(buf))/float64(len(rows)), "bytes/row")
}
