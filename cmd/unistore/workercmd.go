package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/control"
)

func workerCommand() *cli.Command {
	return &cli.Command{
		Name:  "worker",
		Usage: "join a run as the worker of one group (started by `run --workers`, or by hand on another machine)",
		Flags: []cli.Flag{
			storeFlag(),
			&cli.StringFlag{Name: "run-id", Required: true, Usage: "the run to join"},
			&cli.IntFlag{Name: "group", Value: -1, Usage: "worker group, 0..workers-1 (required; in a Snowpark Container Services job, $SNOWFLAKE_JOB_INDEX when not given)"},
			&cli.IntFlag{Name: "attempt", Usage: "launch attempt of the group (the orchestrator sets it on relaunch; $UNISTORE_ATTEMPT when not given, as a Kubernetes pod gets it)"},
			&cli.DurationFlag{Name: "join-wait", Usage: "wait up to this long for the run to exist, and retry while the group is held by a worker whose heartbeat is still fresh (a scheduler's restart that came before its predecessor went stale)"},
			&cli.StringFlag{Name: "target", EnvVars: []string{"UNISTORE_TARGET"},
				Usage: "target DSN, when the stored one (redacted) lacks the password"},
			&cli.DurationFlag{Name: "flush-timeout", EnvVars: []string{"UNISTORE_FLUSH_TIMEOUT"}, Value: control.DefaultFlushTimeout,
				Usage: "how long the store writers may flush at the end before they spool the rest, and how long an outage lasts before rows are spooled (the orchestrator that launches the worker passes the run's)"},
		},
		Action: func(c *cli.Context) error {
			group, attempt, err := workerSlot(c)
			if err != nil {
				return exitCode{2, err}
			}
			flush := c.Duration("flush-timeout")
			if flush <= 0 {
				return exitCode{2, fmt.Errorf("worker: --flush-timeout: must be positive, got %v", flush)}
			}
			// A worker outlives a dead orchestrator by up to a lease, and
			// its stderr may be a pipe to that orchestrator: a write must
			// fail with EPIPE, not kill it before it has flushed.
			signal.Ignore(syscall.SIGPIPE)
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			log := slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
			// The launching orchestrator's local channel, if it gave one:
			// snapshots go back over it, STOP and phase changes come, and
			// a HURRY (or a second signal here) spools at once.
			urgent := make(chan struct{})
			var once sync.Once
			setHurry(func() { once.Do(func() { close(urgent) }) }, "")
			defer setHurry(nil, "")
			opts := []unistore.JoinOption{unistore.WithUrgent(urgent), unistore.WithWorkerFlushTimeout(flush)}
			if l := unistore.OpenWorkerLocal(log); l != nil {
				defer l.Close()
				joined := make(chan struct{})
				defer close(joined)
				go func() {
					select {
					case <-l.Urgent():
						once.Do(func() { close(urgent) })
					case <-joined:
					}
				}()
				opts = append(opts, unistore.WithLocal(l), unistore.WithUrgent(urgent))
			}
			err = joinWaiting(c.Context, st, c.String("run-id"), c.Duration("join-wait"), func() error {
				return unistore.Join(c.Context, st, c.String("run-id"), group, attempt, c.String("target"), log, opts...)
			})
			if errors.Is(err, unistore.ErrLeaseLost) {
				return exitCode{exitLeaseLost, err}
			}
			if errors.Is(err, unistore.ErrGroupGivenUp) {
				return exitCode{exitGivenUp, err}
			}
			return err
		},
	}
}

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop a running run: its orchestrator and workers stop it through the control tables",
		ArgsUsage: "RUN_ID",
		Flags:     []cli.Flag{storeFlag()},
		Action: withStore(1, "stop: give one RUN_ID", func(c *cli.Context, st unistore.Store) error {
			err := unistore.Stop(c.Context, st, c.Args().First())
			if errors.Is(err, unistore.ErrOrchestratorLost) {
				// Marked FAILED: nothing is left running to stop.
				fmt.Fprintln(stdout(c), strings.TrimPrefix(err.Error(), "orchestrator: "))
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout(c), "stop requested for run %s\n", c.Args().First())
			return nil
		}),
	}
}

func scaleCommand() *cli.Command {
	return &cli.Command{
		Name:      "scale",
		Usage:     "change the connections every worker of a running run holds, live",
		ArgsUsage: "RUN_ID",
		Flags: []cli.Flag{storeFlag(),
			&cli.IntFlag{Name: "connections", Aliases: []string{"c"}, Required: true, Usage: "connections per worker"},
			&cli.IntSliceFlag{Name: "group", Usage: "only these worker groups (repeatable)"}},
		Action: withStore(1, "scale: give one RUN_ID", func(c *cli.Context, st unistore.Store) error {
			if err := unistore.Scale(c.Context, st, c.Args().First(), c.Int("connections"), c.IntSlice("group")...); err != nil {
				return err
			}
			fmt.Fprintf(stdout(c), "run %s: workers move to %d connections\n", c.Args().First(), c.Int("connections"))
			return nil
		}),
	}
}
