// Package report formats run results for people: the end-of-run table and
// the once-a-second progress line. The CLI and the HTTP adapter share it.
package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/unistore-bench/unistore/core"
)

// Summary writes a per-operation table of a result's measurement phase,
// then a TOTAL row, then a line on warm-up and, in open-model runs, the
// start counts.
func Summary(w io.Writer, r *core.Result) error {
	fmt.Fprintf(w, "run %s  %s  status %s  driver %s  connections %d", r.RunID, r.Name, r.Status, r.Driver, r.Connections)
	if len(r.TargetSettings) > 0 {
		keys := make([]string, 0, len(r.TargetSettings))
		for k := range r.TargetSettings {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s %s", k, r.TargetSettings[k])
		}
	}
	fmt.Fprintf(w, "\nmeasured %.1fs (warm-up %.1fs: %d ops, %d errors)\n", r.MeasuredSeconds, r.Warmup.Seconds, r.Warmup.Count, r.Warmup.Errors)
	if r.Error != "" {
		fmt.Fprintf(w, "error: %s\n", r.Error)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tcount\tqps\tmean ms\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\t")
	names := make([]string, 0, len(r.Operations))
	for n := range r.Operations {
		names = append(names, n)
	}
	slices.Sort(names)
	row := func(name string, s core.OpStats) {
		l := s.Latency
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", name, s.Count, s.QPS,
			ms(l.Mean), ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), s.Errors)
	}
	for _, n := range names {
		row(n, r.Operations[n])
	}
	row("TOTAL", r.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	if rl := r.Total.Response; rl != nil {
		fmt.Fprintf(w, "response time from intended start (ms): mean %s p50 %s p90 %s p99 %s p99.9 %s max %s\n",
			ms(rl.Mean), ms(rl.P50), ms(rl.P90), ms(rl.P99), ms(rl.P999), ms(rl.Max))
	}
	if o := r.Open; o != nil {
		fmt.Fprintf(w, "open model at %.0f/s: %d starts intended, %d started, %d late (> %.0f ms), %d skipped\n",
			r.Rate, o.Intended, o.Started, o.Late, o.LateThresholdMS, o.Skipped)
	}
	if len(r.Total.ErrorsByClass) > 0 {
		fmt.Fprintf(w, "errors by class: %s\n", errorClasses(r.Total.ErrorsByClass))
	}
	WarmupDecision(w, r.WarmupDecision)
	SLO(w, r.SLO)
	return nil
}

func ms(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// ProgressLine formats one progress line.
func ProgressLine(elapsed time.Duration, phase core.Phase, qps, p50, p99 float64, errors int64) string {
	return fmt.Sprintf("%6.1fs %-11s qps %9.1f  p50 %8.3f ms  p99 %8.3f ms  errors %d",
		elapsed.Seconds(), phase, qps, p50, p99, errors)
}

// errorClasses formats error counts as the summary's other lines are:
// "connection 4, timeout 2", most frequent first, then by name.
func errorClasses(m map[string]int64) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " " + strconv.FormatInt(m[n], 10)
	}
	return strings.Join(parts, ", ")
}
