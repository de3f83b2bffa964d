package stats

import (
	"math"
	"slices"
)

// Mean returns the arithmetic mean of xs (NaN for none).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// StdDev returns the sample standard deviation of xs (n-1 in the
// denominator; 0 for fewer than two values).
func StdDev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := Mean(xs)
	var s float64
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)-1))
}

// CV returns the coefficient of variation of xs: the standard deviation
// over the mean's magnitude. It is +Inf when the mean is 0 and the values
// vary, 0 when they are all 0, and NaN for no values.
func CV(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	m, sd := Mean(xs), StdDev(xs)
	if m == 0 {
		if sd == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return sd / math.Abs(m)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of xs by linear
// interpolation between closest ranks; xs need not be sorted. NaN for no
// values.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return quantileSorted(s, q)
}

func quantileSorted(s []float64, q float64) float64 {
	q = min(max(q, 0), 1)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// Interval is an estimate with its confidence interval.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
}

// DefaultResamples is the bootstrap's number of resamples.
const DefaultResamples = 2000

// Verdict is what a comparison says about one figure.
type Verdict string

// The verdicts.
const (
	Regression  Verdict = "REGRESSION"
	Improvement Verdict = "IMPROVEMENT"
	NoChange    Verdict = "NO CHANGE"
)

// Judge turns a relative difference's confidence interval into a
// verdict. higherIsBetter says which way is worse (QPS: higher is
// better; latency: lower is). A regression is a CI lying wholly beyond
// threshold (a fraction, e.g. 0.05) on the worse side; an improvement,
// wholly beyond it on the better side; anything else is no change.
func Judge(ci Interval, threshold float64, higherIsBetter bool) Verdict {
	lo, hi := ci.Low, ci.High
	if higherIsBetter {
		// Worse is negative: flip so worse is positive.
		lo, hi = -hi, -lo
	}
	switch {
	case lo > threshold:
		return Regression
	case hi < -threshold:
		return Improvement
	}
	return NoChange
}
