package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/examples"
)

func quickstartCommand() *cli.Command {
	return &cli.Command{
		Name:  "quickstart",
		Usage: "run the mixed read/write example on an embedded SQLite database (no server needed); applies the store schema if needed",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "duration", Aliases: []string{"d"}, Value: core.DefaultDuration.D(), Usage: "measurement length"},
			&cli.StringFlag{Name: "db", Usage: "SQLite database `PATH` to create (default: a temporary directory, removed after)"},
			&cli.IntFlag{Name: "connections", Aliases: []string{"c"}, Value: core.DefaultConnections, Usage: "concurrent connections"},
			&cli.StringFlag{Name: "json", Usage: "write the result as JSON to `FILE` (- for stdout)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress lines"},
			&cli.StringFlag{Name: "capture", Value: core.DefaultCapture, Usage: "executions to store: all, errors, none or sample:FRACTION"},
			storeFlag(),
		},
		Action: func(c *cli.Context) error {
			path := c.String("db")
			if path == "" {
				dir, err := os.MkdirTemp("", "unistore-quickstart-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				path = filepath.Join(dir, "quickstart.db")
			}
			data, err := examples.Templates.ReadFile("quickstart.yaml")
			if err != nil {
				return err
			}
			t, err := unistore.ReadTemplate("examples/quickstart.yaml", data)
			if err != nil {
				return err
			}
			t.Spec.Target = core.Target{Driver: "sqlite", DSN: "sqlite://" + path}
			spec, err := applyFlags(c, t)
			if err != nil {
				return exitCode{2, err}
			}
			if err := checkOutputs(c, "json"); err != nil {
				return exitCode{2, err}
			}
			fmt.Fprintf(c.App.ErrWriter, "unistore: creating %s with %d accounts\n", path, examples.QuickstartRows)
			if err := examples.SetupQuickstart(c.Context, path, examples.QuickstartRows); err != nil {
				if errors.Is(err, c.Context.Err()) {
					return exitCode{exitInterrupted, nil}
				}
				return err
			}
			// quickstart is a set-up command: it applies the results-store
			// schema (rerunnable, a no-op when current) so the first run
			// needs nothing else. `unistore run` never runs DDL.
			if c.IsSet("store") { // the default store sets itself up in openStore
				if err := unistore.ApplySchema(c.Context, c.String("store")); err != nil {
					return err
				}
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			return execute(c.Context, c, spec, st, "")
		},
	}
}
