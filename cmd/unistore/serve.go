package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/httpapi"
)

// shutdownGrace bounds how long serve waits, on SIGTERM, for its runs to
// stop and store their results.
const shutdownGrace = 60 * time.Second

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "the controller: HTTP API, live WebSocket stream, Prometheus /metrics and the web UI, with the orchestrator embedded",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "`HOST:PORT` to listen on; a non-loopback address needs --token-file"},
			storeFlag(),
			&cli.StringFlag{Name: "token-file", Usage: "require the token in `FILE` on /api/* and /metrics (Authorization: Bearer TOKEN)"},
			&cli.StringFlag{Name: "launcher", Usage: "how the workers of runs started through the API start: process (one worker process each, the default even for one worker), inprocess (goroutines of this process), kubernetes (an Indexed Job per run), spcs (a Snowpark Container Services job service per run) or external (started elsewhere, given the run's id)"},
			&cli.BoolFlag{Name: "in-process", Usage: "same as --launcher inprocess"},
		}, serveLauncherFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return exitCode{2, errors.New("serve: takes no arguments")}
			}
			token, err := readToken(c.String("token-file"))
			if err != nil {
				return exitCode{2, err}
			}
			addr := c.String("listen")
			if err := httpapi.CheckListen(addr, token != ""); err != nil {
				return exitCode{2, err}
			}
			stderr := c.App.ErrWriter
			if stderr == nil {
				stderr = os.Stderr
			}
			// The launcher of every run started through the API, checked
			// and built before the store opens and the port listens.
			launcher, err := launcherOption(c, nil, stderr)
			if err != nil {
				return exitCode{2, err}
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			logger := slog.New(slog.NewTextHandler(stderr, nil))
			storeDSN := c.String("store")
			cfg := httpapi.Config{Store: st, Token: token, Logger: logger}
			// Worker processes by default, even for one worker (unlike
			// `run`, whose default keeps a lone worker in the process):
			// the load then never shares the controller's process, so the
			// API and the live streams stay responsive at any load.
			if launcher != nil {
				cfg.RunOptions = func(unistore.Spec) []unistore.Option {
					return []unistore.Option{launcher}
				}
			}
			srv, err := httpapi.New(cfg)
			if err != nil {
				return err
			}
			// A second signal, while the runs stop: they spool what the
			// store has not taken and end at once, as `unistore run` does.
			setHurry(srv.Hurry, "shutting down: stopping the runs; Ctrl-C (or SIGTERM) again to spool what the store has not taken and exit at once")
			defer setHurry(nil, "")
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return exitCode{1, fmt.Errorf("serve: %w", err)}
			}
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
			served := make(chan error, 1)
			go func() { served <- hs.Serve(ln) }()
			logger.Info("serve: listening", "addr", ln.Addr().String())
			fmt.Fprintf(stdout(c), "unistore: serving http://%s/ (store %s, workers %s, token %s)\n", ln.Addr(),
				core.RedactDSN(storeDSN), serveWorkers(c),
				map[bool]string{true: "required", false: "none: loopback only"}[token != ""])
			select {
			case err := <-served:
				return fmt.Errorf("serve: %w", err)
			case <-c.Context.Done():
			}
			// SIGTERM or Ctrl-C: stop every run (each stores its summary
			// and ends CANCELLED; live clients get the result), then stop
			// serving. A second one hurries them (setHurry above).
			logger.Info("serve: shutting down: stopping runs")
			ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
			defer cancel()
			runsErr := srv.Shutdown(ctx)
			httpErr := hs.Shutdown(ctx)
			if err := errors.Join(runsErr, httpErr); err != nil {
				return fmt.Errorf("serve: shutdown: %w", err)
			}
			logger.Info("serve: stopped")
			return nil
		},
	}
}

// readToken reads the token file: its first line, trimmed. A named file
// that is missing or empty is an error, never "no token".
func readToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("serve: token file: %w", err)
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", fmt.Errorf("serve: token file %s is empty", path)
	}
	return tok, nil
}

// serveLauncherFlags are run's cluster launcher flags but --run-id: every
// run started through the API gets an id of its own.
func serveLauncherFlags() []cli.Flag {
	var out []cli.Flag
	for _, f := range launcherFlags() {
		if f.Names()[0] != "run-id" {
			out = append(out, f)
		}
	}
	return out
}

// serveWorkers says where serve's runs start their workers.
func serveWorkers(c *cli.Context) string {
	name, _ := launcherName(c)
	switch name {
	case "", unistore.LauncherProcess:
		return "as processes"
	case unistore.LauncherInProcess:
		return "in-process"
	}
	return "through the " + name + " launcher"
}
