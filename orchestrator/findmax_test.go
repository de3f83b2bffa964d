package orchestrator_test

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/store"
)

func p99Under(ms float64) core.SLO { return core.SLO{P99Ms: &ms} }

// findMax runs find-max on r's connector with spec and c.
func (r *rig) findMax(t *testing.T, spec core.Spec, c orchestrator.FindMaxConfig) *orchestrator.FindMaxResult {
	t.Helper()
	svc := &orchestrator.Service{Store: r.st, Launcher: r.inProcess(), Logger: quiet, StopGrace: 2 * time.Second}
	out, err := svc.FindMax(context.Background(), spec, orchestrator.Options{Connector: r.conn, DriverName: "sleep", Workload: r.wl}, c)
	if err != nil {
		t.Fatalf("FindMax: %v", err)
	}
	for _, s := range out.Steps {
		t.Logf("step %d: rate %.1f connections %d: qps %.1f p99 %.1f ms achieved %.3f skipped %d: %s %s",
			s.Step, s.Rate, s.Connections, s.QPS, s.Latency.P99, s.Achieved, s.Skipped, s.Verdict, s.Note)
	}
	t.Logf("answer %s: max qps %.1f, max rate %.1f, max connections %d, first bad %.1f", out.Answer, out.MaxQPS,
		out.MaxRate, out.MaxConnections, out.FirstBad)
	return out
}

// TestFindMaxCapacity: a target serving 4 statements at a time, 10 ms
// each, has a capacity of exactly 400/s. Stepping the rate from 50/s with
// p99 < 30 ms, find-max climbs to a breach, bisects, and answers within
// 10 % of 400/s — never above it, where the queue grows without bound.
// The steps are stored, and the run completes.
func TestFindMaxCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(store.NewMemory())
		r.conn.Slots = 4
		spec := testSpec(1, 0, time.Second)
		spec.Connections = 32
		out := r.findMax(t, spec, orchestrator.FindMaxConfig{SLO: p99Under(30), Start: 50,
			StepWarmup: core.Duration(2 * time.Second), StepDuration: core.Duration(5 * time.Second)})
		if out.Answer != orchestrator.AnswerFound {
			t.Fatalf("answer %q, want found", out.Answer)
		}
		if out.MaxRate < 360 || out.MaxRate > 400 {
			t.Errorf("max rate %.1f/s, want within 10%% below the capacity, 400/s", out.MaxRate)
		}
		if out.MaxQPS < 360 || out.MaxQPS > 410 {
			t.Errorf("max qps %.1f, want about the max rate", out.MaxQPS)
		}
		if out.FirstBad <= out.MaxRate || (out.FirstBad-out.MaxRate)/out.MaxRate > 0.05 {
			t.Errorf("first bad %.1f, max %.1f: want the bracket within the 5%% resolution", out.FirstBad, out.MaxRate)
		}
		for _, s := range out.Steps {
			if s.Verdict == orchestrator.StepPass && s.Rate > 400 {
				t.Errorf("step %d passed at %.1f/s, above the capacity", s.Step, s.Rate)
			}
			if s.Verdict == orchestrator.StepBreach && s.Rate < 400 {
				t.Errorf("step %d breached at %.1f/s, below the capacity", s.Step, s.Rate)
			}
			if len(s.SLO) != 1 || s.SLO[0].Objective != core.ObjectiveP99 {
				t.Errorf("step %d verdicts %+v, want the p99 objective", s.Step, s.SLO)
			}
		}
		if out.Result == nil || out.Result.Status != core.StatusCompleted {
			t.Errorf("run result %+v, want COMPLETED", out.Result)
		}
		stored, err := r.st.(store.StepStore).Steps(context.Background(), out.RunID)
		if err != nil || len(stored) != len(out.Steps) {
			t.Fatalf("stored steps %d (%v), want %d", len(stored), err, len(out.Steps))
		}
		for i, row := range stored {
			var s orchestrator.FindMaxStep
			if err := json.Unmarshal(row.Detail, &s); err != nil || s.Verdict != out.Steps[i].Verdict || row.Verdict != s.Verdict || row.By != "rate" {
				t.Errorf("stored step %d: %+v (%v), want %s", i+1, row, err, out.Steps[i].Verdict)
			}
		}
	})
}

// TestFindMaxByConnections: the same target in a closed loop: up to 4
// connections every statement takes 10 ms; at 5 or more some wait for a
// slot, and p99 reaches 20 ms. With p99 < 15 ms the answer is 4
// connections, at 400/s.
func TestFindMaxByConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(store.NewMemory())
		r.conn.Slots = 4
		out := r.findMax(t, testSpec(1, 0, time.Second), orchestrator.FindMaxConfig{By: orchestrator.FindMaxByConnections,
			SLO: p99Under(15), StepWarmup: core.Duration(time.Second), StepDuration: core.Duration(3 * time.Second)})
		if out.Answer != orchestrator.AnswerFound || out.MaxConnections != 4 {
			t.Fatalf("answer %q, %d connections; want found, 4", out.Answer, out.MaxConnections)
		}
		if out.MaxQPS < 380 || out.MaxQPS > 420 {
			t.Errorf("max qps %.1f, want 400", out.MaxQPS)
		}
	})
}

// TestFindMaxClientBound: 2 connections of 10 ms cannot start more than
// 200/s. With an SLO loose enough to pass anyway, the step that asks more
// is client-bound, and so is the answer: not a figure of the target.
func TestFindMaxClientBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(store.NewMemory())
		spec := testSpec(1, 0, time.Second)
		spec.Connections = 2
		out := r.findMax(t, spec, orchestrator.FindMaxConfig{SLO: p99Under(60_000), Start: 50,
			StepWarmup: core.Duration(time.Second), StepDuration: core.Duration(3 * time.Second)})
		if out.Answer != orchestrator.AnswerClientBound {
			t.Fatalf("answer %q, want client-bound", out.Answer)
		}
		last := out.Steps[len(out.Steps)-1]
		if last.Verdict != orchestrator.StepClientBound || last.Rate <= 200 || last.Achieved >= orchestrator.FindMaxAchievedMin {
			t.Errorf("last step %+v, want client-bound above 200/s", last)
		}
	})
}

func TestFindMaxConfigErrors(t *testing.T) {
	qps := 10.0
	for _, tc := range []struct {
		name string
		c    orchestrator.FindMaxConfig
		path string
	}{
		{"no slo", orchestrator.FindMaxConfig{}, "slo"},
		{"qps slo", orchestrator.FindMaxConfig{SLO: core.SLO{MinQPS: &qps}}, "slo"},
		{"by", orchestrator.FindMaxConfig{By: "threads", SLO: p99Under(1)}, "by"},
		{"factor", orchestrator.FindMaxConfig{Factor: 0.5, SLO: p99Under(1)}, "factor"},
		{"half a connection", orchestrator.FindMaxConfig{By: orchestrator.FindMaxByConnections, Start: 1.5, SLO: p99Under(1)}, "start"},
		{"short steps", orchestrator.FindMaxConfig{StepDuration: core.Duration(time.Second), SLO: p99Under(1)}, "step-duration"},
	} {
		err := tc.c.WithDefaults().Validate()
		fe, ok := err.(core.FieldErrors)
		if !ok || len(fe) != 1 || fe[0].Path != tc.path {
			t.Errorf("%s: %v, want one problem with %s", tc.name, err, tc.path)
		}
	}
}

// TestFindMaxAfterOverload: after a step far above the capacity, the
// step below it is judged on its own: the backlog the overload built is
// dropped at the rate change, so 300/s meets p99 < 30 ms again.
func TestFindMaxAfterOverload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(store.NewMemory())
		r.conn.Slots = 4
		spec := testSpec(1, 0, time.Second)
		spec.Connections = 32
		// 300 passes, 1200 breaches, then bisection tries 750 (bad) and
		// 525 (bad) and 412.5 (bad) and 356.25 (good).
		out := r.findMax(t, spec, orchestrator.FindMaxConfig{SLO: p99Under(30), Start: 300, Factor: 4, Resolution: 0.2,
			StepWarmup: core.Duration(2 * time.Second), StepDuration: core.Duration(3 * time.Second)})
		if out.Answer != orchestrator.AnswerFound || out.MaxRate < 350 || out.MaxRate > 400 {
			t.Fatalf("answer %q at %.1f/s, want found between 350 and 400", out.Answer, out.MaxRate)
		}
	})
}
