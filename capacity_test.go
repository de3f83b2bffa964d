package unistore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/orchestrator"
)

// TestCapacityCountsMeter: on a server with max_connections 9 (a private
// cluster, as its superuser) and one session held by the test, a run of 8
// connections does not fit — the run's meter holds a session of its own
// for pg_stat_statements — and is refused before load, saying so; a run
// of 7 fits exactly and completes without an error.
func TestCapacityCountsMeter(t *testing.T) {
	p := testpg.StartPrivate(t)
	testpg.Exec(t, p.DSN, `ALTER SYSTEM SET max_connections = 9`)
	p.Stop()
	p.Start()
	testpg.Exec(t, p.DSN,
		`CREATE TABLE t (id bigint PRIMARY KEY, v bigint NOT NULL)`,
		`INSERT INTO t SELECT g, g * 7 FROM generate_series(1, 100) g`)
	if got := testpg.QueryInt(t, p.DSN, `SELECT current_setting('max_connections')::int`); got != 9 {
		t.Fatalf("max_connections %d, want 9", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// One session held for the whole test watches the others: a session
	// opened to look would hold a slot itself for a moment after closing
	// (its backend exits after the client has gone), which the next run's
	// count of free slots would see.
	hold, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close(context.Background())
	alone := func(after string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var n int
			if err := hold.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d other client sessions still connected 10 s %s", n, after)
			}
		}
	}
	alone("after the set-up")
	spec := func(conns int) unistore.Spec {
		s := selectSpec(p.DSN, 100)
		s.Connections, s.Warmup, s.Duration = conns, 0, core.Duration(500*time.Millisecond)
		s.Control.MaxRelaunches = -1
		return s
	}

	_, err = unistore.Run(ctx, spec(8))
	if !errors.Is(err, orchestrator.ErrCapacity) {
		t.Fatalf("8 connections and the meter's with 8 slots free: err %v, want ErrCapacity", err)
	}
	for _, want := range []string{"the run needs 9 connections (1 workers × 8, plus 1 for the run's meter", "but the target has 8 free", "max_connections 9", "1 in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q lacks %q", err, want)
		}
	}

	// The refused run's preflight session ends on the server a moment
	// after the client closed it: wait until it has, or the exact fit
	// below would find one slot fewer.
	alone("after the refused run")
	res, err := unistore.Run(ctx, spec(7))
	if err != nil {
		t.Fatalf("7 connections and the meter's with 8 slots free: %v", err)
	}
	if res.Status != core.StatusCompleted || res.Total.Count == 0 || res.Total.Errors != 0 {
		t.Fatalf("exact fit: status %s, %d operations, %d errors (%v)", res.Status, res.Total.Count, res.Total.Errors,
			fmt.Sprint(res.Total.ErrorsByClass))
	}
	if res.Server == nil {
		t.Error("exact fit: no server section: the meter did not run")
	}
}
