package unistore_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/internal/sleepdriver"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/workload"
)

// TestOptionsNeverVanish: an option a launcher cannot honour is an error
// naming it, before anything is written; the in-process launcher honours
// every option, given by default or with WithLauncher.
func TestOptionsNeverVanish(t *testing.T) {
	conn := &sleepdriver.Connector{D: time.Millisecond}
	remote := unistore.WithLauncher(orchestrator.External{})
	wl, err := workload.Compile(selectSpec("", 10).Workload)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []unistore.Option
		want string
	}{
		{"connector", []unistore.Option{unistore.WithConnector("sleep", conn)}, "WithConnector"},
		{"workload", []unistore.Option{unistore.WithWorkload(wl)}, "WithWorkload"},
		{"interval", []unistore.Option{unistore.WithInterval(time.Second)}, "WithInterval"},
		{"flush timeout", []unistore.Option{unistore.WithFlushTimeout(time.Second)}, "WithFlushTimeout"},
		{"writer", []unistore.Option{unistore.WithWriterConfig(store.WriterConfig{})}, "WithWriterConfig"},
		{"no store", nil, "needs WithStore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := store.NewMemory()
			opts := append([]unistore.Option{remote}, tc.opts...)
			if tc.name != "no store" {
				opts = append(opts, unistore.WithStore(st))
			}
			spec := selectSpec("postgres://u@127.0.0.1:1/db", 10)
			h, err := unistore.Start(context.Background(), spec, opts...)
			if err == nil {
				h.Stop()
				h.Wait()
				t.Fatalf("Start succeeded; want an error naming %s", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
			if runs, _ := st.ListRuns(context.Background(), store.RunFilter{}); len(runs) != 0 {
				t.Errorf("%d run rows written", len(runs))
			}
		})
	}

	// A flush timeout reaches worker processes (ProcessLauncher passes it
	// on as `worker --flush-timeout`): no error names it; the target,
	// unreachable, is the error.
	{
		spec := selectSpec("postgres://u@127.0.0.1:1/db", 10)
		h, err := unistore.Start(context.Background(), spec, unistore.WithStore(store.NewMemory()),
			unistore.WithLauncher(unistore.ProcessLauncher("", "sqlite://unused", nil)), unistore.WithFlushTimeout(time.Second))
		if err == nil {
			h.Stop()
			h.Wait()
			t.Fatal("Start succeeded against an unreachable target")
		}
		if strings.Contains(err.Error(), "WithFlushTimeout") {
			t.Errorf("WithFlushTimeout beside ProcessLauncher: %v; want it passed on", err)
		}
	}

	// The in-process launcher, given explicitly, still gets the worker
	// tuning: 100 ms snapshots over a 1 s measurement are ~10 rows, where
	// the default interval would give ~1.
	st := store.NewMemory()
	spec := selectSpec("", 10)
	spec.Warmup = 0
	res, err := unistore.Run(context.Background(), spec, unistore.WithStore(st), unistore.WithConnector("sleep", conn),
		unistore.WithLauncher(orchestrator.InProcess{}), unistore.WithInterval(100*time.Millisecond),
		unistore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.Snapshots(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 6 {
		t.Errorf("%d snapshot rows over %v: WithInterval(100ms) did not reach the given in-process launcher", len(rows), spec.Duration)
	}
}
