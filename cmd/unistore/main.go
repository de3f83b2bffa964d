// Command unistore drives controlled, measured load against transactional
// database tables. Run `unistore help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/unistore-bench/unistore/driver/postgres" // target drivers
	_ "github.com/unistore-bench/unistore/driver/snowflake"
	_ "github.com/unistore-bench/unistore/driver/sqlite"
	_ "github.com/unistore-bench/unistore/store/postgres" // results store backends
	_ "github.com/unistore-bench/unistore/store/snowflake"
	_ "github.com/unistore-bench/unistore/store/sqlite"
)

// Exit statuses (documented in the README's "Exit status").
const (
	exitFailed      = 1   // the store, the target or the run failed
	exitBadInput    = 2   // a template, flag or argument is wrong; nothing started
	exitLeaseLost   = 3   // worker: the orchestrator stopped renewing the run
	exitUnrecorded  = 4   // the run was measured but not fully recorded: rows or its status wait in the spool (or were dropped)
	exitSLOBreach   = 3   // run --check-slo: an objective was breached
	exitStopped     = 5   // the run was stopped on request (`unistore stop RUN_ID` from another shell)
	exitGivenUp     = 6   // worker: the orchestrator gave its group up; a restart cannot rejoin (a Kubernetes pod failure policy fails the index on it)
	exitInterrupted = 130 // Ctrl-C or SIGTERM: the run stopped cleanly, its summary printed
)

// exitCode carries a specific exit status out of an action.
type exitCode struct {
	code int
	err  error
}

func (e exitCode) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

// hurry is what a second Ctrl-C (or SIGTERM) calls: the running command's
// way to end at once (a run spools what its store has not taken). Without
// one, a second signal exits at once.
var hurry atomic.Pointer[hurryAction]

type hurryAction struct {
	f    func()
	note string // said on stderr at the first signal ("" for nothing)
}

// setHurry registers f as the second signal's action (nil: none); note,
// if not empty, is said on stderr when the first signal comes, so the
// user knows a second one does something (a worker process, whose
// signals come from its orchestrator, says nothing).
func setHurry(f func(), note string) {
	if f == nil {
		hurry.Store(nil)
		return
	}
	hurry.Store(&hurryAction{f: f, note: note})
}

func main() {
	// GOMAXPROCS is process policy, so main decides it too: this process
	// exists to drive load, so each event loop of the PostgreSQL epoll
	// engine gets a P of its own (a DSN's engine_procs=shared says
	// otherwise). bench/README.md, "one loop per core", has the figures.
	postgres.SetDefaultEngineProcs(postgres.ProcsDedicated)
	// The library never installs signal handlers: main does. The first
	// Ctrl-C cancels the run, which stops within its flush timeout and
	// still prints its summary; a second one makes it spool what the
	// store has not taken and exit at once; a third exits regardless.
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel()
		if h := hurry.Load(); h != nil && h.note != "" {
			fmt.Fprintln(os.Stderr, "unistore: "+h.note)
		}
		<-sigs
		if h := hurry.Load(); h != nil {
			h.f()
			<-sigs
		}
		os.Exit(exitInterrupted)
	}()
	app := newApp()
	err := app.RunContext(ctx, interspersed(app, os.Args))
	if err == nil {
		return
	}
	code := 1
	var ec exitCode
	if errors.As(err, &ec) {
		code, err = ec.code, ec.err
	}
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "unistore:") {
			msg = "unistore: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
	}
	os.Exit(code)
}

func newApp() *cli.App {
	return &cli.App{
		Name:                 "unistore",
		Usage:                "controlled, measured load against transactional database tables",
		EnableBashCompletion: true,
		Commands: []*cli.Command{
			runCommand(),
			quickstartCommand(),
			schemaCommand(),
			runsCommand(),
			templatesCommand(),
			workerCommand(),
			stopCommand(),
			scaleCommand(),
			emulateCommand(),
			serveCommand(),
			k8sCommand(),
			findMaxCommand(),
		},
	}
}
