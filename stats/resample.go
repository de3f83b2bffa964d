package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Method is how a verdict compares two runs' per-interval figures.
type Method string

// The methods (VerdictConfig.Method, `runs compare --method`).
const (
	// MethodBlockBootstrap is the circular block bootstrap of the
	// relative difference of the means, blocks as long as BlockLength
	// says (the default).
	MethodBlockBootstrap Method = "block-bootstrap"
	// MethodBootstrap is the iid bootstrap: every interval resampled on
	// its own (block length 1). Overconfident on autocorrelated series;
	// kept for comparison.
	MethodBootstrap Method = "bootstrap"
	// MethodMannWhitney is the Mann–Whitney U test with the
	// Hodges–Lehmann shift and its distribution-free interval.
	MethodMannWhitney Method = "mannwhitney"
)

// DefaultMethod is the verdict's method when none is named.
const DefaultMethod = MethodBlockBootstrap

// Methods lists the methods, the default first.
func Methods() []Method { return []Method{MethodBlockBootstrap, MethodBootstrap, MethodMannWhitney} }

// ParseMethod returns the method named s ("" is the default).
func ParseMethod(s string) (Method, error) {
	if s == "" {
		return DefaultMethod, nil
	}
	for _, m := range Methods() {
		if string(m) == s {
			return m, nil
		}
	}
	names := make([]string, 0, 3)
	for _, m := range Methods() {
		names = append(names, string(m))
	}
	return "", fmt.Errorf("stats: unknown method %q (want one of %s)", s, strings.Join(names, ", "))
}

// Lag1Autocorrelation returns the lag-1 sample autocorrelation of xs,
// Σ(x[t]−m)(x[t−1]−m) / Σ(x[t]−m)²; 0 for fewer than three values or a
// constant series.
func Lag1Autocorrelation(xs []float64) float64 {
	if len(xs) < 3 {
		return 0
	}
	m := Mean(xs)
	var num, den float64
	for t, x := range xs {
		den += (x - m) * (x - m)
		if t > 0 {
			num += (x - m) * (xs[t-1] - m)
		}
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// BlockLength returns the circular block bootstrap's block length for
// the mean of xs: the Politis–White plug-in under an AR(1) model,
//
//	b = (6ρ² / (1−ρ²)²)^(1/3) · n^(1/3)
//
// with ρ the lag-1 autocorrelation (|ρ| capped at 0.95), at least
// n^(1/3) — the classical rate, a floor because ρ from a short series is
// itself noisy — and at most min(3√n, n/3), the cap of Politis and
// White's b_max; rounded up, and 1 for fewer than three values. See the
// package doc for the derivation and sources.
func BlockLength(xs []float64) int {
	n := float64(len(xs))
	if len(xs) < 3 {
		return 1
	}
	rho := min(math.Abs(Lag1Autocorrelation(xs)), 0.95)
	cbrtN := math.Cbrt(n)
	b := math.Cbrt(6*rho*rho/((1-rho*rho)*(1-rho*rho))) * cbrtN
	b = max(b, cbrtN)
	b = min(b, 3*math.Sqrt(n), n/3)
	return max(1, int(math.Ceil(b-1e-9)))
}

// BlockBootstrapRelDiff is BootstrapRelDiff with the circular block
// bootstrap (Politis and Romano 1992): each resample of a series is
// ⌈n/l⌉ blocks of l consecutive values, wrapping round the end, starting
// at uniformly drawn positions, cut to n values; l is BlockLength of that
// series. Neighbouring intervals stay together, so a series whose values
// drift together (autocorrelated) gets the wider interval it should.
func BlockBootstrapRelDiff(a, b []float64, confidence float64, resamples int, seed uint64) (Interval, error) {
	return bootstrapRelDiff(a, b, BlockLength(a), BlockLength(b), confidence, resamples, seed)
}

// BootstrapRelDiff estimates the relative difference of the means of b
// and a, (mean(b) − mean(a)) / mean(a), with a percentile-bootstrap
// confidence interval at confidence (e.g. 0.95): resamples resamplings of
// each sample with replacement, each value drawn on its own (the iid
// bootstrap), from a PCG source seeded with seed. It needs at least two
// values on each side and a non-zero mean of a.
func BootstrapRelDiff(a, b []float64, confidence float64, resamples int, seed uint64) (Interval, error) {
	return bootstrapRelDiff(a, b, 1, 1, confidence, resamples, seed)
}

// bootstrapRelDiff is the percentile bootstrap with circular blocks of la
// values in a and lb in b (1: the iid bootstrap, drawing the same random
// numbers as it always did).
func bootstrapRelDiff(a, b []float64, la, lb int, confidence float64, resamples int, seed uint64) (Interval, error) {
	if len(a) < 2 || len(b) < 2 {
		return Interval{}, fmt.Errorf("stats: bootstrap needs at least 2 values on each side, got %d and %d", len(a), len(b))
	}
	if !(confidence > 0 && confidence < 1) {
		return Interval{}, fmt.Errorf("stats: confidence must be between 0 and 1, got %v", confidence)
	}
	ma := Mean(a)
	if ma == 0 {
		return Interval{}, fmt.Errorf("stats: the base sample's mean is 0: no relative difference")
	}
	if resamples <= 0 {
		resamples = DefaultResamples
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	resampledMean := func(xs []float64, l int) float64 {
		n := len(xs)
		l = min(max(l, 1), n)
		var s float64
		for got := 0; got < n; {
			start := rng.IntN(n)
			for j := 0; j < l && got < n; j++ {
				s += xs[(start+j)%n]
				got++
			}
		}
		return s / float64(n)
	}
	diffs := make([]float64, 0, resamples)
	for range resamples {
		ra := resampledMean(a, la)
		if ra == 0 {
			continue // a resample of all zeros: no ratio
		}
		diffs = append(diffs, (resampledMean(b, lb)-ra)/ra)
	}
	if len(diffs) == 0 {
		return Interval{}, fmt.Errorf("stats: every resample of the base had a mean of 0")
	}
	slices.Sort(diffs)
	alpha := (1 - confidence) / 2
	return Interval{
		Estimate: (Mean(b) - ma) / ma,
		Low:      quantileSorted(diffs, alpha),
		High:     quantileSorted(diffs, 1-alpha),
	}, nil
}

// MannWhitneyResult is a Mann–Whitney U test of b against a.
type MannWhitneyResult struct {
	// U counts the pairs (a[i], b[j]) with b[j] > a[i], ties counting a
	// half.
	U float64 `json:"u"`
	// Z is U standardised by the normal approximation (tie-corrected
	// variance, continuity correction); P its two-sided p-value.
	Z float64 `json:"z"`
	P float64 `json:"p"`
	// Shift is the Hodges–Lehmann shift (the median of all b[j] − a[i])
	// with its distribution-free confidence interval, each divided by
	// the median of a: a relative change, like BootstrapRelDiff's.
	Shift Interval `json:"shift"`
}

// MannWhitney runs the Mann–Whitney U test of b against a with the
// normal approximation, tie correction and continuity correction, and
// gives the Hodges–Lehmann shift with the interval that inverts the test
// at confidence: the k-th smallest and k-th largest of the m·n pairwise
// differences, k = ⌊mn/2 − z·σ_U⌋ (σ_U tie-corrected). It needs enough
// values for that interval to exist (k ≥ 1: at least 4 a side at 95 %)
// and a positive median of a.
func MannWhitney(a, b []float64, confidence float64) (MannWhitneyResult, error) {
	if !(confidence > 0 && confidence < 1) {
		return MannWhitneyResult{}, fmt.Errorf("stats: confidence must be between 0 and 1, got %v", confidence)
	}
	m, n := len(a), len(b)
	if m < 2 || n < 2 {
		return MannWhitneyResult{}, fmt.Errorf("stats: Mann–Whitney needs at least 2 values on each side, got %d and %d", m, n)
	}
	med := Quantile(a, 0.5)
	if !(med > 0) {
		return MannWhitneyResult{}, fmt.Errorf("stats: the base sample's median is %v: no relative shift", med)
	}
	diffs := make([]float64, 0, m*n)
	var u float64
	for _, y := range b {
		for _, x := range a {
			switch {
			case y > x:
				u++
			case y == x:
				u += 0.5
			}
			diffs = append(diffs, y-x)
		}
	}
	slices.Sort(diffs)
	// Tie correction: Σ(t³ − t) over groups of equal values in a ∪ b.
	all := append(slices.Clone(a), b...)
	slices.Sort(all)
	var ties float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j] == all[i] {
			j++
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	fm, fn := float64(m), float64(n)
	N := fm + fn
	mean := fm * fn / 2
	sigma := math.Sqrt(fm * fn / 12 * ((N + 1) - ties/(N*(N-1))))
	res := MannWhitneyResult{U: u, P: 1}
	if sigma > 0 {
		d := u - mean
		d -= math.Copysign(min(0.5, math.Abs(d)), d) // continuity
		res.Z = d / sigma
		res.P = math.Erfc(math.Abs(res.Z) / math.Sqrt2)
	}
	z := math.Sqrt2 * math.Erfinv(confidence)
	k := int(math.Floor(mean - z*sigma))
	if sigma == 0 {
		k = m * n / 2 // every value equal: the interval is the one shift
	}
	if k < 1 {
		return res, fmt.Errorf("stats: too few values (%d and %d) for a %.0f%% Mann–Whitney interval", m, n, 100*confidence)
	}
	hl := quantileSorted(diffs, 0.5)
	res.Shift = Interval{Estimate: hl / med, Low: diffs[k-1] / med, High: diffs[len(diffs)-k] / med}
	return res, nil
}
