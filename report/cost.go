package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/unistore-bench/unistore/core"
)

// Cost writes a run's cost section: warehouse credits (estimated or
// metered), credits per 1,000 successful operations, dollars when a
// price per credit is set, the notes, and the control plane's writes.
func Cost(w io.Writer, c *core.CostStats) error {
	if c == nil {
		return nil
	}
	switch c.Source {
	case "none":
		fmt.Fprintln(w, "cost: no warehouse billing on this target")
	default:
		fmt.Fprintf(w, "cost (%s): warehouse %s size %s, up to %d cluster(s), %.0f cluster-s billed of %.1fs wall: %.6f credits, %.6f per 1k ok ops",
			c.Source, c.Warehouse, c.Size, c.ClustersMax, c.BilledSeconds, c.WallSeconds, c.Credits, c.CreditsPer1kOps)
		if c.PricePerCredit > 0 {
			fmt.Fprintf(w, ", $%.4f at $%.2f/credit", c.Dollars, c.PricePerCredit)
		}
		if c.Source == "metered" {
			fmt.Fprintf(w, " (estimate was %.6f)", c.EstimatedCredits)
		}
		fmt.Fprintln(w)
		if e := c.Enrichment; e != nil {
			fmt.Fprintf(w, "  metered credits: %s — %s\n", e.Status, e.Reason)
		}
		for _, n := range c.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
	}
	p := c.ControlPlane
	fmt.Fprintf(w, "control plane (%s store): %d writes (%d run status, %d events, %d heartbeats%s, %d snapshot rows), %.1f per worker-minute over %.2f worker-minutes",
		cmpOr(p.Store, "?"), p.Writes, p.RunStatus, p.Events, p.Heartbeats, estimatedFor(p),
		p.SnapshotRows, p.WritesPerWorkerMin, p.WorkerMinutes)
	if p.Model != "" {
		fmt.Fprintf(w, ": %.6f credits", p.Credits)
		if p.Dollars > 0 {
			fmt.Fprintf(w, " ($%.4f)", p.Dollars)
		}
	}
	fmt.Fprintln(w)
	if p.Model != "" {
		fmt.Fprintf(w, "  model: %s\n", p.Model)
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Server writes the server's figures beside the client's, per
// operation, with the client-minus-server gap ("app overhead").
func Server(w io.Writer, s *core.ServerStats) error {
	if s == nil {
		return nil
	}
	fmt.Fprintf(w, "server (%s): %s", s.Source, s.Status)
	if s.Reason != "" {
		fmt.Fprintf(w, " — %s", s.Reason)
	}
	fmt.Fprintln(w)
	if s.Status != core.EnrichCompleted || len(s.Operations) == 0 {
		return nil
	}
	names := make([]string, 0, len(s.Operations))
	for n := range s.Operations {
		names = append(names, n)
	}
	slices.Sort(names)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tserver calls\tclient ok\tdiff\tserver mean ms\tclient mean ms\toverhead mean ms\tserver p50\tserver p99\toverhead p99\tserver max ms\tthrottled\t")
	for _, n := range names {
		o := s.Operations[n]
		maxs := ms(o.MaxMS)
		if !o.MaxExact {
			maxs = "≤" + maxs
		}
		p50, p99, op99 := "-", "-", "-"
		if o.P50MS > 0 || o.P99MS > 0 {
			p50, p99, op99 = ms(o.P50MS), ms(o.P99MS), ms(o.AppOverheadP99MS)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%+d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", n, o.Calls, o.ClientCalls, o.CallsDiff,
			ms(o.MeanMS), ms(o.ClientMeanMS), ms(o.AppOverheadMeanMS), p50, p99, op99, strings.TrimSpace(maxs), o.Throttled)
	}
	return tw.Flush()
}

// estimatedFor says whose heartbeats were derived, not counted.
func estimatedFor(p core.ControlPlaneCost) string {
	switch {
	case !p.HeartbeatsEstimated:
		return ""
	case len(p.EstimatedWorkers) == 0:
		return " derived"
	}
	return " (derived for " + strings.Join(p.EstimatedWorkers, ", ") + ": started elsewhere or killed; the rest counted)"
}
