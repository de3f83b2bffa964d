package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/unistore-bench/unistore/emulator"
)

func emulateCommand() *cli.Command {
	return &cli.Command{
		Name:  "emulate",
		Usage: "serve a local emulator of a database's protocol, for trying a target without an account",
		Subcommands: []*cli.Command{{
			Name:  "snowflake",
			Usage: "a Snowflake REST endpoint over embedded SQLite, for the real gosnowflake driver (protocol=http)",
			Description: "Serves until interrupted. Point a target or a store at the DSN it prints:\n" +
				"   unistore emulate snowflake --listen 127.0.0.1:8765 --init examples/hybrid-setup.sql\n" +
				"   unistore run examples/hybrid-mix.yaml --target 'snowflake://user:pass@127.0.0.1:8765/UNISTORE_DEMO/PUBLIC?account=emulator&protocol=http'",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8765", Usage: "address to serve on (loopback)"},
				&cli.StringFlag{Name: "db", Usage: "sqlite://PATH: where the emulated databases live (default: a temporary directory removed at exit)"},
				&cli.StringSliceFlag{Name: "init", Usage: "Snowflake-dialect SQL script run at start (repeatable)"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return exitCode{2, fmt.Errorf("emulate snowflake: unexpected argument %q", c.Args().First())}
				}
				return emulator.Main(c.Context, c.String("listen"), c.String("db"), c.StringSlice("init"), c.App.Writer)
			},
		}},
	}
}
