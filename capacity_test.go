package unistore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/orchestrator"
)

// TestCapacityCountsMeter: on a server with max_connections 8 (a private
// cluster, nothing else connected, as its superuser), a run of 8
// connections does not fit — the run's meter holds a session of its own
// for pg_stat_statements — and is refused before load, saying so; a run
// of 7 fits exactly and completes without an error.
func TestCapacityCountsMeter(t *testing.T) {
	p := testpg.StartPrivate(t)
	testpg.Exec(t, p.DSN, `ALTER SYSTEM SET max_connections = 8`)
	p.Stop()
	p.Start()
	testpg.Exec(t, p.DSN,
		`CREATE TABLE t (id bigint PRIMARY KEY, v bigint NOT NULL)`,
		`INSERT INTO t SELECT g, g * 7 FROM generate_series(1, 100) g`)
	if got := testpg.QueryInt(t, p.DSN, `SELECT current_setting('max_connections')::int`); got != 8 {
		t.Fatalf("max_connections %d, want 8", got)
	}
	spec := func(conns int) unistore.Spec {
		s := selectSpec(p.DSN, 100)
		s.Connections, s.Warmup, s.Duration = conns, 0, core.Duration(500*time.Millisecond)
		s.Control.MaxRelaunches = -1
		return s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	_, err := unistore.Run(ctx, spec(8))
	if !errors.Is(err, orchestrator.ErrCapacity) {
		t.Fatalf("8 connections and the meter's on max_connections 8: err %v, want ErrCapacity", err)
	}
	for _, want := range []string{"the run needs 9 connections (1 workers × 8, plus 1 for the run's meter", "but the target has 8 free", "max_connections 8"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q lacks %q", err, want)
		}
	}

	// The refused run's preflight session ends on the server a moment
	// after the client closed it: wait until no other client is
	// connected, or the exact fit below would find one slot fewer.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n := testpg.QueryInt(t, p.DSN, `SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d client sessions still connected 10 s after the refused run", n)
		}
	}
	res, err := unistore.Run(ctx, spec(7))
	if err != nil {
		t.Fatalf("7 connections and the meter's on max_connections 8: %v", err)
	}
	if res.Status != core.StatusCompleted || res.Total.Count == 0 || res.Total.Errors != 0 {
		t.Fatalf("exact fit: status %s, %d operations, %d errors (%v)", res.Status, res.Total.Count, res.Total.Errors,
			fmt.Sprint(res.Total.ErrorsByClass))
	}
	if res.Server == nil {
		t.Error("exact fit: no server section: the meter did not run")
	}
}
