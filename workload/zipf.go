package workload

import "math"

// zipfHead is the number of leading terms of ζ(n, θ) summed one by one; the
// rest (for n > zipfHead) is the Euler–Maclaurin estimate of the tail. With
// a head this long the first omitted correction term is below 1e-25 of the
// sum, so the estimate is as exact as float64 summation, and a zipfian over
// 1e9 (or 2^63) keys compiles in about a millisecond.
const zipfHead = 1 << 16

// zeta returns ζ(n, θ) = Σ_{i=1..n} i^-θ.
func zeta(n uint64, theta float64) float64 {
	m := min(n, zipfHead)
	var s float64
	for i := m; i >= 1; i-- { // smallest terms first, for accuracy
		s += math.Pow(float64(i), -theta)
	}
	if n > m {
		s += zetaTail(float64(m), float64(n), theta)
	}
	return s
}

// zetaTail returns Σ_{i=m+1..n} i^-θ by the Euler–Maclaurin formula
//
//	∫_m^n f + (f(n) − f(m))/2 + (f′(n) − f′(m))/12 − (f‴(n) − f‴(m))/720
//
// with f(x) = x^-θ.
func zetaTail(m, n, theta float64) float64 {
	f := func(x float64) float64 { return math.Pow(x, -theta) }
	f1 := func(x float64) float64 { return -theta * math.Pow(x, -theta-1) }
	f3 := func(x float64) float64 { return -theta * (theta + 1) * (theta + 2) * math.Pow(x, -theta-3) }
	// ∫_m^n x^-θ dx = (n^(1-θ) − m^(1-θ))/(1−θ), written with Expm1 so it
	// stays accurate when θ is close to 1.
	a := 1 - theta
	integral := math.Pow(m, a) * math.Expm1(a*math.Log(n/m)) / a
	return integral + (f(n)-f(m))/2 + (f1(n)-f1(m))/12 - (f3(n)-f3(m))/720
}

// zipf draws ranks 0..n-1 with P(k) ∝ (k+1)^-θ by the algorithm of Gray et
// al., "Quickly Generating Billion-Record Synthetic Databases" (SIGMOD
// 1994), as YCSB's ZipfianGenerator does: ranks 0 and 1 are exact, the rest
// follow the continuous approximation. Everything but the draw is computed
// once; a draw is one Float64 and at most one Pow.
type zipf struct {
	n     uint64
	zetan float64 // ζ(n, θ)
	half  float64 // 1 + 0.5^θ = ζ(2, θ)
	alpha float64 // 1/(1−θ)
	eta   float64
}

func newZipf(n uint64, theta float64) zipf {
	z := zipf{n: n, zetan: zeta(n, theta), half: 1 + math.Pow(0.5, theta), alpha: 1 / (1 - theta)}
	if n > 2 {
		z.eta = (1 - math.Pow(2/float64(n), 1-theta)) / (1 - z.half/z.zetan)
	}
	return z
}

// rank maps u, uniform in [0, 1), to a rank in [0, n).
func (z *zipf) rank(u float64) uint64 {
	uz := u * z.zetan
	if uz < 1 {
		return 0
	}
	if uz < z.half {
		return 1
	}
	f := float64(z.n) * math.Pow(z.eta*u-z.eta+1, z.alpha)
	if !(f < float64(z.n)) { // also catches NaN
		return z.n - 1
	}
	if k := uint64(f); k < z.n {
		return k
	}
	return z.n - 1
}

// fnv64 is FNV-1a over the eight little-endian bytes of x; a scrambled
// zipfian maps rank k to fnv64(k) mod n, as YCSB's ScrambledZipfianGenerator.
func fnv64(x uint64) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for range 8 {
		h ^= x & 0xff
		h *= prime
		x >>= 8
	}
	return h
}
