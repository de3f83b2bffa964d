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

// TestIntervalsMergeWorkers: three workers whose 1 s intervals are offset
// from each other; each bucket holds one interval of each, merged exactly.
func TestIntervalsMergeWorkers(t *testing.T) {
	base := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	var rows []store.Snapshot
	direct := map[int]*metrics.Op{} // bucket → direct merge
	var total int64
	for w := range 3 {
		offset := time.Duration(w) * 150 * time.Millisecond
		for i := range 4 {
			h := metrics.NewHistogram()
			n := int64(1000 * (w + 1))
			for k := range n {
				_ = h.RecordValue(50 + k*int64(i+1))
			}
			enc, _ := metrics.Encode(h)
			rows = append(rows, store.Snapshot{WorkerID: fmt.Sprintf("worker-%d", w), Phase: core.PhaseMeasurement,
				Operation: "op", IntervalStart: base.Add(offset + time.Duration(i)*time.Second),
				IntervalEnd: base.Add(offset + time.Duration(i+1)*time.Second), Count: n, Histogram: enc})
			if direct[i] == nil {
				direct[i] = &metrics.Op{Service: metrics.NewHistogram()}
			}
			if err := direct[i].Merge(&metrics.Op{Count: n, Service: h}); err != nil {
				t.Fatal(err)
			}
			total += n
		}
	}
	ivs, err := rollup.Intervals(store.Run{}, rows, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(ivs) != 4 {
		t.Fatalf("%d buckets, want 4", len(ivs))
	}
	var sum int64
	for i, iv := range ivs {
		if iv.Workers != 3 {
			t.Errorf("bucket %d: %d workers, want 3", i, iv.Workers)
		}
		if diff := cmp.Diff(metrics.Latency(direct[i].Service), iv.Total.Latency); diff != "" {
			t.Errorf("bucket %d latency differs from a direct merge (-want +got):\n%s", i, diff)
		}
		if iv.Total.Count != direct[i].Count || iv.Total.QPS != float64(direct[i].Count) {
			t.Errorf("bucket %d: count %d qps %v, want %d", i, iv.Total.Count, iv.Total.QPS, direct[i].Count)
		}
		sum += iv.Total.Count
	}
	if sum != total {
		t.Errorf("buckets hold %d executions, rows %d", sum, total)
	}
}
