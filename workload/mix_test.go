package workload_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/unistore-bench/unistore/workload"
)

// TestMixMatchesWeights draws 10,000 picks per mix and requires each
// operation's count to be within 5 binomial sigmas of N·p, where
// p = weight/Σweights and sigma = √(N·p·(1−p)). For a correct picker a
// 5-sigma miss has probability below 6e-7 per operation; the seeds are
// fixed, so the test is deterministic anyway.
func TestMixMatchesWeights(t *testing.T) {
	const draws = 10_000
	many := make([]float64, 37)
	for i := range many {
		many[i] = float64(i + 1)
	}
	tests := []struct {
		name    string
		weights []float64
	}{
		{"one", []float64{3}},
		{"equal", []float64{1, 1}},
		{"70/20/10", []float64{70, 20, 10}},
		{"fractional", []float64{0.5, 0.25, 0.125, 0.125}},
		{"skewed", []float64{1, 1000}},
		{"tiny weight", []float64{1e-3, 1, 1}},
		{"37 operations", many},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := make([]workload.Operation, len(tt.weights))
			var sum float64
			for i, w := range tt.weights {
				ops[i] = workload.Operation{Name: fmt.Sprint("op", i), Weight: w, SQL: "SELECT 1"}
				sum += w
			}
			mix := workload.NewMix(ops)
			r := workload.NewRand(11, 0, 0)
			counts := make([]float64, len(ops))
			for range draws {
				counts[mix.Pick(r)]++
			}
			for i, w := range tt.weights {
				p := w / sum
				sigma := math.Sqrt(draws * p * (1 - p))
				if d := math.Abs(counts[i] - draws*p); d > 5*sigma {
					t.Errorf("op %d (weight %v): %v picks, want %.1f ± %.1f (5 sigma)", i, w, counts[i], draws*p, 5*sigma)
				}
			}
		})
	}
}

func TestNewMixPanicsOnBadWeights(t *testing.T) {
	for _, ops := range [][]workload.Operation{
		nil,
		{{Name: "a", Weight: 0}},
		{{Name: "a", Weight: 1}, {Name: "b", Weight: -1}},
		{{Name: "a", Weight: math.NaN()}},
		{{Name: "a", Weight: math.Inf(1)}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewMix(%v) did not panic", ops)
				}
			}()
			workload.NewMix(ops)
		}()
	}
}

func BenchmarkPick(b *testing.B) {
	ops := []workload.Operation{{Name: "a", Weight: 70}, {Name: "b", Weight: 20}, {Name: "c", Weight: 10}}
	mix := workload.NewMix(ops)
	r := workload.NewRand(1, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		mix.Pick(r)
	}
}
