package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// TestStepsEndpoint: a find-max run's stored steps come back decoded; a
// run that is not one has none; an unknown run is a 404.
func TestStepsEndpoint(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if err := e.st.CreateRun(ctx, store.Run{ID: "fm", Name: "fm", Status: core.StatusCompleted, Phase: core.PhaseDone}); err != nil {
		t.Fatal(err)
	}
	step := unistore.FindMaxStep{Step: 1, Rate: 400, Connections: 8, QPS: 399.5, Verdict: unistore.StepPass,
		StartedAt: time.Now().UTC().Truncate(time.Microsecond)}
	detail, _ := json.Marshal(step)
	if err := e.st.(store.StepStore).WriteSteps(ctx, []store.Step{{RunID: "fm", Step: 1, By: "rate", Target: "400",
		Verdict: step.Verdict, StartedAt: step.StartedAt, EndedAt: step.StartedAt, Detail: detail}}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.do("GET", "/api/v1/runs/fm/steps", nil)
	var got []unistore.FindMaxStep
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &got) != nil || len(got) != 1 || got[0].QPS != 399.5 || got[0].Verdict != "PASS" {
		t.Errorf("steps: %d %s", resp.StatusCode, body)
	}
	if err := e.st.CreateRun(ctx, store.Run{ID: "plain", Name: "p", Status: core.StatusCompleted, Phase: core.PhaseDone}); err != nil {
		t.Fatal(err)
	}
	if resp, body := e.do("GET", "/api/v1/runs/plain/steps", nil); resp.StatusCode != http.StatusOK || string(body) != "[]\n" && string(body) != "[]" {
		t.Errorf("a plain run's steps: %d %q, want []", resp.StatusCode, body)
	}
	if resp, _ := e.do("GET", "/api/v1/runs/nope/steps", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown run: %d, want 404", resp.StatusCode)
	}
}
