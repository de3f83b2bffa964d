package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/urfave/cli/v2"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/report"
)

// runFlags override a template's settings; their defaults are the
// library's, shown in help.
func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "target", Usage: "target DSN; the scheme picks the driver: postgres://USER@HOST/DB, sqlite://PATH"},
		&cli.IntFlag{Name: "connections", Aliases: []string{"c"}, Value: core.DefaultConnections, Usage: "concurrent connections, one loop each"},
		&cli.DurationFlag{Name: "warmup", Value: core.DefaultWarmup.D(), Usage: "warm-up length, not measured"},
		&cli.DurationFlag{Name: "duration", Aliases: []string{"d"}, Value: core.DefaultDuration.D(), Usage: "measurement length"},
		&cli.Float64Flag{Name: "rate", Usage: "open model: operations per second for the whole run (0: closed loop)"},
		&cli.Uint64Flag{Name: "seed", Value: core.DefaultSeed, Usage: "random seed; one seed reproduces one parameter sequence"},
		&cli.StringFlag{Name: "json", Usage: "write the result as JSON to `FILE` (- for stdout)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress lines"},
		// For profiling the load generator itself (bench/README.md).
		&cli.StringFlag{Name: "cpuprofile", Hidden: true, Usage: "write a CPU profile of the run to `FILE`"},
		&cli.StringFlag{Name: "capture", Value: core.DefaultCapture, Usage: "executions to store: all, errors, none or sample:FRACTION"},
		storeFlag(),
		&cli.IntFlag{Name: "workers", Aliases: []string{"w"}, Value: 1, Usage: "worker processes, each with --connections connections (groups 0..N-1)"},
		&cli.BoolFlag{Name: "in-process", Usage: "run the workers as goroutines of this process instead of worker processes"},
	}
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a workload template (a file, or one saved with templates save) and record it in the store",
		ArgsUsage: "TEMPLATE.yaml",
		Flags:     append(runFlags(), &cli.StringFlag{Name: "template", Usage: "run the saved template `NAME` instead of a file"}),
		Action: func(c *cli.Context) error {
			// The store first: a dead store or a missing schema is an
			// error before anything connects to the target.
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			var t *unistore.Template
			switch name := c.String("template"); {
			case name != "" && c.NArg() == 0:
				if t, err = unistore.LoadSavedTemplate(c.Context, st, name); err != nil {
					return exitCode{2, err}
				}
			case name == "" && c.NArg() == 1:
				if t, err = unistore.LoadTemplate(c.Args().First()); err != nil {
					return exitCode{2, err}
				}
			default:
				return exitCode{2, errors.New("run: give one template: unistore run TEMPLATE.yaml, or unistore run --template NAME")}
			}
			spec := applyFlags(c, t.Spec)
			if err := spec.Validate(); err != nil {
				return exitCode{2, t.Locate(err)}
			}
			return execute(c.Context, c, spec, st, c.String("template"))
		},
	}
}

// applyFlags overrides spec with the flags the user set, then fills
// defaults, but for the control timings (see below).
func applyFlags(c *cli.Context, spec core.Spec) core.Spec {
	if c.IsSet("target") {
		spec.Target = core.Target{DSN: c.String("target")}
	}
	if c.IsSet("connections") {
		spec.Connections = c.Int("connections")
	}
	if c.IsSet("warmup") {
		spec.Warmup = core.Duration(c.Duration("warmup"))
	}
	if c.IsSet("duration") {
		spec.Duration = core.Duration(c.Duration("duration"))
	}
	if c.IsSet("rate") {
		spec.Rate = c.Float64("rate")
	}
	if c.IsSet("seed") {
		spec.Seed = c.Uint64("seed")
	}
	if c.IsSet("capture") {
		spec.Capture = c.String("capture")
	}
	if c.IsSet("workers") {
		spec.Workers = c.Int("workers")
	}
	// The control timings stay as the template gives them: those it leaves
	// zero take the results store's defaults (store.ControlDefaults), which
	// the orchestrator fills in, knowing the store.
	out := spec.WithDefaults()
	out.Control = spec.Control
	return out
}

// execute runs spec, printing progress to stderr and the summary to stdout.
func execute(ctx context.Context, c *cli.Context, spec core.Spec, st unistore.Store, template string) error {
	stderr := c.App.ErrWriter
	if stderr == nil {
		stderr = os.Stderr
	}
	stdout := c.App.Writer
	if stdout == nil {
		stdout = os.Stdout
	}
	// Warnings (a store write that failed, a worker lost) go to stderr;
	// the routine joins and stops of workers do not clutter it.
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := []unistore.Option{unistore.WithStore(st), unistore.WithTemplateName(template), unistore.WithLogger(logger)}
	// --workers launches worker processes (unless --in-process); without it
	// the one worker runs in this process. Both go through the
	// orchestrator and the control tables.
	if c.IsSet("workers") && !c.Bool("in-process") {
		opts = append(opts, unistore.WithLauncher(unistore.ProcessLauncher("", c.String("store"), spec.Target.DSN, stderr)))
	}
	if !c.Bool("quiet") {
		opts = append(opts, unistore.WithProgress(func(p unistore.Progress) {
			line := report.ProgressLine(p.Elapsed, p.Phase, p.QPS, p.P50, p.P99, p.Errors)
			if spec.Workers > 1 {
				line += fmt.Sprintf("  workers: %d live, %d lost", p.Live, p.Lost)
			}
			fmt.Fprintln(stderr, line)
		}))
	}
	fmt.Fprintf(stderr, "unistore: %s: %d connections, warm-up %s, measurement %s, target %s\n",
		spec.Name, spec.Connections, spec.Warmup, spec.Duration, core.RedactDSN(spec.Target.DSN))
	if path := c.String("cpuprofile"); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			return exitCode{1, err}
		}
		defer stop()
	}
	res, err := unistore.Run(ctx, spec, opts...)
	if res == nil {
		return exitCode{1, err}
	}
	if err := report.Summary(stdout, res); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "unistore: run %s recorded in %s\n", res.RunID, core.RedactDSN(c.String("store")))
	if path := c.String("json"); path != "" {
		if err := writeJSON(path, stdout, res); err != nil {
			return exitCode{1, err}
		}
	}
	switch res.Status {
	case core.StatusCancelled:
		return exitCode{130, nil}
	case core.StatusCompleted:
		return nil
	}
	return exitCode{1, err}
}

// startCPUProfile starts a CPU profile written to path; stop ends it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func writeJSON(path string, stdout io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}
