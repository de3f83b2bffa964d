package report

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/unistore-bench/unistore/core"
)

// Compare writes per-operation deltas of QPS and latency percentiles from
// run a to run b: each cell is "A → B (±x%)".
func Compare(w io.Writer, a, b *core.Result) error {
	fmt.Fprintf(w, "A: %s %s (%d connections, %.1fs)\nB: %s %s (%d connections, %.1fs)\n",
		a.RunID, a.Name, a.Connections, a.MeasuredSeconds, b.RunID, b.Name, b.Connections, b.MeasuredSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "operation\tqps\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\terrors")
	names := map[string]bool{}
	for n := range a.Operations {
		names[n] = true
	}
	for n := range b.Operations {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	row := func(name string, x, y core.OpStats) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d → %d\n", name, delta(x.QPS, y.QPS, 1),
			delta(x.Latency.P50, y.Latency.P50, 3), delta(x.Latency.P90, y.Latency.P90, 3),
			delta(x.Latency.P99, y.Latency.P99, 3), delta(x.Latency.P999, y.Latency.P999, 3),
			delta(x.Latency.Max, y.Latency.Max, 3), x.Errors, y.Errors)
	}
	for _, n := range sorted {
		row(n, a.Operations[n], b.Operations[n])
	}
	row("TOTAL", a.Total, b.Total)
	return tw.Flush()
}

// Delta returns the relative change from a to b in percent (0 when a is 0).
func Delta(a, b float64) float64 {
	if a == 0 {
		return 0
	}
	return (b - a) / a * 100
}

func delta(a, b float64, prec int) string {
	if a == 0 {
		return fmt.Sprintf("%.*f → %.*f", prec, a, prec, b)
	}
	return fmt.Sprintf("%.*f → %.*f (%+.1f%%)", prec, a, prec, b, Delta(a, b))
}
