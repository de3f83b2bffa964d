package report

// SLO verdicts, warm-up decisions, find-max steps and regression verdicts,
// for people.

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/unistore-bench/unistore/core"
)

// SLO writes one line per objective: PASS or FAIL, scope, objective,
// observed against threshold. Nothing for none.
func SLO(w io.Writer, vs []core.SLOVerdict) {
	for _, v := range vs {
		verdict := "PASS"
		if !v.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "slo %s  %s %s: observed %s, threshold %s\n", verdict, v.Scope, v.Objective,
			SLOValue(v.Objective, v.Observed), SLOValue(v.Objective, v.Threshold))
	}
}

// SLOValue formats an objective's value with its unit.
func SLOValue(objective string, v float64) string {
	switch objective {
	case core.ObjectiveErrorRate:
		return strconv.FormatFloat(v*100, 'g', 4, 64) + "%"
	case core.ObjectiveMinQPS:
		return strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	}
	return strconv.FormatFloat(v, 'f', 3, 64) + " ms"
}

// WarmupDecision writes how the warm-up ended; nothing for none.
func WarmupDecision(w io.Writer, d *core.WarmupDecision) {
	if d == nil {
		return
	}
	switch d.EndedBy {
	case core.WarmupEndedBySteady:
		fmt.Fprintf(w, "warm-up ended steady after %.1fs (per-second QPS CV %.1f%%, p99 CV %.1f%%)\n",
			d.AfterSeconds, 100*d.QPSCV, 100*d.P99CV)
	case core.WarmupEndedByMax:
		fmt.Fprintf(w, "warm-up ended at its maximum, %.1fs, never steady\n", d.AfterSeconds)
	}
}

// Step is what FindMaxSteps prints of one step.
type Step struct {
	Step        int
	Rate        float64
	Connections int
	QPS         float64
	P50, P99    float64
	ErrorRate   float64
	Achieved    float64
	Verdict     string
	Note        string
}

// FindMaxSteps writes the step history as a table.
func FindMaxSteps(w io.Writer, steps []Step) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\trate\tconnections\tqps\tp50 ms\tp99 ms\terrors\tachieved\tverdict\t")
	for _, s := range steps {
		rate, achieved := "-", "-"
		if s.Rate > 0 {
			rate = strconv.FormatFloat(s.Rate, 'f', 1, 64)
		}
		if s.Achieved > 0 {
			achieved = strconv.FormatFloat(100*s.Achieved, 'f', 1, 64) + "%"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t\n", s.Step, rate, s.Connections, s.QPS, ms(s.P50), ms(s.P99),
			SLOValue(core.ObjectiveErrorRate, s.ErrorRate), achieved, s.Verdict)
	}
	return tw.Flush()
}

// Figure is what Verdicts prints of one figure's comparison.
type Figure struct {
	Scope, Figure  string
	Base, New      float64
	Change, Lo, Hi float64 // fractions
	Verdict, Note  string
	Detail         string // what the method saw, e.g. "blocks 2/3"
}

// Verdicts writes the per-figure verdicts as a table, after lines naming
// the method, the confidence, the threshold and the figures that gate
// (whose REGRESSION fails the command).
func Verdicts(w io.Writer, base, newRun, method string, threshold, confidence float64, gate []string, figs []Figure) error {
	fmt.Fprintf(w, "base %s, new %s\nmethod: %s\n%.0f%% confidence interval of the change; threshold %s; a REGRESSION in %s fails\n", base, newRun, method,
		100*confidence, SLOValue(core.ObjectiveErrorRate, threshold), strings.Join(gate, ", "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scope\tfigure\tbase\tnew\tchange\tconfidence interval\tverdict\tdetail")
	for _, f := range figs {
		if f.Note != "" {
			fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t-\t-\t%s\t%s\n", f.Scope, f.Figure, f.Base, f.New, f.Verdict, f.Note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t%+.1f%%\t[%+.1f%%, %+.1f%%]\t%s\t%s\n", f.Scope, f.Figure, f.Base, f.New,
			100*f.Change, 100*f.Lo, 100*f.Hi, f.Verdict, f.Detail)
	}
	return tw.Flush()
}
