package report_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/report"
	"github.com/unistore-bench/unistore/store"
)

// rows makes stored snapshot rows: two operations over three intervals.
func rows(t *testing.T) ([]store.Snapshot, map[string]int64) {
	t.Helper()
	base := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	var out []store.Snapshot
	counts := map[string]int64{}
	for i := range 3 {
		for j, op := range []string{"select", "update"} {
			h := metrics.NewHistogram()
			n := int64(100 * (i + 1) * (j + 1))
			for k := range n {
				_ = h.RecordValue(100 + k)
			}
			enc, err := metrics.Encode(h)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, store.Snapshot{RunID: "r1", WorkerID: "worker-0", Phase: core.PhaseMeasurement, Operation: op,
				IntervalStart: base.Add(time.Duration(i) * time.Second), IntervalEnd: base.Add(time.Duration(i+1) * time.Second),
				Count: n, Histogram: enc})
			counts[op] += n
		}
	}
	return out, counts
}

// TestExportHDRReadable: the interval log reads back with the standard
// HdrHistogram log reader, every interval and count intact.
func TestExportHDRReadable(t *testing.T) {
	snaps, counts := rows(t)
	var buf bytes.Buffer
	run := store.Run{ID: "r1", Name: "demo", StartedAt: snaps[0].IntervalStart}
	if err := report.ExportHDR(&buf, run, snaps); err != nil {
		t.Fatal(err)
	}
	r := hdr.NewHistogramLogReader(&buf)
	got := map[string]int64{}
	intervals := 0
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		intervals++
		got[h.Tag()] += h.TotalCount()
		if h.Max() < 100 {
			t.Errorf("interval %s: max %d µs, want the recorded values", h.Tag(), h.Max())
		}
	}
	if intervals != len(snaps) {
		t.Errorf("read %d intervals, wrote %d", intervals, len(snaps))
	}
	for op, n := range counts {
		if got[op] != n {
			t.Errorf("%s: %d values read back, %d written", op, got[op], n)
		}
	}
}

func TestExportCSV(t *testing.T) {
	snaps, _ := rows(t)
	var buf bytes.Buffer
	if err := report.ExportCSV(&buf, snaps); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(snaps)+1 || recs[0][5] != "operation" || recs[0][6] != "count" {
		t.Fatalf("csv: %d records, header %v", len(recs), recs[0])
	}
	if recs[1][5] != "select" || recs[1][6] != "100" || recs[1][8] != "100" {
		t.Errorf("first row %v: want select, count 100, qps 100", recs[1])
	}
}

func TestCompareDeltas(t *testing.T) {
	a := &core.Result{RunID: "a", Total: core.OpStats{QPS: 1000, Latency: core.Latency{P99: 2}},
		Operations: map[string]core.OpStats{"select": {QPS: 1000, Latency: core.Latency{P99: 2}}}}
	b := &core.Result{RunID: "b", Total: core.OpStats{QPS: 1500, Latency: core.Latency{P99: 1}},
		Operations: map[string]core.OpStats{"select": {QPS: 1500, Latency: core.Latency{P99: 1}}}}
	var buf bytes.Buffer
	if err := report.Compare(&buf, a, b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1000.0 → 1500.0 (+50.0%)", "2.000 → 1.000 (-50.0%)", "TOTAL"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("compare output lacks %q:\n%s", want, buf.String())
		}
	}
}
