package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
)

// ExportHDR writes stored snapshot rows in the HdrHistogram interval-log
// format (version 1.3), readable by HistogramLogProcessor and every
// HdrHistogram log reader: one tagged interval line per worker, operation
// and interval, tagged "OPERATION" (service time, successes),
// "OPERATION.response" (open model, from the intended start) and
// "OPERATION.errors"; a warm-up row's tags begin "warmup:", so warm-up
// samples never mix with measurement ones under one tag. Values are
// microseconds; the max column is in milliseconds. Timestamps are seconds
// from the earliest row written — never negative — which the StartTime and
// BaseTime headers give to the millisecond. Which rows to write is the
// caller's choice (unistore.Export: the measurement's, unless every
// phase is asked for).
func ExportHDR(w io.Writer, run store.Run, rows []store.Snapshot) error {
	base := run.StartedAt
	for i, r := range rows {
		if i == 0 || r.IntervalStart.Before(base) {
			base = r.IntervalStart
		}
	}
	base = time.UnixMilli(base.UnixMilli()).UTC() // the headers' precision: offsets stay ≥ 0
	secs := float64(base.UnixMilli()) / 1000
	if _, err := fmt.Fprintf(w, "#unistore run %s (%s): latency in microseconds; tags are operations, warm-up's prefixed \"warmup:\"\n"+
		"#[Histogram log format version %s]\n"+
		"#[StartTime: %.3f (seconds since epoch), %s]\n"+
		"#[BaseTime: %.3f (seconds since epoch)]\n"+
		"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
		run.ID, run.Name, hdr.HISTOGRAM_LOG_FORMAT_VERSION, secs, base.Format("2006-01-02T15:04:05.000Z07:00"), secs); err != nil {
		return err
	}
	for _, r := range rows {
		prefix := ""
		if r.Phase != core.PhaseMeasurement {
			prefix = strings.ToLower(string(r.Phase)) + ":"
		}
		for _, h := range []struct{ tag, enc string }{
			{r.Operation, r.Histogram}, {r.Operation + ".response", r.ResponseHistogram}, {r.Operation + ".errors", r.ErrorHistogram},
		} {
			if h.enc == "" {
				continue
			}
			hist, err := metrics.Decode(h.enc)
			if err != nil {
				return err
			}
			start := r.IntervalStart.Sub(base).Seconds()
			length := r.IntervalEnd.Sub(r.IntervalStart).Seconds()
			if _, err := fmt.Fprintf(w, "Tag=%s,%.3f,%.3f,%.3f,%s\n", tagSafe(prefix+h.tag), start, length,
				float64(hist.Max())/1000, h.enc); err != nil {
				return err
			}
		}
	}
	return nil
}

// tagSafe replaces what the log format forbids in a tag.
func tagSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == ',' || c == ' ' || c == '\r' || c == '\n' {
			b[i] = '_'
		}
	}
	return string(b)
}

// SnapshotStats is one stored snapshot row with its statistics, as
// ExportJSON and ExportCSV write it.
type SnapshotStats struct {
	WorkerID      string           `json:"worker_id"`
	Group         int              `json:"group"`
	Phase         core.Phase       `json:"phase"`
	Operation     string           `json:"operation"`
	IntervalStart time.Time        `json:"interval_start"`
	IntervalEnd   time.Time        `json:"interval_end"`
	Count         int64            `json:"count"`
	Errors        int64            `json:"errors"`
	ErrorsByClass map[string]int64 `json:"errors_by_class,omitempty"`
	QPS           float64          `json:"qps"`
	Latency       core.Latency     `json:"latency_ms"`
	Response      *core.Latency    `json:"response_ms,omitempty"`
}

// Stats computes a row's statistics from what rollup.Decode, the one
// decoder of stored snapshots, makes of it.
func Stats(r store.Snapshot) (SnapshotStats, error) {
	s := SnapshotStats{WorkerID: r.WorkerID, Group: r.Group, Phase: r.Phase, Operation: r.Operation,
		IntervalStart: r.IntervalStart, IntervalEnd: r.IntervalEnd, Count: r.Count, Errors: r.Errors.Total(),
		ErrorsByClass: r.Errors.Map()}
	if secs := r.IntervalEnd.Sub(r.IntervalStart).Seconds(); secs > 0 {
		s.QPS = float64(r.Count) / secs
	}
	op, err := rollup.Decode(r)
	if err != nil {
		return s, err
	}
	s.Latency = metrics.Latency(op.Service)
	if op.Response != nil {
		l := metrics.Latency(op.Response)
		s.Response = &l
	}
	return s, nil
}

// ExportJSON writes {"result": res, "snapshots": [...]}.
func ExportJSON(w io.Writer, res *core.Result, rows []store.Snapshot) error {
	out := struct {
		Result    *core.Result    `json:"result"`
		Snapshots []SnapshotStats `json:"snapshots"`
	}{Result: res, Snapshots: make([]SnapshotStats, 0, len(rows))}
	for _, r := range rows {
		s, err := Stats(r)
		if err != nil {
			return err
		}
		out.Snapshots = append(out.Snapshots, s)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// ExportCSV writes one line per stored snapshot row, with a header.
func ExportCSV(w io.Writer, rows []store.Snapshot) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"interval_start", "interval_end", "phase", "worker_id", "group", "operation", "count", "errors",
		"qps", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, r := range rows {
		s, err := Stats(r)
		if err != nil {
			return err
		}
		l := s.Latency
		_ = cw.Write([]string{s.IntervalStart.Format(time.RFC3339Nano), s.IntervalEnd.Format(time.RFC3339Nano), string(s.Phase),
			s.WorkerID, strconv.Itoa(s.Group), s.Operation, strconv.FormatInt(s.Count, 10), strconv.FormatInt(s.Errors, 10),
			f(s.QPS), f(l.Mean), f(l.P50), f(l.P90), f(l.P95), f(l.P99), f(l.P999), f(l.Max)})
	}
	cw.Flush()
	return cw.Error()
}
