package store_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// TestStepsAndBaselines: find-max steps and named baselines (schema
// version 4) round-trip on every store, through the DML-only roles too.
func TestStepsAndBaselines(t *testing.T) {
	kinds := append([]struct {
		name string
		dsn  func(t *testing.T) string
	}{{"memory", nil}}, storeKinds...)
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			var st store.Store = store.NewMemory()
			if kind.dsn != nil {
				st = open(t, kind.dsn(t))
			}
			ctx := ctxT(t)
			ss, ok := st.(store.StepStore)
			if !ok {
				t.Fatalf("%T is not a store.StepStore", st)
			}
			bs, ok := st.(store.BaselineStore)
			if !ok {
				t.Fatalf("%T is not a store.BaselineStore", st)
			}
			if err := st.CreateRun(ctx, store.Run{ID: "fm-1", Name: "fm", Status: core.StatusRunning, Phase: core.PhaseMeasurement}); err != nil {
				t.Fatal(err)
			}
			steps := []store.Step{
				{RunID: "fm-1", Step: 2, By: "rate", Target: "412.5", Verdict: "BREACH", StartedAt: t0.Add(12 * time.Second),
					EndedAt: t0.Add(24 * time.Second), Detail: json.RawMessage(`{"qps":399.99991,"p99_ms":123.5}`)},
				{RunID: "fm-1", Step: 1, By: "rate", Target: "400", Verdict: "PASS", StartedAt: t0,
					EndedAt: t0.Add(12 * time.Second), Detail: json.RawMessage(`{"qps":400,"p99_ms":10}`)},
			}
			if err := ss.WriteSteps(ctx, steps); err != nil {
				t.Fatal(err)
			}
			// A step written again is replaced.
			steps[1].Verdict = "CLIENT-BOUND"
			if err := ss.WriteSteps(ctx, steps[1:]); err != nil {
				t.Fatal(err)
			}
			got, err := ss.Steps(ctx, "fm-1")
			if err != nil {
				t.Fatal(err)
			}
			want := []store.Step{steps[1], steps[0]}
			if diff := cmp.Diff(want, got, jsonEqual); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if none, err := ss.Steps(ctx, "nope"); err != nil || len(none) != 0 {
				t.Errorf("steps of an unknown run: %v, %v; want none", none, err)
			}

			if _, err := bs.Baseline(ctx, "main"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown baseline: %v, want ErrNotFound", err)
			}
			if err := bs.SetBaseline(ctx, "main", "no-such-run"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("baseline of an unknown run: %v, want ErrNotFound", err)
			}
			if err := st.CreateRun(ctx, store.Run{ID: "fm-2", Name: "fm", Status: core.StatusRunning, Phase: core.PhaseMeasurement}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"fm-1", "fm-2"} {
				if err := bs.SetBaseline(ctx, "main", id); err != nil {
					t.Fatal(err)
				}
			}
			if id, err := bs.Baseline(ctx, "main"); err != nil || id != "fm-2" {
				t.Errorf("baseline main = %q, %v; want fm-2 (the newest)", id, err)
			}
		})
	}
}
