package main_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/store"
)

// TestRunsListEnrichment: `runs list --enrichment pending` lists the runs
// whose stored summary has an enrichment waiting for the server's views,
// on a SQLite and a PostgreSQL store, with no schema change; the table
// shows every run's state; an unknown state is a usage error (exit 2).
func TestRunsListEnrichment(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			dsn := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
			if kind == "postgres" {
				dsn = testpg.NewDatabase(t)
			}
			if out, err := exec.Command(bin, "schema", "apply", "--store", dsn).CombinedOutput(); err != nil {
				t.Fatalf("schema apply: %v\n%s", err, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
			for i, r := range []struct{ id, cost, server string }{
				{"20261201-000000-00000a", core.EnrichPending, core.EnrichPending},
				{"20261201-000000-00000b", core.EnrichCompleted, core.EnrichCompleted},
				{"20261201-000000-00000c", "", core.EnrichCompleted},
			} {
				if err := st.CreateRun(ctx, store.Run{ID: r.id, Name: "e", Status: core.StatusPrepared, CreatedAt: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
					t.Fatal(err)
				}
				res := core.Result{RunID: r.id, Status: core.StatusCompleted, Server: &core.ServerStats{Source: "s", Status: r.server}}
				if r.cost != "" {
					res.Cost = &core.CostStats{Source: "estimate", Enrichment: &core.Enrichment{Status: r.cost}}
				}
				b, _ := json.Marshal(res)
				status := core.StatusCompleted
				if err := st.UpdateRun(ctx, r.id, store.RunUpdate{Status: &status, Summary: b}); err != nil {
					t.Fatal(err)
				}
			}
			stdout, stderr, code := unistoreIn(t, dsn, "runs", "list", "--enrichment", "pending", "--json")
			var runs []struct {
				RunID      string `json:"run_id"`
				Enrichment string `json:"enrichment"`
			}
			if code != 0 || json.Unmarshal([]byte(stdout), &runs) != nil {
				t.Fatalf("exit %d: %s%s", code, stdout, stderr)
			}
			if len(runs) != 1 || runs[0].RunID != "20261201-000000-00000a" || runs[0].Enrichment != core.EnrichPending {
				t.Errorf("runs list --enrichment pending: %s", stdout)
			}
			stdout, stderr, code = unistoreIn(t, dsn, "runs", "list")
			if code != 0 || !strings.Contains(stdout, "ENRICHMENT") || strings.Count(stdout, "COMPLETED  ") < 1 ||
				!strings.Contains(stdout, core.EnrichPending) {
				t.Errorf("runs list: exit %d\n%s%s", code, stdout, stderr)
			}
			_, stderr, code = unistoreIn(t, dsn, "runs", "list", "--enrichment", "later")
			if code != 2 || !strings.Contains(stderr, `--enrichment: unistore: runs: bad filter: enrichment "later": want one of PENDING, COMPLETED, SKIPPED, FAILED, NONE`) {
				t.Errorf("--enrichment later: exit %d, %s", code, stderr)
			}
		})
	}
}
