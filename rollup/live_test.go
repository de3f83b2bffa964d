package rollup_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
)

// TestLiveTotalAndWorkers: a Live merge carries the total's every
// percentile, each worker's rate and the merged histograms, and a row is
// merged once however often it is polled.
func TestLiveTotalAndWorkers(t *testing.T) {
	base := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	var rows []store.Snapshot
	direct := metrics.NewHistogram()
	for w := range 2 {
		h := metrics.NewHistogram()
		n := int64(500 * (w + 1))
		for k := range n {
			_ = h.RecordValue(100 + k)
		}
		direct.Merge(h)
		enc, _ := metrics.Encode(h)
		rows = append(rows, store.Snapshot{WorkerID: fmt.Sprintf("worker-%d", w), Phase: core.PhaseMeasurement,
			Operation: "op", IntervalStart: base, IntervalEnd: base.Add(time.Second), Count: n, Histogram: enc})
	}
	l := rollup.NewLive()
	p, ok := l.Add(rows, base.Add(time.Second), 10*time.Second)
	if !ok {
		t.Fatal("no progress from new rows")
	}
	if diff := cmp.Diff(metrics.Latency(direct), p.Total.Latency); diff != "" {
		t.Errorf("total latency differs from a direct merge (-want +got):\n%s", diff)
	}
	if p.P50 != p.Total.Latency.P50 || p.P99 != p.Total.Latency.P99 || p.Total.Count != 1500 {
		t.Errorf("p50 %v p99 %v count %d, want the total's %v %v 1500", p.P50, p.P99, p.Total.Count, p.Total.Latency.P50, p.Total.Latency.P99)
	}
	if want := map[string]float64{"worker-0": 500, "worker-1": 1000}; !cmp.Equal(p.WorkerQPS, want) {
		t.Errorf("worker qps %v, want %v", p.WorkerQPS, want)
	}
	if p.Snapshot == nil || p.Snapshot.Ops[0].Service.TotalCount() != 1500 || !p.Snapshot.End.Equal(base.Add(time.Second)) {
		t.Errorf("snapshot %+v, want one op holding 1500 values, ending at the rows' end", p.Snapshot)
	}
	if _, ok := l.Add(rows, base.Add(2*time.Second), 10*time.Second); ok {
		t.Error("rows already merged were merged again")
	}
}
