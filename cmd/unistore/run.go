package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/control"
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
		&cli.IntFlag{Name: "workers", Aliases: []string{"w"}, Value: 1, Usage: "workers (the template's workers:), each with --connections connections (groups 0..N-1)"},
		&cli.StringFlag{Name: "launcher", Usage: "how workers start: process (one worker process each), inprocess (goroutines of this process), kubernetes (an Indexed Job), spcs (a Snowpark Container Services job service) or external (started elsewhere); default: process for more than one worker, inprocess for one"},
		&cli.BoolFlag{Name: "in-process", Usage: "same as --launcher inprocess"},
		&cli.Float64Flag{Name: "price-per-credit", EnvVars: []string{"UNISTORE_PRICE_PER_CREDIT"}, Usage: "dollars per Snowflake credit, for the cost's dollar figures (the template's price_per_credit:; default none: credits only)"},
		&cli.DurationFlag{Name: "flush-timeout", Value: control.DefaultFlushTimeout, Usage: "the whole end of the run, from STOP to the result: the workers' final flush (worker processes get it too), then the final status; what the store has not taken by then is spooled"},
		&cli.BoolFlag{Name: "enrich", Usage: "read the Snowflake target's server history (ACCOUNT_USAGE) as soon as the run ends; PENDING while it lags (then: unistore runs enrich RUN_ID)"},
	}
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a workload template (a file, or one saved with templates save) and record it in the store",
		ArgsUsage: "TEMPLATE.yaml",
		Flags: append(append(runFlags(), launcherFlags()...), &cli.StringFlag{Name: "template", Usage: "run the saved template `NAME` instead of a file"},
			&cli.BoolFlag{Name: "check-slo", Usage: "exit with status 3 if an objective of the template's slo: sections is breached (for CI)"}),
		Action: func(c *cli.Context) error {
			// Bad input fails in the order a user fixes it: the template
			// and the flags, then the outputs, then the store, then the
			// target (in Start's pre-flight check), and all before load.
			t, st, err := loadTemplate(c, "run: give one template: unistore run TEMPLATE.yaml, or unistore run --template NAME")
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
			if err := checkOutputs(c, "json", "cpuprofile"); err != nil {
				return exitCode{2, err}
			}
			if err := checkFlushTimeout(c); err != nil {
				return exitCode{2, err}
			}
			if err := checkSLOFlag(c, spec); err != nil {
				return exitCode{2, err}
			}
			if err := checkLauncher(c, &spec); err != nil {
				return exitCode{2, err}
			}
			if st == nil {
				if st, err = openStore(c); err != nil {
					return err
				}
				defer st.Close()
			}
			return execute(c.Context, c, spec, st, c.String("template"))
		},
	}
}

// applyFlags overrides t's spec with the flags the user set and checks the
// result (unistore.SpecFrom, which the HTTP API calls too): a problem with
// a value a flag set names the flag ("--rate: must not be negative"), any
// other the template's file, line and field. An explicit zero is an
// error, never the default; defaults are applied once, by the run
// (core.Spec.WithDefaults).
func applyFlags(c *cli.Context, t *unistore.Template) (core.Spec, error) {
	var o unistore.Overrides
	if c.IsSet("target") {
		o.Target = ptr(c.String("target"))
	}
	if c.IsSet("connections") {
		o.Connections = ptr(c.Int("connections"))
	}
	if c.IsSet("warmup") {
		o.Warmup = ptr(core.Duration(c.Duration("warmup")))
	}
	if c.IsSet("duration") {
		o.Duration = ptr(core.Duration(c.Duration("duration")))
	}
	if c.IsSet("rate") {
		o.Rate = ptr(c.Float64("rate"))
	}
	if c.IsSet("seed") {
		o.Seed = ptr(c.Uint64("seed"))
	}
	if c.IsSet("capture") {
		o.Capture = ptr(c.String("capture"))
	}
	if c.IsSet("workers") {
		o.Workers = ptr(c.Int("workers"))
	}
	if c.IsSet("price-per-credit") {
		o.PricePerCredit = ptr(c.Float64("price-per-credit"))
	}
	return unistore.SpecFrom(t, o, func(flag string) string { return "--" + flag })
}

func ptr[T any](v T) *T { return &v }

// checkFlushTimeout checks --flush-timeout: positive, and given only with
// a launcher whose workers take it (in-process workers and worker
// processes; a cluster's workers tune themselves).
func checkFlushTimeout(c *cli.Context) error {
	if !c.IsSet("flush-timeout") {
		return nil
	}
	if d := c.Duration("flush-timeout"); d <= 0 {
		return fmt.Errorf("run: --flush-timeout: must be positive, got %v", d)
	}
	switch l := c.String("launcher"); l {
	case "", unistore.LauncherProcess, unistore.LauncherInProcess:
		return nil
	default:
		return fmt.Errorf("run: --flush-timeout reaches in-process workers and worker processes, not those of --launcher %s", l)
	}
}

// checkOutputs checks, before anything starts, that the files the named
// flags give can be written: a result must not be lost to a typo in a
// path after a long run. It creates nothing.
func checkOutputs(c *cli.Context, flags ...string) error {
	var msgs []string
	for _, f := range flags {
		if path := c.String(f); path != "" && path != "-" {
			if err := writable(path); err != nil {
				msgs = append(msgs, "--"+f+": "+err.Error())
			}
		}
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "\n"))
	}
	return nil
}

// writable reports whether path can be created or overwritten, without
// creating or truncating it: an existing file is opened for writing, a new
// one's directory gets a temporary file, removed at once.
func writable(path string) error {
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return fmt.Errorf("%s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("cannot write %s: %w", path, errors.Unwrap(err))
		}
		return f.Close()
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("cannot create %s: directory %s does not exist", path, dir)
	case !fi.IsDir():
		return fmt.Errorf("cannot create %s: %s is not a directory", path, dir)
	}
	f, err := os.CreateTemp(dir, ".unistore-check-*")
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
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
	opts := []unistore.Option{unistore.WithStore(st), unistore.WithTemplateName(template), unistore.WithLogger(logger),
		unistore.WithEnrich(c.Bool("enrich"))}
	// Processes, goroutines or a cluster's: all go through the
	// orchestrator and the control tables.
	lo, err := launcherOption(c, &spec, stderr)
	if err != nil {
		return exitCode{2, err}
	}
	if lo != nil {
		opts = append(opts, lo)
	}
	if id := c.String("run-id"); id != "" {
		opts = append(opts, unistore.WithRunID(id))
	}
	if c.IsSet("flush-timeout") {
		opts = append(opts, unistore.WithFlushTimeout(c.Duration("flush-timeout")))
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
	if path := c.String("cpuprofile"); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			return exitCode{1, err}
		}
		defer stop()
	}
	h, err := unistore.Start(ctx, spec, opts...)
	if err != nil {
		return exitCode{1, err}
	}
	// A second Ctrl-C: spool and end now.
	setHurry(h.Hurry, "stopping: the run ends within the flush timeout; Ctrl-C again to spool what the store has not taken and exit at once")
	defer setHurry(nil, "")
	// The run's spec, defaults applied: what it does, not what was typed.
	rs := h.Spec()
	warmup := rs.Warmup.String()
	if rs.WarmupSteady != nil {
		warmup = rs.WarmupSteady.String() // rs.Warmup is only its max
	}
	fmt.Fprintf(stderr, "unistore: %s: %d connections, warm-up %s, measurement %s, target %s\n",
		rs.Name, rs.Connections, warmup, rs.Duration, rs.Target.DSN)
	res, err := h.Wait()
	if res == nil {
		return exitCode{1, err}
	}
	if err := report.Summary(stdout, res); err != nil {
		return err
	}
	storeDSN := core.RedactDSN(c.String("store"))
	recorded := res.FullyRecorded()
	if recorded {
		fmt.Fprintf(stderr, "unistore: run %s recorded in %s\n", res.RunID, storeDSN)
	} else {
		fmt.Fprintf(stderr, "unistore: run %s measured but NOT fully recorded in %s: %s\n", res.RunID, storeDSN, unrecorded(res))
	}
	if path := c.String("json"); path != "" {
		if err := writeJSON(path, stdout, res); err != nil {
			return exitCode{1, err}
		}
	}
	if !recorded && res.Status != core.StatusFailed {
		// Measured, not fully recorded: this says more than how the run
		// ended (the summary says that), and a script must not take the
		// store for complete.
		return exitCode{exitUnrecorded, nil}
	}
	switch res.Status {
	case core.StatusCancelled:
		if ctx.Err() != nil {
			return exitCode{exitInterrupted, nil} // Ctrl-C or SIGTERM here
		}
		return exitCode{exitStopped, nil} // `unistore stop` from elsewhere (or its API)
	case core.StatusCompleted:
		return sloExit(c, res)
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

// unrecorded says what of res did not reach the store and what to do.
func unrecorded(res *core.Result) string {
	var parts []string
	spooled := false
	if res.RowsSpooled > 0 {
		parts = append(parts, fmt.Sprintf("%d rows spooled", res.RowsSpooled))
		spooled = true
	}
	if res.Store != nil && res.Store.StatusSpooled {
		parts = append(parts, "its final status spooled")
		spooled = true
	}
	if res.RowsDropped > 0 {
		parts = append(parts, fmt.Sprintf("%d rows dropped", res.RowsDropped))
	}
	msg := strings.Join(parts, ", ")
	if spooled && res.Store != nil {
		msg += fmt.Sprintf(" to %s; run `unistore runs recover` with this --store once the store is back", res.Store.SpoolDir)
	}
	return msg
}

// loadTemplate loads the command's template: the file named by its one
// argument, or the one saved under --template NAME — then the store opens
// first, and is returned for the caller to use and close (nil otherwise).
// usage is the error for anything else.
func loadTemplate(c *cli.Context, usage string) (*unistore.Template, unistore.Store, error) {
	switch name := c.String("template"); {
	case name == "" && c.NArg() == 1:
		t, err := unistore.LoadTemplate(c.Args().First())
		if err != nil {
			return nil, nil, exitCode{2, err}
		}
		return t, nil, nil
	case name != "" && c.NArg() == 0:
		st, err := openStore(c)
		if err != nil {
			return nil, nil, err
		}
		t, err := unistore.LoadSavedTemplate(c.Context, st, name)
		if err != nil {
			st.Close()
			return nil, nil, exitCode{2, err}
		}
		return t, st, nil
	default:
		return nil, nil, exitCode{2, errors.New(usage)}
	}
}
