package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

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

// TestBrowserFindMaxSteps: a find-max run's page shows its SLO verdicts
// and its steps, as a table and a chart, with no script error.
func TestBrowserFindMaxSteps(t *testing.T) {
	exe := chromium(t)
	e := newEnv(t, "")
	ctx := context.Background()
	p99 := 20.0
	spec := core.Spec{Name: "fm", Connections: 8, SLO: &core.SLO{P99Ms: &p99}}
	res := core.Result{RunID: "fm", Name: "fm", Status: core.StatusCompleted,
		SLO: []core.SLOVerdict{{Scope: "total", Objective: "p99_ms", Threshold: 20, Observed: 12, Pass: true}}}
	summary, _ := json.Marshal(res)
	if err := e.st.CreateRun(ctx, store.Run{ID: "fm", Name: "fm", Spec: spec, Status: core.StatusCompleted, Phase: core.PhaseDone,
		Summary: summary}); err != nil {
		t.Fatal(err)
	}
	var rows []store.Step
	for i, rate := range []float64{100, 200, 400, 300} {
		s := unistore.FindMaxStep{Step: i + 1, Rate: rate, Connections: 8, QPS: min(rate, 350), Verdict: unistore.StepPass}
		s.Latency.P99 = 5
		if rate > 350 {
			s.Verdict, s.Latency.P99 = unistore.StepBreach, 80
		}
		d, _ := json.Marshal(s)
		rows = append(rows, store.Step{RunID: "fm", Step: i + 1, By: "rate", Target: fmt.Sprint(rate), Verdict: s.Verdict,
			StartedAt: time.Now(), EndedAt: time.Now(), Detail: d})
	}
	if err := e.st.(store.StepStore).WriteSteps(ctx, rows); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	bctx := startChrome(t, cctx, exe)
	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(bctx, func(ev any) {
		if ex, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			mu.Lock()
			problems = append(problems, ex.ExceptionDetails.Text)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	var table string
	err := chromedp.Do(bctx,
		chromedp.Navigate(e.ts.URL+"/#/run/fm"),
		chromedp.Poll[chromedp.Void](`Number(document.getElementById("fm-steps")?.dataset.points || 0) === 4`,
			chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			table, err = chromedp.Text(chromedp.CSS(`#view`))(ctx, tg)
			return err
		}),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	for _, want := range []string{"find-max steps", "BREACH", "Service-level objectives", "PASS"} {
		if !strings.Contains(table, want) {
			t.Errorf("page lacks %q:\n%s", want, table)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error("script error: " + p)
	}
}
