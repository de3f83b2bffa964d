package unistore_test

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/sleepdriver"
	"github.com/unistore-bench/unistore/stats"
	"github.com/unistore-bench/unistore/store"
)

func f64(v float64) *float64 { return &v }

// sleepRun runs spec on an in-memory target whose statements take d,
// recorded in st; inside a synctest bubble the time is virtual.
func sleepRun(t *testing.T, st store.Store, spec unistore.Spec, conn *sleepdriver.Connector) *unistore.Result {
	t.Helper()
	res, err := unistore.Run(context.Background(), spec, unistore.WithStore(st), unistore.WithConnector("sleep", conn),
		unistore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestSLOVerdicts: with a known latency of 10 ms, p99 < 15 ms and the
// operation's p95 < 15 ms pass; at 20 ms both fail, while the error rate
// (none) passes either way. The verdicts are in the result and in what
// the store gives back.
func TestSLOVerdicts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := store.NewMemory()
		rate := core.Ratio(0.001)
		spec := selectSpec("sleep://", 10)
		spec.SLO = &core.SLO{P99Ms: f64(15), ErrorRate: &rate}
		spec.Workload.Operations[0].SLO = &core.SLO{P95Ms: f64(15)}
		for _, tc := range []struct {
			d    time.Duration
			pass map[string]bool // by objective
		}{
			{10 * time.Millisecond, map[string]bool{"p99_ms": true, "error_rate": true, "p95_ms": true}},
			{20 * time.Millisecond, map[string]bool{"p99_ms": false, "error_rate": true, "p95_ms": false}},
		} {
			res := sleepRun(t, st, spec, &sleepdriver.Connector{D: tc.d})
			if len(res.SLO) != 3 {
				t.Fatalf("%s: %d verdicts, want 3: %+v", tc.d, len(res.SLO), res.SLO)
			}
			for _, v := range res.SLO {
				if v.Pass != tc.pass[v.Objective] {
					t.Errorf("%s: %s %s observed %v threshold %v: pass %v, want %v", tc.d, v.Scope, v.Objective,
						v.Observed, v.Threshold, v.Pass, tc.pass[v.Objective])
				}
			}
			if v := res.SLO[0]; v.Scope != core.ScopeTotal || v.Objective != core.ObjectiveP99 || math.Abs(v.Observed-tc.d.Seconds()*1000) > tc.d.Seconds()*10 {
				t.Errorf("%s: first verdict %+v, want the total's p99 at %v ms (HDR precision)", tc.d, v, tc.d.Seconds()*1000)
			}
			if v := res.SLO[2]; v.Scope != "select" {
				t.Errorf("%s: the operation's verdict has scope %q, want select", tc.d, v.Scope)
			}
			shown, err := unistore.Show(context.Background(), st, res.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if len(shown.SLO) != 3 || shown.SLO[0] != res.SLO[0] || shown.SLO[2] != res.SLO[2] {
				t.Errorf("%s: stored verdicts %+v, want %+v", tc.d, shown.SLO, res.SLO)
			}
		}
	})
}

// TestVerdict: two runs of the same spec on a target of the same latency
// are NO CHANGE in every figure; a run 30 % slower per statement is a
// REGRESSION in QPS, p50 and p99, and the other way round an IMPROVEMENT
// — by every method, each named in the report.
func TestVerdict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := store.NewMemory()
		spec := selectSpec("sleep://", 10)
		spec.Duration = core.Duration(10 * time.Second)
		a := sleepRun(t, st, spec, &sleepdriver.Connector{D: 10 * time.Millisecond})
		b := sleepRun(t, st, spec, &sleepdriver.Connector{D: 10 * time.Millisecond})
		slow := sleepRun(t, st, spec, &sleepdriver.Connector{D: 13 * time.Millisecond})
		ctx := context.Background()
		for _, tc := range []struct {
			base, new string
			method    stats.Method
			want      stats.Verdict
		}{
			{a.RunID, b.RunID, "", stats.NoChange}, {a.RunID, slow.RunID, "", stats.Regression}, {slow.RunID, a.RunID, "", stats.Improvement},
			{a.RunID, b.RunID, stats.MethodBootstrap, stats.NoChange}, {a.RunID, slow.RunID, stats.MethodBootstrap, stats.Regression},
			{a.RunID, b.RunID, stats.MethodMannWhitney, stats.NoChange}, {a.RunID, slow.RunID, stats.MethodMannWhitney, stats.Regression},
			{slow.RunID, a.RunID, stats.MethodMannWhitney, stats.Improvement},
		} {
			rep, err := unistore.Verdict(ctx, st, tc.base, tc.new, unistore.VerdictConfig{Method: tc.method})
			if err != nil {
				t.Fatal(err)
			}
			if want := cmp.Or(tc.method, stats.DefaultMethod); rep.Method != want || rep.MethodText == "" {
				t.Errorf("method %q (%q), want %q named", rep.Method, rep.MethodText, want)
			}
			if len(rep.Figures) != 6 { // total and select: qps, p50, p99
				t.Fatalf("%d figures, want 6: %+v", len(rep.Figures), rep.Figures)
			}
			for _, f := range rep.Figures {
				if f.Verdict != tc.want || f.BaseSamples < 7 {
					t.Errorf("%s → %s: %s %s: %s (change %+.3f [%+.3f, %+.3f], %d samples), want %s", tc.base, tc.new, f.Scope,
						f.Figure, f.Verdict, f.Change.Estimate, f.Change.Low, f.Change.High, f.BaseSamples, tc.want)
				}
			}
			if rep.Regression != (tc.want == stats.Regression) {
				t.Errorf("%s → %s: regression %v", tc.base, tc.new, rep.Regression)
			}
		}
		if _, err := unistore.Verdict(ctx, st, a.RunID, "nope", unistore.VerdictConfig{}); err == nil {
			t.Error("a verdict against an unknown run: no error")
		}
		if _, err := unistore.Verdict(ctx, st, a.RunID, b.RunID, unistore.VerdictConfig{Method: "ttest"}); err == nil || !strings.Contains(err.Error(), "unknown method") {
			t.Errorf("an unknown method: %v", err)
		}
		// Gating on p50 alone: p50 regressed, so the report does; the
		// gate is listed once; an unknown figure is an error.
		rep, err := unistore.Verdict(ctx, st, a.RunID, slow.RunID, unistore.VerdictConfig{Gate: []string{"p50_ms", "p50_ms"}})
		if err != nil || !rep.Regression || !slices.Equal(rep.Gate, []string{"p50_ms"}) {
			t.Errorf("gate p50_ms: regression %v, gate %v (%v)", rep != nil && rep.Regression, rep, err)
		}
		if rep, _ := unistore.Verdict(ctx, st, a.RunID, b.RunID, unistore.VerdictConfig{}); !slices.Equal(rep.Gate, unistore.VerdictFigures()) {
			t.Errorf("default gate %v, want every figure", rep.Gate)
		}
		if _, err := unistore.Verdict(ctx, st, a.RunID, b.RunID, unistore.VerdictConfig{Gate: []string{"p95_ms"}}); err == nil || !strings.Contains(err.Error(), `unknown figure "p95_ms"`) {
			t.Errorf("an unknown gate: %v", err)
		}
	})
}

func TestBaseline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := store.NewMemory()
		ctx := context.Background()
		res := sleepRun(t, st, selectSpec("sleep://", 10), &sleepdriver.Connector{D: 10 * time.Millisecond})
		if _, err := unistore.Baseline(ctx, st, "main"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown baseline: %v, want ErrNotFound", err)
		}
		if err := unistore.SetBaseline(ctx, st, "", res.RunID); err == nil {
			t.Error("an empty baseline name: no error")
		}
		if err := unistore.SetBaseline(ctx, st, "main", res.RunID); err != nil {
			t.Fatal(err)
		}
		if id, err := unistore.Baseline(ctx, st, "main"); err != nil || id != res.RunID {
			t.Errorf("baseline main = %q, %v; want %s", id, err, res.RunID)
		}
	})
}

// TestFindMax: the embedding API's find-max on a target of known
// capacity (4 slots of 10 ms: 400/s) finds it within 10 %, its SLO taken
// from the spec.
func TestFindMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := store.NewMemory()
		spec := selectSpec("sleep://", 10)
		spec.Connections = 32
		spec.SLO = &core.SLO{P99Ms: f64(30)}
		out, err := unistore.FindMax(context.Background(), spec, unistore.FindMaxConfig{Start: 100,
			StepWarmup: core.Duration(time.Second), StepDuration: core.Duration(4 * time.Second)},
			unistore.WithStore(st), unistore.WithConnector("sleep", &sleepdriver.Connector{D: 10 * time.Millisecond, Slots: 4}),
			unistore.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		if out.Answer != "found" || out.MaxRate < 360 || out.MaxRate > 400 {
			t.Fatalf("answer %s at %.1f/s, want found within 10%% of 400/s", out.Answer, out.MaxRate)
		}
		steps, err := unistore.FindMaxSteps(context.Background(), st, out.RunID)
		if err != nil || len(steps) != len(out.Steps) {
			t.Errorf("stored steps %d (%v), want %d", len(steps), err, len(out.Steps))
		}
	})
}
