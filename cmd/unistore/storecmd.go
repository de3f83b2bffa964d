package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/report"
	"github.com/unistore-bench/unistore/stats"
)

func storeFlag() cli.Flag {
	return &cli.StringFlag{Name: "store", Value: unistore.DefaultStoreDSN(), EnvVars: []string{"UNISTORE_STORE"},
		Usage: "results store DSN: sqlite://PATH or postgres://USER@HOST/DB (default: a per-user SQLite file, set up on first use)"}
}

// openStore opens the --store store; a missing or outdated schema is an
// error that says to run `unistore schema apply`. Without --store (or
// UNISTORE_STORE) it is the default per-user store, created with its
// schema the first time, which is said on stderr: a fresh checkout just
// runs. A store the user names never gets DDL here.
func openStore(c *cli.Context) (unistore.Store, error) {
	if c.IsSet("store") {
		return unistore.OpenStore(c.Context, c.String("store"))
	}
	st, created, err := unistore.OpenDefaultStore(c.Context)
	if created {
		fmt.Fprintf(c.App.ErrWriter, "unistore: created the results store %s (the default; --store or UNISTORE_STORE to use another)\n",
			unistore.DefaultStoreDSN())
	}
	return st, err
}

func stdout(c *cli.Context) io.Writer {
	if c.App.Writer != nil {
		return c.App.Writer
	}
	return os.Stdout
}

func schemaCommand() *cli.Command {
	return &cli.Command{
		Name:  "schema",
		Usage: "manage the results store's schema",
		Subcommands: []*cli.Command{{
			Name:  "apply",
			Usage: "create or upgrade the results store's tables (rerunnable; the only command that runs DDL)",
			Flags: []cli.Flag{storeFlag()},
			Action: func(c *cli.Context) error {
				if !c.IsSet("store") {
					// The default store's directory may not exist yet.
					if err := os.MkdirAll(filepath.Dir(unistore.DefaultStorePath()), 0o755); err != nil {
						return err
					}
				}
				if err := unistore.ApplySchema(c.Context, c.String("store")); err != nil {
					return err
				}
				fmt.Fprintf(stdout(c), "schema applied to %s\n", core.RedactDSN(c.String("store")))
				return nil
			},
		}},
	}
}

func runsCommand() *cli.Command {
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "machine-readable output"}
	return &cli.Command{
		Name:  "runs",
		Usage: "list, show, compare and export stored runs",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list runs, newest first",
				Flags: []cli.Flag{storeFlag(), jsonFlag, &cli.IntFlag{Name: "limit", Value: 50, Usage: "at most this many runs (0: all)"},
					&cli.StringFlag{Name: "status", Usage: "only runs with this status"},
					&cli.StringFlag{Name: "enrichment", Usage: "only runs whose enrichment is in this state: " +
						strings.ToLower(strings.Join(unistore.EnrichmentStates, ", ")) + " (pending: `runs enrich` has more to read)"}},
				Action: withStore(-1, "", func(c *cli.Context, st unistore.Store) error {
					runs, err := unistore.Runs(c.Context, st, unistore.RunFilter{Status: core.Status(c.String("status")),
						Enrichment: c.String("enrichment"), Limit: c.Int("limit")})
					if errors.Is(err, unistore.ErrBadFilter) {
						return exitCode{2, fmt.Errorf("--enrichment: %w", err)}
					}
					if err != nil {
						return err
					}
					return listRuns(stdout(c), runs, c.Bool("json"))
				}),
			},
			{
				Name:      "show",
				Usage:     "show a run's summary, recomputed from its stored snapshots",
				ArgsUsage: "RUN_ID",
				Flags:     []cli.Flag{storeFlag(), jsonFlag},
				Action: withStore(1, "runs show: give one RUN_ID", func(c *cli.Context, st unistore.Store) error {
					res, err := unistore.Show(c.Context, st, c.Args().First())
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return writeJSON("-", stdout(c), res)
					}
					return report.Summary(stdout(c), res)
				}),
			},
			{
				Name:      "cost",
				Usage:     "the run's cost: warehouse credits (estimated, or metered after `runs enrich`) and its control-plane writes",
				ArgsUsage: "RUN_ID",
				Flags:     []cli.Flag{storeFlag(), jsonFlag},
				Action: withStore(1, "runs cost: give one RUN_ID", func(c *cli.Context, st unistore.Store) error {
					cs, err := unistore.RunCost(c.Context, st, c.Args().First())
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return writeJSON("-", stdout(c), cs)
					}
					return report.Cost(stdout(c), cs)
				}),
			},
			{
				Name:      "enrich",
				Usage:     "read a finished Snowflake run's server history (ACCOUNT_USAGE: per-operation server latency, metered credits) into its result; PENDING while the views lag",
				ArgsUsage: "RUN_ID",
				Flags: []cli.Flag{storeFlag(), jsonFlag, &cli.StringFlag{Name: "target", EnvVars: []string{"UNISTORE_TARGET"},
					Usage: "the run's target DSN with its secret (default: the stored one, password redacted)"}},
				Action: withStore(1, "runs enrich: give one RUN_ID", func(c *cli.Context, st unistore.Store) error {
					res, err := unistore.Enrich(c.Context, st, c.Args().First(), c.String("target"))
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return writeJSON("-", stdout(c), map[string]any{"run_id": res.RunID, "cost": res.Cost, "server": res.Server})
					}
					if err := report.Cost(stdout(c), res.Cost); err != nil {
						return err
					}
					return report.Server(stdout(c), res.Server)
				}),
			},
			{
				Name: "recover",
				Usage: "load runs spooled while their store was down into the store, once it is back: their rows " +
					"(idempotently: loading twice stores each row once) and their final status",
				Flags: []cli.Flag{storeFlag(), jsonFlag, &cli.StringFlag{Name: "spool-dir", EnvVars: []string{"UNISTORE_SPOOL_DIR"},
					Usage: "the spool directory (default: spool/ beside the default store, in the per-user data directory)"}},
				Action: withStore(0, "runs recover: takes no arguments (the --store to load into, the --spool-dir to load from)",
					func(c *cli.Context, st unistore.Store) error {
						return recoverRuns(c, st)
					}),
			},
			{
				Name:      "intervals",
				Usage:     "the run's rollup per time bucket: every worker's snapshots merged exactly (works while the run goes on)",
				ArgsUsage: "RUN_ID",
				Flags: []cli.Flag{storeFlag(), jsonFlag,
					&cli.DurationFlag{Name: "width", Value: time.Second, Usage: "bucket width"}},
				Action: withStore(1, "runs intervals: give one RUN_ID", func(c *cli.Context, st unistore.Store) error {
					ivs, err := unistore.Intervals(c.Context, st, c.Args().First(), c.Duration("width"))
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return writeJSON("-", stdout(c), ivs)
					}
					tw := tabwriter.NewWriter(stdout(c), 0, 0, 2, ' ', tabwriter.AlignRight)
					fmt.Fprintln(tw, "offset s\tphase\tworkers\tcount\tqps\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\t")
					for _, iv := range ivs {
						l := iv.Total.Latency
						fmt.Fprintf(tw, "%.1f\t%s\t%d\t%d\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t\n", iv.Start.Sub(ivs[0].Start).Seconds(),
							iv.Phase, iv.Workers, iv.Total.Count, iv.Total.QPS, l.P50, l.P99, l.P999, l.Max, iv.Total.Errors)
					}
					return tw.Flush()
				}),
			},
			{
				Name:      "compare",
				Usage:     "per-operation deltas of QPS and percentiles between two runs; --verdict: REGRESSION, IMPROVEMENT or NO CHANGE per figure (exit 1 on a regression)",
				ArgsUsage: "RUN_A RUN_B (with --baseline NAME: NEW alone, or BASE NEW to mark BASE)",
				Flags: []cli.Flag{storeFlag(), jsonFlag,
					&cli.BoolFlag{Name: "verdict", Usage: "judge each figure with a confidence interval over per-second figures (see --method)"},
					&cli.StringFlag{Name: "method", Value: string(stats.DefaultMethod), Usage: "with --verdict: block-bootstrap (circular, block length from the autocorrelation), bootstrap (iid) or mannwhitney"},
					&cli.StringFlag{Name: "threshold", Value: "5%", Usage: "with --verdict: the smallest change that counts"},
					&cli.Float64Flag{Name: "confidence", Value: 0.95, Usage: "with --verdict: the confidence interval's level"},
					&cli.StringFlag{Name: "gate", Usage: "with --verdict: the figures whose REGRESSION exits 1, comma-separated (qps,p50_ms,p99_ms; default all)"},
					&cli.StringFlag{Name: "baseline", Usage: "a named baseline run in the store: BASE NEW marks BASE as `NAME`; NEW alone compares with it"}},
				Action: withStore(-1, "", compareAction),
			},
			{
				Name:      "export",
				Usage:     "export a run's interval snapshots",
				ArgsUsage: "RUN_ID",
				Flags: []cli.Flag{storeFlag(),
					&cli.StringFlag{Name: "format", Value: "hdr", Usage: "hdr (HdrHistogram interval log), csv or json"},
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout (whole or not at all)"},
					&cli.StringFlag{Name: "phase", Value: unistore.ExportMeasurement,
						Usage: "measurement (the intervals the result is made of) or all (warm-up too, tagged apart)"}},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return exitCode{2, errors.New("runs export: give one RUN_ID")}
					}
					format := c.String("format")
					if format != "hdr" && format != "csv" && format != "json" {
						return exitCode{2, fmt.Errorf("runs export: --format %q: want hdr, csv or json", format)}
					}
					phase := c.String("phase")
					if phase != unistore.ExportMeasurement && phase != unistore.ExportAll {
						return exitCode{2, fmt.Errorf("runs export: --phase %q: want measurement or all", phase)}
					}
					if err := checkOutputs(c, "output"); err != nil {
						return exitCode{2, err}
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					defer st.Close()
					export := func(w io.Writer) error {
						return unistore.Export(c.Context, st, c.Args().First(), format, w, unistore.ExportPhase(phase))
					}
					if path := c.String("output"); path != "" && path != "-" {
						return writeWhole(path, export)
					}
					return export(stdout(c))
				},
			},
		},
	}
}

func listRuns(w io.Writer, out []unistore.RunInfo, asJSON bool) error {
	if asJSON {
		return writeJSON("-", w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN ID\tNAME\tSTATUS\tCREATED\tCONNECTIONS\tQPS\tP99 MS\tENRICHMENT")
	for _, l := range out {
		qps, p99 := "-", "-"
		if l.QPS != nil {
			qps, p99 = fmt.Sprintf("%.1f", *l.QPS), fmt.Sprintf("%.3f", *l.P99)
		}
		status := string(l.Status)
		if l.Status == core.StatusFailed && strings.HasPrefix(l.Outcome, unistore.OutcomeOrchestratorLost) {
			status += " (" + unistore.OutcomeOrchestratorLost + ")"
		}
		if l.Stale {
			status += " (orchestrator gone)"
		}
		switch {
		case l.RowsSpooled > 0 && l.Recovered:
			status += fmt.Sprintf(" (%d rows spooled, recovered)", l.RowsSpooled)
		case l.RowsSpooled > 0:
			status += fmt.Sprintf(" (%d rows spooled: runs recover)", l.RowsSpooled)
		}
		if l.RowsDropped > 0 {
			status += fmt.Sprintf(" (%d rows dropped)", l.RowsDropped)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", l.RunID, l.Name, status, l.CreatedAt.Local().Format("2006-01-02 15:04:05"),
			l.Connections, qps, p99, cmp.Or(l.Enrichment, "-"))
	}
	return tw.Flush()
}

func templatesCommand() *cli.Command {
	return &cli.Command{
		Name:  "templates",
		Usage: "save, list, show and delete templates in the config store",
		Subcommands: []*cli.Command{
			{
				Name:      "save",
				Usage:     "check a template file and save it under its name (or --name)",
				ArgsUsage: "FILE",
				Flags:     []cli.Flag{storeFlag(), &cli.StringFlag{Name: "name", Usage: "save under this name instead of the template's"}},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return exitCode{2, errors.New("templates save: give one template FILE")}
					}
					path := c.Args().First()
					body, err := os.ReadFile(path)
					if err != nil {
						return err
					}
					t, err := unistore.ReadTemplate(path, body)
					if err != nil {
						return exitCode{2, err}
					}
					if c.String("name") == "" && t.Spec.Name == "" {
						return exitCode{2, fmt.Errorf("templates save: %s has no name: give --name", path)}
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					defer st.Close()
					saved, err := unistore.SaveTemplate(c.Context, st, path, c.String("name"), body)
					if errors.Is(err, unistore.ErrSecretStripped) {
						fmt.Fprintln(c.App.ErrWriter, "unistore: templates save: the password in target.dsn was removed before storing; "+
							"give it when the template runs: in the environment (PGPASSWORD for PostgreSQL) or with --target DSN")
						err = nil
					}
					if err != nil {
						return err
					}
					fmt.Fprintf(stdout(c), "saved template %s version %d\n", saved.Name, saved.Version)
					return nil
				},
			},
			{
				Name:  "list",
				Usage: "list saved templates",
				Flags: []cli.Flag{storeFlag(), &cli.BoolFlag{Name: "json", Usage: "machine-readable output"}},
				Action: withStore(-1, "", func(c *cli.Context, st unistore.Store) error {
					ts, err := unistore.TemplateList(c.Context, st)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return writeJSON("-", stdout(c), ts)
					}
					tw := tabwriter.NewWriter(stdout(c), 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tVERSION\tUPDATED")
					for _, t := range ts {
						fmt.Fprintf(tw, "%s\t%d\t%s\n", t.Name, t.Version, t.UpdatedAt.Local().Format("2006-01-02 15:04:05"))
					}
					return tw.Flush()
				}),
			},
			{
				Name:      "show",
				Usage:     "print a saved template's YAML",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{storeFlag()},
				Action: withStore(1, "templates show: give one NAME", func(c *cli.Context, st unistore.Store) error {
					t, err := unistore.GetTemplate(c.Context, st, c.Args().First())
					if err != nil {
						return err
					}
					_, err = io.WriteString(stdout(c), t.Body)
					return err
				}),
			},
			{
				Name:      "delete",
				Usage:     "delete a saved template",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{storeFlag()},
				Action: withStore(1, "templates delete: give one NAME", func(c *cli.Context, st unistore.Store) error {
					return unistore.DeleteTemplate(c.Context, st, c.Args().First())
				}),
			},
		},
	}
}

// withStore makes an action that checks the argument count (nargs < 0: any),
// opens the --store store, runs f and closes the store.
func withStore(nargs int, usage string, f func(c *cli.Context, st unistore.Store) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if nargs >= 0 && c.NArg() != nargs {
			return exitCode{2, errors.New(usage)}
		}
		st, err := openStore(c)
		if err != nil {
			return err
		}
		defer st.Close()
		return f(c, st)
	}
}

// writeWhole writes path through write, whole or not at all: into a
// temporary file beside it, renamed over path only once write and the
// file's close succeeded, removed otherwise — a failed export never
// leaves an empty or partial file, nor spoils one that was there.
func writeWhole(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// recoverRuns is `runs recover`: it loads the spool into the store and
// says, run by run, what it did. A run left in the spool because a load
// failed makes the command fail (exit 1); runs of another store are only
// named.
func recoverRuns(c *cli.Context, st unistore.Store) error {
	dir := c.String("spool-dir")
	rs, err := unistore.Recover(c.Context, st, dir)
	if c.Bool("json") {
		if rs == nil {
			rs = []unistore.RecoveredRun{}
		}
		if werr := writeJSON("-", stdout(c), rs); werr != nil {
			return werr
		}
	} else {
		if dir == "" {
			dir = unistore.DefaultSpoolDir()
		}
		if len(rs) == 0 && err == nil {
			fmt.Fprintf(stdout(c), "nothing spooled in %s\n", dir)
		}
		for _, r := range rs {
			switch {
			case r.Skipped != "":
				fmt.Fprintf(stdout(c), "run %s: left in the spool: %s\n", r.RunID, r.Skipped)
			case r.Status != "":
				fmt.Fprintf(stdout(c), "run %s: %d snapshots and %d executions loaded, status %s\n", r.RunID, r.Snapshots, r.Executions, r.Status)
			default:
				fmt.Fprintf(stdout(c), "run %s: %d snapshots and %d executions loaded\n", r.RunID, r.Snapshots, r.Executions)
			}
		}
	}
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Skipped != "" && !strings.HasPrefix(r.Skipped, "not in this store") {
			return exitCode{exitFailed, fmt.Errorf("runs recover: run %s could not be loaded; it stays in the spool", r.RunID)}
		}
	}
	return nil
}
