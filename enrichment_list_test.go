package unistore_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// storeRunWithSummary stores a finished run whose summary holds the given
// cost enrichment and server status ("" for none).
func storeRunWithSummary(t *testing.T, st store.Store, id string, created time.Time, costState, serverState string) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateRun(ctx, store.Run{ID: id, Name: "n", Status: core.StatusPrepared, CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	res := core.Result{RunID: id, Status: core.StatusCompleted}
	if costState != "" {
		res.Cost = &core.CostStats{Source: "estimate", Enrichment: &core.Enrichment{Status: costState, Reason: "r"}}
	}
	if serverState != "" {
		res.Server = &core.ServerStats{Source: "aggregate_query_history", Status: serverState}
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	status := core.StatusCompleted
	if err := st.UpdateRun(ctx, id, store.RunUpdate{Status: &status, Summary: b}); err != nil {
		t.Fatal(err)
	}
}

// TestRunsByEnrichment: Runs lists the runs whose enrichment is in a
// state, read from their stored summaries; the limit counts the runs
// that match; an unknown state is ErrBadFilter.
func TestRunsByEnrichment(t *testing.T) {
	st := store.NewMemory()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, r := range []struct{ id, cost, server string }{
		{"a-cost-pending", core.EnrichPending, ""},
		{"b-server-completed", "", core.EnrichCompleted},
		{"c-none", "", ""},
		{"d-server-pending", core.EnrichCompleted, core.EnrichPending},
		{"e-failed", core.EnrichFailed, core.EnrichCompleted},
		{"f-skipped", core.EnrichSkipped, core.EnrichSkipped},
	} {
		storeRunWithSummary(t, st, r.id, t0.Add(time.Duration(i)*time.Minute), r.cost, r.server)
	}
	ids := func(f unistore.RunFilter) []string {
		t.Helper()
		runs, err := unistore.Runs(context.Background(), st, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range runs {
			out = append(out, r.RunID+"="+r.Enrichment)
		}
		return out
	}
	for _, tc := range []struct {
		f    unistore.RunFilter
		want []string
	}{
		{unistore.RunFilter{Enrichment: "pending"}, []string{"d-server-pending=PENDING", "a-cost-pending=PENDING"}},
		{unistore.RunFilter{Enrichment: "PENDING", Limit: 1}, []string{"d-server-pending=PENDING"}},
		{unistore.RunFilter{Enrichment: "failed"}, []string{"e-failed=FAILED"}},
		{unistore.RunFilter{Enrichment: "completed"}, []string{"b-server-completed=COMPLETED"}},
		{unistore.RunFilter{Enrichment: "skipped"}, []string{"f-skipped=SKIPPED"}},
		{unistore.RunFilter{Enrichment: "none"}, []string{"c-none="}},
		{unistore.RunFilter{Limit: 2}, []string{"f-skipped=SKIPPED", "e-failed=FAILED"}},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.f, got, tc.want)
		}
	}
	if _, err := unistore.Runs(context.Background(), st, unistore.RunFilter{Enrichment: "later"}); !errors.Is(err, unistore.ErrBadFilter) {
		t.Errorf("enrichment later: err %v, want ErrBadFilter", err)
	}
}
