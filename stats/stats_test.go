package stats_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/unistore-bench/unistore/stats"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestMeanStdDevCV(t *testing.T) {
	for _, tc := range []struct {
		name         string
		xs           []float64
		mean, sd, cv float64
	}{
		{"constant", []float64{5, 5, 5}, 5, 0, 0},
		{"two", []float64{1, 3}, 2, math.Sqrt2, math.Sqrt2 / 2},
		{"known", []float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, 2.138089935299395, 0.427617987059879},
		{"zeros", []float64{0, 0}, 0, 0, 0},
		{"one", []float64{7}, 7, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := stats.Mean(tc.xs); !near(got, tc.mean, 1e-12) {
				t.Errorf("Mean = %v, want %v", got, tc.mean)
			}
			if got := stats.StdDev(tc.xs); !near(got, tc.sd, 1e-12) {
				t.Errorf("StdDev = %v, want %v", got, tc.sd)
			}
			if got := stats.CV(tc.xs); !near(got, tc.cv, 1e-12) {
				t.Errorf("CV = %v, want %v", got, tc.cv)
			}
		})
	}
	if got := stats.CV([]float64{-1, 1}); !math.IsInf(got, 1) {
		t.Errorf("CV of a zero mean that varies = %v, want +Inf", got)
	}
	if got := stats.CV(nil); !math.IsNaN(got) {
		t.Errorf("CV(nil) = %v, want NaN", got)
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{4, 1, 3, 2, 5}
	for _, tc := range []struct{ q, want float64 }{{0, 1}, {0.5, 3}, {1, 5}, {0.25, 2}, {0.125, 1.5}} {
		if got := stats.Quantile(xs, tc.q); !near(got, tc.want, 1e-12) {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if xs[0] != 4 {
		t.Error("Quantile sorted its input in place")
	}
}

func sample(seed uint64, n int, mean, sd float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		out[i] = mean + sd*r.NormFloat64()
	}
	return out
}

func TestBootstrapRelDiff(t *testing.T) {
	base := sample(1, 30, 1000, 50)
	for _, tc := range []struct {
		name    string
		b       []float64
		contain float64 // a value the CI must hold
		exclude float64 // one it must not
	}{
		{"same distribution", sample(2, 30, 1000, 50), 0, 0.1},
		{"30% slower", sample(3, 30, 700, 35), -0.3, 0},
		{"10% faster", sample(4, 30, 1100, 55), 0.1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ci, err := stats.BootstrapRelDiff(base, tc.b, 0.95, 2000, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !(ci.Low <= ci.Estimate && ci.Estimate <= ci.High) {
				t.Fatalf("estimate %v outside its interval [%v, %v]", ci.Estimate, ci.Low, ci.High)
			}
			if !(ci.Low <= tc.contain && tc.contain <= ci.High) {
				t.Errorf("CI [%v, %v] does not hold %v", ci.Low, ci.High, tc.contain)
			}
			if ci.Low <= tc.exclude && tc.exclude <= ci.High {
				t.Errorf("CI [%v, %v] holds %v", ci.Low, ci.High, tc.exclude)
			}
			again, _ := stats.BootstrapRelDiff(base, tc.b, 0.95, 2000, 1)
			if again != ci {
				t.Errorf("same seed, different interval: %v then %v", ci, again)
			}
		})
	}
}

func TestBootstrapRelDiffErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []float64
		conf float64
	}{
		{"short", []float64{1}, []float64{1, 2}, 0.95},
		{"confidence", []float64{1, 2}, []float64{1, 2}, 1},
		{"zero base", []float64{0, 0}, []float64{1, 2}, 0.95},
	} {
		if _, err := stats.BootstrapRelDiff(tc.a, tc.b, tc.conf, 100, 1); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ci     stats.Interval
		higher bool
		want   stats.Verdict
	}{
		{"qps down 30%", stats.Interval{Estimate: -0.3, Low: -0.33, High: -0.27}, true, stats.Regression},
		{"qps up 30%", stats.Interval{Estimate: 0.3, Low: 0.27, High: 0.33}, true, stats.Improvement},
		{"qps noise", stats.Interval{Estimate: -0.02, Low: -0.06, High: 0.02}, true, stats.NoChange},
		{"qps down 4% surely", stats.Interval{Estimate: -0.04, Low: -0.045, High: -0.035}, true, stats.NoChange},
		{"qps down, CI reaches the threshold", stats.Interval{Estimate: -0.1, Low: -0.15, High: -0.04}, true, stats.NoChange},
		{"p99 up 30%", stats.Interval{Estimate: 0.3, Low: 0.25, High: 0.35}, false, stats.Regression},
		{"p99 down 30%", stats.Interval{Estimate: -0.3, Low: -0.35, High: -0.25}, false, stats.Improvement},
		{"p99 noise", stats.Interval{Estimate: 0.01, Low: -0.03, High: 0.05}, false, stats.NoChange},
	} {
		if got := stats.Judge(tc.ci, 0.05, tc.higher); got != tc.want {
			t.Errorf("%s: Judge = %s, want %s", tc.name, got, tc.want)
		}
	}
}
