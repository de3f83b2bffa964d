package stats_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/unistore-bench/unistore/stats"
)

// ar1 is n values of mean + an AR(1) process with lag-1 coefficient rho
// and innovations scaled so its stationary standard deviation is sd.
func ar1(seed uint64, n int, mean, sd, rho float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([]float64, n)
	e := sd * r.NormFloat64()
	for i := range out {
		out[i] = mean + e
		e = rho*e + sd*math.Sqrt(1-rho*rho)*r.NormFloat64()
	}
	return out
}

func TestLag1Autocorrelation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		xs       []float64
		min, max float64
	}{
		{"alternating", []float64{1, -1, 1, -1, 1, -1}, -1, -0.8},
		{"trend", []float64{1, 2, 3, 4, 5, 6, 7, 8}, 0.5, 1},
		{"constant", []float64{3, 3, 3, 3}, 0, 0},
		{"short", []float64{1, 2}, 0, 0},
		{"ar1 0.9", ar1(1, 500, 100, 10, 0.9), 0.8, 0.95},
		{"iid", sample(1, 500, 100, 10), -0.1, 0.1},
	} {
		if got := stats.Lag1Autocorrelation(tc.xs); got < tc.min || got > tc.max {
			t.Errorf("%s: Lag1Autocorrelation = %v, want within [%v, %v]", tc.name, got, tc.min, tc.max)
		}
	}
}

func TestBlockLength(t *testing.T) {
	for _, tc := range []struct {
		name     string
		xs       []float64
		min, max int
	}{
		{"two values", []float64{1, 2}, 1, 1},
		{"six seconds", sample(1, 6, 100, 10), 2, 2},              // n^(1/3) = 1.8, cap n/3 = 2
		{"iid, 100", sample(1, 100, 100, 10), 5, 5},               // the n^(1/3) floor
		{"constant, 100", slices.Repeat([]float64{7}, 100), 5, 5}, // ρ = 0: the floor
		{"ar1 0.5, 100", ar1(2, 100, 100, 10, 0.5), 5, 9},
		{"ar1 0.9, 100", ar1(3, 100, 100, 10, 0.9), 15, 30}, // capped at 3√n = 30
		{"ar1 0.99, 30", ar1(4, 30, 100, 10, 0.99), 10, 10}, // capped at n/3
	} {
		if got := stats.BlockLength(tc.xs); got < tc.min || got > tc.max {
			t.Errorf("%s: BlockLength = %d (ρ %.2f), want within [%d, %d]", tc.name, got, stats.Lag1Autocorrelation(tc.xs), tc.min, tc.max)
		}
	}
}

// TestBlockBootstrapRelDiff: the circular block bootstrap is wider than
// the iid one on autocorrelated series, about as wide on independent
// ones, still detects a clear shift, says NO CHANGE for identical
// inputs, and is reproducible.
func TestBlockBootstrapRelDiff(t *testing.T) {
	width := func(ci stats.Interval) float64 { return ci.High - ci.Low }
	for _, tc := range []struct {
		name      string
		a, b      []float64
		higher    bool
		want      stats.Verdict
		wider     float64 // the block interval at least this many times the iid one's width
		widerMax  float64 // and at most this many (0: no bound)
		iidVerdit stats.Verdict
	}{
		{"autocorrelated, same level", ar1(1, 120, 1000, 100, 0.9), ar1(2, 120, 1000, 100, 0.9), true, stats.NoChange, 2, 0, ""},
		{"independent, same level", sample(1, 120, 1000, 100), sample(2, 120, 1000, 100), true, stats.NoChange, 0.7, 1.5, stats.NoChange},
		{"autocorrelated, qps 30% down", ar1(3, 60, 1000, 50, 0.7), ar1(4, 60, 700, 35, 0.7), true, stats.Regression, 1.2, 0, stats.Regression},
		{"six seconds, p50 30% up", sample(5, 6, 2.1, 0.1), sample(6, 6, 2.73, 0.13), false, stats.Regression, 0, 0, stats.Regression},
		{"identical", ar1(7, 30, 1000, 100, 0.8), ar1(7, 30, 1000, 100, 0.8), true, stats.NoChange, 0, 0, stats.NoChange},
		{"identical constants", slices.Repeat([]float64{5}, 8), slices.Repeat([]float64{5}, 8), false, stats.NoChange, 0, 0, stats.NoChange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			block, err := stats.BlockBootstrapRelDiff(tc.a, tc.b, 0.95, 2000, 1)
			if err != nil {
				t.Fatal(err)
			}
			iid, err := stats.BootstrapRelDiff(tc.a, tc.b, 0.95, 2000, 1)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("blocks %d/%d: block [%+.3f, %+.3f], iid [%+.3f, %+.3f]", stats.BlockLength(tc.a), stats.BlockLength(tc.b),
				block.Low, block.High, iid.Low, iid.High)
			if !(block.Low <= block.Estimate && block.Estimate <= block.High) {
				t.Errorf("estimate %v outside its interval [%v, %v]", block.Estimate, block.Low, block.High)
			}
			if got := stats.Judge(block, 0.05, tc.higher); got != tc.want {
				t.Errorf("block bootstrap verdict %s, want %s", got, tc.want)
			}
			if tc.iidVerdit != "" {
				if got := stats.Judge(iid, 0.05, tc.higher); got != tc.iidVerdit {
					t.Errorf("iid bootstrap verdict %s, want %s", got, tc.iidVerdit)
				}
			}
			if w, wi := width(block), width(iid); w < tc.wider*wi || (tc.widerMax > 0 && w > tc.widerMax*wi) {
				t.Errorf("block interval width %.4f, iid %.4f: want a ratio within [%v, %v]", w, wi, tc.wider, tc.widerMax)
			}
			if again, _ := stats.BlockBootstrapRelDiff(tc.a, tc.b, 0.95, 2000, 1); again != block {
				t.Errorf("same seed, different interval: %v then %v", block, again)
			}
		})
	}
}

// TestBootstrapRelDiffUnchanged: the iid bootstrap draws what it drew
// before the block bootstrap shared its code (verdicts stored or quoted
// earlier stay reproducible).
func TestBootstrapRelDiffUnchanged(t *testing.T) {
	ci, err := stats.BootstrapRelDiff([]float64{10, 12, 11, 13, 9}, []float64{14, 15, 13, 16, 12}, 0.9, 500, 7)
	if err != nil {
		t.Fatal(err)
	}
	// What the code before the block bootstrap gave for these arguments.
	want := stats.Interval{Estimate: 0.2727272727272727, Low: 0.11864406779661005, High: 0.4285714285714285}
	if !near(ci.Estimate, want.Estimate, 1e-12) || !near(ci.Low, want.Low, 1e-12) || !near(ci.High, want.High, 1e-12) {
		t.Errorf("BootstrapRelDiff = %+v, want %+v", ci, want)
	}
}

func TestMannWhitney(t *testing.T) {
	seq := func(lo, hi float64) (xs []float64) {
		for x := lo; x <= hi; x++ {
			xs = append(xs, x)
		}
		return xs
	}
	for _, tc := range []struct {
		name    string
		a, b    []float64
		u, z, p float64
		shift   stats.Interval
	}{
		// Hand-checked: U = 25, σ = √(25·11/12), z = (25 − 12.5 − 0.5)/σ;
		// k = ⌊12.5 − 1.96σ⌋ = 3 of the 25 differences; median(a) = 3.
		{"separated", seq(1, 5), seq(6, 10), 25, 2.5067182457620487, 0.012185780355344818,
			stats.Interval{Estimate: 5.0 / 3, Low: 2.0 / 3, High: 8.0 / 3}},
		// Ties: groups 1, 3, 3, 1 give Σ(t³ − t) = 48, σ² = 16/12·(9 − 48/56);
		// k = ⌊8 − 1.96σ⌋ = 1: the extreme differences −1 and 3; the
		// median difference is 1; median(a) = 2.
		{"ties", []float64{1, 2, 2, 3}, []float64{2, 3, 3, 4}, 13, 1.365698202000489, 0.17203370892182296,
			stats.Interval{Estimate: 0.5, Low: -0.5, High: 1.5}},
		// Identical: k = ⌊32 − 1.96·√(64·17/12)⌋ = 13: the 13th smallest
		// and largest differences, −3 and 3; median(a) = 4.5.
		{"identical", seq(1, 8), seq(1, 8), 32, 0, 1, stats.Interval{Low: -3 / 4.5, High: 3 / 4.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := stats.MannWhitney(tc.a, tc.b, 0.95)
			if err != nil {
				t.Fatal(err)
			}
			if got.U != tc.u || !near(got.Z, tc.z, 1e-9) || !near(got.P, tc.p, 1e-9) {
				t.Errorf("U %v z %v p %v, want %v %v %v", got.U, got.Z, got.P, tc.u, tc.z, tc.p)
			}
			if !near(got.Shift.Estimate, tc.shift.Estimate, 1e-12) || !near(got.Shift.Low, tc.shift.Low, 1e-12) || !near(got.Shift.High, tc.shift.High, 1e-12) {
				t.Errorf("shift %+v, want %+v", got.Shift, tc.shift)
			}
			if tc.name == "identical" && stats.Judge(got.Shift, 0.05, true) != stats.NoChange {
				t.Errorf("identical inputs: %s", stats.Judge(got.Shift, 0.05, true))
			}
		})
	}
	// A clear shift in per-second p50 (six seconds a side) is a regression.
	got, err := stats.MannWhitney(sample(5, 6, 2.1, 0.1), sample(6, 6, 2.73, 0.13), 0.95)
	if err != nil || stats.Judge(got.Shift, 0.05, false) != stats.Regression {
		t.Errorf("p50 30%% up: %+v (%v), want a REGRESSION", got, err)
	}
	if _, err := stats.MannWhitney([]float64{0, 0, 0, 0}, []float64{1, 2, 3, 4}, 0.95); err == nil {
		t.Error("no error for a zero median")
	}
	if _, err := stats.MannWhitney([]float64{1, 2, 3}, []float64{4, 5, 6}, 0.95); err == nil {
		t.Error("no error for a 95% interval from 3 values a side")
	}
}

func TestParseMethod(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want stats.Method
	}{{"", stats.MethodBlockBootstrap}, {"block-bootstrap", stats.MethodBlockBootstrap}, {"bootstrap", stats.MethodBootstrap}, {"mannwhitney", stats.MethodMannWhitney}} {
		if got, err := stats.ParseMethod(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseMethod(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := stats.ParseMethod("ttest"); err == nil {
		t.Error("ParseMethod(ttest): no error")
	}
}
