package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/httpapi"
	"github.com/unistore-bench/unistore/store"
)

// TestEnrichAPI: POST /api/v1/runs/{id}/enrich is `runs enrich`: a
// finished run without warehouse metering is recorded SKIPPED; a target
// that cannot be reached is recorded FAILED with the reason and no
// secret, even the one the body gave; a running run is a 409, an unknown
// one a 404; it takes the token as the other endpoints do. GET
// /api/v1/runs?enrichment= lists by the recorded state.
func TestEnrichAPI(t *testing.T) {
	const token, secret = "t0ken-enrich", "pa55-enrich-secret"
	e := newEnv(t, token)
	ctx := context.Background()
	finished := func(id string, res core.Result, spec core.Spec) {
		t.Helper()
		if err := e.st.CreateRun(ctx, store.Run{ID: id, Name: id, Spec: spec, Status: core.StatusPrepared}); err != nil {
			t.Fatal(err)
		}
		res.RunID, res.Status = id, core.StatusCompleted
		b, _ := json.Marshal(res)
		status := core.StatusCompleted
		if err := e.st.UpdateRun(ctx, id, store.RunUpdate{Status: &status, Summary: b}); err != nil {
			t.Fatal(err)
		}
	}
	finished("pg-run", core.Result{Cost: &core.CostStats{Source: "none"}}, core.Spec{Name: "pg-run"})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dead := fmt.Sprintf("postgres://bob:%s@127.0.0.1:%d/x?sslmode=disable&connect_timeout=1", secret, closed)
	finished("sf-run", core.Result{Cost: &core.CostStats{Source: "estimate", Warehouse: "W",
		Enrichment: &core.Enrichment{Status: core.EnrichPending}}},
		core.Spec{Name: "sf-run", Target: core.Target{Driver: "postgres", DSN: core.RedactDSN(dead)}})
	if err := e.st.CreateRun(ctx, store.Run{ID: "live-run", Name: "live-run", Status: core.StatusRunning}); err != nil {
		t.Fatal(err)
	}

	req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/runs/pg-run/enrich", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %v %v", err, resp)
	}

	resp, body := e.do("GET", "/api/v1/runs?enrichment=pending", nil)
	e.want(resp, body, http.StatusOK)
	var list []unistore.RunInfo
	if err := json.Unmarshal(body, &list); err != nil || len(list) != 1 || list[0].RunID != "sf-run" {
		t.Errorf("runs?enrichment=pending: %v %s", err, body)
	}
	resp, body = e.do("GET", "/api/v1/runs?enrichment=later", nil)
	e.want(resp, body, http.StatusBadRequest)

	resp, body = e.do("POST", "/api/v1/runs/pg-run/enrich", nil)
	e.want(resp, body, http.StatusOK)
	var er httpapi.EnrichResponse
	if err := json.Unmarshal(body, &er); err != nil || er.RunID != "pg-run" || er.Cost == nil || er.Cost.Enrichment == nil ||
		er.Cost.Enrichment.Status != core.EnrichSkipped {
		t.Errorf("enrich pg-run: %v %s", err, body)
	}

	resp, body = e.do("POST", "/api/v1/runs/sf-run/enrich", httpapi.EnrichRequest{Target: dead})
	e.want(resp, body, http.StatusOK)
	if err := json.Unmarshal(body, &er); err != nil || er.Cost == nil || er.Cost.Enrichment == nil ||
		er.Cost.Enrichment.Status != core.EnrichFailed || er.Cost.Enrichment.Reason == "" {
		t.Errorf("enrich sf-run with a dead target: %v %s", err, body)
	}
	if strings.Contains(string(body), secret) {
		t.Errorf("the answer holds the target's password: %s", body)
	}
	resp, body = e.do("GET", "/api/v1/runs?enrichment=failed", nil)
	e.want(resp, body, http.StatusOK)
	if err := json.Unmarshal(body, &list); err != nil || len(list) != 1 || list[0].RunID != "sf-run" {
		t.Errorf("runs?enrichment=failed after the enrich: %v %s", err, body)
	}

	resp, body = e.do("POST", "/api/v1/runs/live-run/enrich", nil)
	e.want(resp, body, http.StatusConflict)
	resp, body = e.do("POST", "/api/v1/runs/nope/enrich", nil)
	e.want(resp, body, http.StatusNotFound)
	resp, body = e.do("POST", "/api/v1/runs/pg-run/enrich", map[string]string{"target": "x", "bogus": "y"})
	e.want(resp, body, http.StatusBadRequest)

	for _, id := range []string{"pg-run", "sf-run"} {
		run, err := e.st.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(run.Summary), secret) {
			t.Errorf("%s: the stored summary holds the target's password", id)
		}
	}
	if strings.Contains(e.log.String(), secret) {
		t.Error("the server's log holds the target's password")
	}
}
