package store_test

import (
	"fmt"
	"testing"

	"github.com/unistore-bench/unistore/store"
)

func benchmarkWriteExecutions(b *testing.B, st store.Store) {
	for _, batch := range []int{500, 5000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := ctxT(b)
			rows := executions("bench", batch)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := st.WriteExecutions(ctx, rows); err != nil {
					b.Fatal(err)
				}
				n += len(rows)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkCopyExecutions measures execution rows per second into
// PostgreSQL with COPY (WriteExecutions).
func BenchmarkCopyExecutions(b *testing.B) {
	benchmarkWriteExecutions(b, open(b, pgDSN(b)))
}

// BenchmarkInsertExecutionsSQLite is the same through multi-row INSERTs
// into the SQLite store.
func BenchmarkInsertExecutionsSQLite(b *testing.B) {
	benchmarkWriteExecutions(b, open(b, sqliteDSN(b)))
}
