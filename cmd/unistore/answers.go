package main

// Answers (issue 12): run --check-slo, find-max, and runs compare
// --verdict / --baseline. The logic is the library's; this file parses
// and formats.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/report"
	"github.com/unistore-bench/unistore/stats"
)

// checkSLOFlag refuses --check-slo for a spec with no objective: the
// check would pass vacuously.
func checkSLOFlag(c *cli.Context, spec core.Spec) error {
	if !c.Bool("check-slo") {
		return nil
	}
	has := !spec.SLO.Empty()
	for _, op := range spec.Workload.Operations {
		has = has || !op.SLO.Empty()
	}
	if !has {
		return errors.New("--check-slo: the template sets no objective: add slo: {p99_ms: …} to it or to an operation")
	}
	return nil
}

// sloExit is a completed run's exit: status 3 with --check-slo when an
// objective failed.
func sloExit(c *cli.Context, res *unistore.Result) error {
	if !c.Bool("check-slo") || core.SLOPassed(res.SLO) {
		return nil
	}
	var failed []string
	for _, v := range res.SLO {
		if !v.Pass {
			failed = append(failed, v.Scope+" "+v.Objective)
		}
	}
	return exitCode{exitSLOBreach, fmt.Errorf("slo breached: %s", strings.Join(failed, ", "))}
}

func findMaxCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "target", Usage: "target DSN; the scheme picks the driver"},
		&cli.IntFlag{Name: "connections", Aliases: []string{"c"}, Value: core.DefaultConnections, Usage: "connections per worker (by rate: the concurrency available to the schedule)"},
		&cli.IntFlag{Name: "workers", Aliases: []string{"w"}, Value: 1, Usage: "workers, each with --connections connections"},
		&cli.Uint64Flag{Name: "seed", Value: core.DefaultSeed, Usage: "random seed"},
		&cli.StringFlag{Name: "capture", Value: core.DefaultCapture, Usage: "executions to store: all, errors, none or sample:FRACTION"},
		&cli.StringFlag{Name: "template", Usage: "the saved template `NAME` instead of a file"},
		storeFlag(),
		&cli.StringFlag{Name: "launcher", Usage: "process or inprocess (default: process for more than one worker)"},
		&cli.StringFlag{Name: "by", Value: unistore.FindMaxByRate, Usage: "what the steps change: rate (open model) or connections"},
		&cli.StringFlag{Name: "slo", Usage: "what each step must meet, like 'p99<20ms,errors<0.1%' (default: the template's slo:)"},
		&cli.Float64Flag{Name: "start", Usage: fmt.Sprintf("the first step's rate (default %g/s) or connections (default 1)", unistore.DefaultFindMaxStartRate)},
		&cli.Float64Flag{Name: "factor", Value: unistore.DefaultFindMaxFactor, Usage: "the climb's multiplier"},
		&cli.StringFlag{Name: "resolution", Value: "5%", Usage: "bisect until the last good and the first bad step are this close"},
		&cli.Float64Flag{Name: "max", Usage: "cap on the rate or connections (0: none)"},
		&cli.DurationFlag{Name: "step-warmup", Value: unistore.DefaultFindMaxStepWarmup.D(), Usage: "each step's unmeasured start"},
		&cli.DurationFlag{Name: "step-duration", Value: unistore.DefaultFindMaxStepMeasure.D(), Usage: "each step's measured window"},
		&cli.IntFlag{Name: "max-steps", Value: unistore.DefaultFindMaxMaxSteps, Usage: "at most this many steps"},
		&cli.StringFlag{Name: "json", Usage: "write the answer and the steps as JSON to `FILE` (- for stdout)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no line per step on stderr"},
	}
	return &cli.Command{
		Name:      "find-max",
		Usage:     "find the highest rate (or connections) that meets an SLO, stepping one run live",
		ArgsUsage: "TEMPLATE.yaml",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			t, st, err := loadTemplate(c, "find-max: give one template: unistore find-max TEMPLATE.yaml --slo 'p99<20ms'")
			if err != nil {
				return err
			}
			if st != nil {
				defer st.Close()
			}
			spec, err := applyFlags(c, t)
			if err != nil {
				return exitCode{2, err}
			}
			fc, err := findMaxConfig(c, spec)
			if err != nil {
				return exitCode{2, err}
			}
			if err := checkOutputs(c, "json"); err != nil {
				return exitCode{2, err}
			}
			if st == nil {
				if st, err = openStore(c); err != nil {
					return err
				}
				defer st.Close()
			}
			stderr := errWriter(c)
			logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			opts := []unistore.Option{unistore.WithStore(st), unistore.WithTemplateName(c.String("template")), unistore.WithLogger(logger)}
			switch l := c.String("launcher"); {
			case l == unistore.LauncherProcess || l == "" && unistore.DefaultLauncher(max(spec.Workers, 1)) == unistore.LauncherProcess:
				opts = append(opts, unistore.WithLauncher(unistore.ProcessLauncher("", c.String("store"), stderr)))
			case l == "" || l == unistore.LauncherInProcess:
			default:
				return exitCode{2, fmt.Errorf("--launcher %q: want %s or %s", l, unistore.LauncherProcess, unistore.LauncherInProcess)}
			}
			if !c.Bool("quiet") {
				fc.OnStep = func(s unistore.FindMaxStep) {
					fmt.Fprintf(stderr, "unistore: find-max step %d: %s → %.1f qps, p99 %.3f ms: %s\n", s.Step, stepValue(fc.By, s),
						s.QPS, s.Latency.P99, s.Verdict)
				}
			}
			out, err := unistore.FindMax(c.Context, spec, fc, opts...)
			if err != nil {
				var fe core.FieldErrors
				if errors.As(err, &fe) {
					return exitCode{2, err}
				}
				return exitCode{1, err}
			}
			w := stdout(c)
			if err := report.FindMaxSteps(w, reportSteps(out.Steps)); err != nil {
				return err
			}
			fmt.Fprintln(w, findMaxAnswer(out))
			fmt.Fprintf(stderr, "unistore: find-max run %s recorded in %s\n", out.RunID, core.RedactDSN(c.String("store")))
			if path := c.String("json"); path != "" {
				if err := writeJSON(path, w, out); err != nil {
					return exitCode{1, err}
				}
			}
			if out.Result != nil && out.Result.Status == core.StatusFailed {
				return exitCode{exitFailed, fmt.Errorf("find-max: run %s failed: %s", out.RunID, out.Result.Error)}
			}
			if out.Answer == unistore.AnswerStopped {
				if c.Context.Err() != nil {
					return exitCode{exitInterrupted, nil}
				}
				return exitCode{exitStopped, nil}
			}
			return nil
		},
	}
}

// findMaxConfig reads find-max's flags; a problem names its flag.
func findMaxConfig(c *cli.Context, spec core.Spec) (unistore.FindMaxConfig, error) {
	fc := unistore.FindMaxConfig{By: c.String("by"), Start: c.Float64("start"), Factor: c.Float64("factor"),
		Max: c.Float64("max"), StepWarmup: core.Duration(c.Duration("step-warmup")),
		StepDuration: core.Duration(c.Duration("step-duration")), MaxSteps: c.Int("max-steps")}
	var msgs []string
	if s := c.String("slo"); s != "" {
		slo, err := unistore.ParseSLO(s)
		if err != nil {
			msgs = append(msgs, "--slo: "+err.Error())
		}
		fc.SLO = slo
	} else if spec.SLO != nil {
		fc.SLO = *spec.SLO
	}
	r, err := core.ParseRatio(c.String("resolution"))
	if err != nil {
		msgs = append(msgs, "--resolution: "+err.Error())
	}
	fc.Resolution = float64(r)
	// An explicit 0 never takes the default silently (WithDefaults fills
	// zeros): it is an error naming the flag.
	for _, z := range []struct {
		flag string
		zero bool
	}{{"start", fc.Start == 0}, {"factor", fc.Factor == 0}, {"resolution", fc.Resolution == 0},
		{"step-warmup", fc.StepWarmup == 0}, {"step-duration", fc.StepDuration == 0}, {"max-steps", fc.MaxSteps == 0}} {
		if z.zero && c.IsSet(z.flag) {
			msgs = append(msgs, "--"+z.flag+": must be positive, got 0 (leave it out for the default)")
		}
	}
	if len(msgs) == 0 {
		if err := fc.WithDefaults().Validate(); err != nil {
			for _, fe := range err.(core.FieldErrors) {
				msgs = append(msgs, "--"+fe.Path+": "+fe.Msg)
			}
		}
	}
	if len(msgs) > 0 {
		return fc, errors.New(strings.Join(msgs, "\n"))
	}
	return fc, nil
}

func stepValue(by string, s unistore.FindMaxStep) string {
	if by == unistore.FindMaxByConnections {
		return fmt.Sprintf("%d connections", s.Connections)
	}
	return fmt.Sprintf("%.1f/s", s.Rate)
}

func reportSteps(steps []unistore.FindMaxStep) []report.Step {
	out := make([]report.Step, 0, len(steps))
	for _, s := range steps {
		er := 0.0
		if s.Count > 0 {
			er = float64(s.Errors) / float64(s.Count)
		}
		out = append(out, report.Step{Step: s.Step, Rate: s.Rate, Connections: s.Connections, QPS: s.QPS,
			P50: s.Latency.P50, P99: s.Latency.P99, ErrorRate: er, Achieved: s.Achieved, Verdict: s.Verdict, Note: s.Note})
	}
	return out
}

// findMaxAnswer is the answer in one sentence.
func findMaxAnswer(out *unistore.FindMaxResult) string {
	at := fmt.Sprintf("%.1f/s", out.MaxRate)
	if out.By == unistore.FindMaxByConnections {
		at = fmt.Sprintf("%d connections", out.MaxConnections)
	}
	switch out.Answer {
	case unistore.AnswerFound:
		gap := out.FirstBad - out.MaxRate
		if out.By == unistore.FindMaxByConnections {
			gap = out.FirstBad - float64(out.MaxConnections)
		}
		return fmt.Sprintf("max: %.1f qps at %s meets the SLO; the smallest step that did not: %g (%.1f%% higher)",
			out.MaxQPS, at, out.FirstBad, 100*gap/(out.FirstBad-gap))
	case unistore.AnswerLowerBound:
		return fmt.Sprintf("at least %.1f qps at %s: no step breached the SLO (raise --max-steps or --max)", out.MaxQPS, at)
	case unistore.AnswerClientBound:
		last := out.Steps[len(out.Steps)-1]
		return fmt.Sprintf("client-bound: the client could not start what %s asked (%.1f%% started) while the SLO held: "+
			"not a figure of the target (best measured: %.1f qps at %s)", stepValue(out.By, last), 100*last.Achieved, out.MaxQPS, at)
	case unistore.AnswerNone:
		return "none: even the smallest step breached the SLO"
	}
	return "stopped before an answer"
}

// compareAction is `runs compare`: the per-operation deltas, or with
// --verdict the statistical verdict per figure (exit 1 on a regression);
// --baseline NAME marks BASE as the baseline NAME (two runs given) or
// compares NEW with it (one run given).
func compareAction(c *cli.Context, st unistore.Store) error {
	args := c.Args().Slice()
	if name := c.String("baseline"); name != "" {
		switch len(args) {
		case 1:
			id, err := unistore.Baseline(c.Context, st, name)
			if errors.Is(err, unistore.ErrNoBaseline) {
				return exitCode{1, fmt.Errorf("runs compare: no baseline named %q in the store: mark one with `unistore runs compare BASE NEW --baseline %s`", name, name)}
			}
			if err != nil {
				return exitCode{1, err}
			}
			args = []string{id, args[0]}
		case 2:
			if err := unistore.SetBaseline(c.Context, st, name, args[0]); err != nil {
				return exitCode{1, err}
			}
			fmt.Fprintf(errWriter(c), "unistore: run %s is now the baseline %q\n", args[0], name)
		default:
			return exitCode{2, errors.New("runs compare --baseline NAME: give NEW (compared with the baseline) or BASE NEW (BASE becomes the baseline)")}
		}
	} else if len(args) != 2 {
		return exitCode{2, errors.New("runs compare: give two run ids")}
	}
	if !c.Bool("verdict") {
		for _, f := range []string{"threshold", "confidence", "method", "gate"} {
			if c.IsSet(f) {
				return exitCode{2, fmt.Errorf("--%s: only with --verdict", f)}
			}
		}
		rs, err := unistore.CompareRuns(c.Context, st, args[0], args[1])
		if err != nil {
			return err
		}
		if c.Bool("json") {
			return writeJSON("-", stdout(c), rs)
		}
		return report.Compare(stdout(c), rs["a"], rs["b"])
	}
	th, err := core.ParseRatio(c.String("threshold"))
	if err != nil {
		return exitCode{2, fmt.Errorf("--threshold: %w", err)}
	}
	conf := c.Float64("confidence")
	method, err := stats.ParseMethod(c.String("method"))
	if err != nil {
		return exitCode{2, fmt.Errorf("--method: %w", err)}
	}
	var gate []string
	if g := c.String("gate"); g != "" {
		gate = strings.Split(g, ",")
	}
	rep, err := unistore.Verdict(c.Context, st, args[0], args[1], unistore.VerdictConfig{Threshold: float64(th), Confidence: conf, Method: method, Gate: gate})
	if err != nil {
		if strings.Contains(err.Error(), "must be between") || strings.Contains(err.Error(), "to gate on") {
			return exitCode{2, err}
		}
		return err
	}
	if c.Bool("json") {
		if err := writeJSON("-", stdout(c), rep); err != nil {
			return err
		}
	} else {
		figs := make([]report.Figure, 0, len(rep.Figures))
		for _, f := range rep.Figures {
			figs = append(figs, report.Figure{Scope: f.Scope, Figure: f.Figure, Base: f.Base, New: f.New,
				Change: f.Change.Estimate, Lo: f.Change.Low, Hi: f.Change.High, Verdict: string(f.Verdict), Detail: f.Detail, Note: f.Note})
		}
		if err := report.Verdicts(stdout(c), rep.Base, rep.New, string(rep.Method)+" — "+rep.MethodText, rep.Threshold, rep.Confidence, rep.Gate, figs); err != nil {
			return err
		}
	}
	if rep.Regression {
		return exitCode{exitFailed, fmt.Errorf("regression: at least one figure (gating on %s) got worse beyond the threshold", strings.Join(rep.Gate, ", "))}
	}
	return nil
}

func errWriter(c *cli.Context) io.Writer {
	if c.App.ErrWriter != nil {
		return c.App.ErrWriter
	}
	return os.Stderr
}
