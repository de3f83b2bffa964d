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
	if t := r.ConnectionsTarget; t != nil && (len(t.Changes) > 0 || t.TotalStart != t.Start) {
		fmt.Fprintf(w, "\nconnections per worker: %d at the start, %d at the end, %d at most; across %d workers: %d, %d, %d at most",
			t.Start, t.Final, t.Max, max(r.Workers.Target, 1), t.TotalStart, t.TotalFinal, t.TotalMax)
		if n := len(t.Changes); n > 0 {
			fmt.Fprintf(w, " (%d scale", n)
			if n > 1 {
				fmt.Fprint(w, "s")
			}
			fmt.Fprint(w, ")")
		}
	}
	fmt.Fprintf(w, "\nmeasured %.1fs (warm-up %.1fs: %d ops, %d errors)\n", r.MeasuredSeconds, r.Warmup.Seconds, r.Warmup.Count, r.Warmup.Errors)
	if wu := r.Warmup; wu.ConfiguredSeconds > 0 && wu.Seconds-wu.ConfiguredSeconds >= 0.05 {
		fmt.Fprintf(w, "warm-up ran %.2fs for %.2fs configured: workers load from the moment they join, and the configured time "+
			"counts from when the last had joined; the phase change then reaches each within a poll\n", wu.Seconds, wu.ConfiguredSeconds)
	}
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
		fmt.Fprintf(w, "open model at %s/s: %d starts intended", strconv.FormatFloat(r.Rate, 'f', -1, 64), o.Intended)
		if o.CarriedIn > 0 {
			fmt.Fprintf(w, " (%d carried over from warm-up)", o.CarriedIn)
		}
		fmt.Fprintf(w, ", %d started, %d skipped, %d still waiting at the end; %d late (> %s ms)\n",
			o.Started, o.Skipped, o.Pending, o.Late, strconv.FormatFloat(o.LateThresholdMS, 'f', -1, 64))
		if o.Behind {
			fmt.Fprintf(w, "THE CLIENT COULD NOT KEEP THE RATE: %d of %d intended starts (%.1f%%) never ran (%d skipped, %d still waiting); "+
				"response times cover only the starts that ran. Add connections or lower the rate.\n",
				o.Skipped+o.Pending, o.Intended, 100*float64(o.Skipped+o.Pending)/float64(max(o.Intended, 1)), o.Skipped, o.Pending)
		}
	}
	if len(r.Total.ErrorsByClass) > 0 {
		fmt.Fprintf(w, "errors by class: %s\n", errorClasses(r.Total.ErrorsByClass))
	}
	storeLine(w, r)
	WarmupDecision(w, r.WarmupDecision)
	SLO(w, r.SLO)
	if err := Cost(w, r.Cost); err != nil {
		return err
	}
	return Server(w, r.Server)
}

// storeLine says what did not reach the results store, when anything did
// not: rows dropped, rows spooled, a final status spooled — and whether
// `runs recover` has loaded the spool since.
func storeLine(w io.Writer, r *core.Result) {
	st := r.Store
	if st == nil {
		st = &core.StoreStats{}
	}
	if r.RowsDropped == 0 && r.RowsSpooled == 0 && !st.StatusSpooled {
		return
	}
	var parts []string
	if r.RowsSpooled > 0 {
		parts = append(parts, fmt.Sprintf("%d rows spooled (%d snapshots, %d executions)", r.RowsSpooled, st.SnapshotsSpooled, st.ExecutionsSpooled))
	}
	if st.StatusSpooled {
		parts = append(parts, "final status spooled")
	}
	if r.RowsDropped > 0 {
		parts = append(parts, fmt.Sprintf("%d rows dropped", r.RowsDropped))
	}
	fmt.Fprintf(w, "store: not fully recorded: %s", strings.Join(parts, ", "))
	switch {
	case st.RecoveredAt != nil:
		fmt.Fprintf(w, "; the spool was loaded by `unistore runs recover` at %s", st.RecoveredAt.Local().Format("2006-01-02 15:04:05"))
	case r.RowsSpooled > 0 || st.StatusSpooled:
		fmt.Fprintf(w, " to %s; `unistore runs recover` loads them once the store is back", st.SpoolDir)
	}
	fmt.Fprintln(w)
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
