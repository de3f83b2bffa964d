// Package stats holds the statistics behind unistore's answers: the
// coefficient of variation that decides a steady-state warm-up, and the
// confidence intervals behind a regression verdict (a circular block
// bootstrap, the iid bootstrap, and the Mann–Whitney U test). Every
// function is pure: same input, same output (the bootstraps' resampling
// is driven by a seed the caller passes, so a verdict is reproducible).
//
// # Decisions
//
//   - The regression verdict compares per-interval figures (per-second
//     QPS, p50, p99 of each run's measurement phase): a run gives one
//     sample per interval, and the percentile bootstrap of the relative
//     difference of their means gives a confidence interval without
//     assuming a distribution.
//   - Neighbouring seconds of a run are correlated (a slow second is
//     followed by another: a checkpoint, a noisy neighbour), so the
//     default resampling is the circular block bootstrap (Politis and
//     Romano 1992): blocks of consecutive seconds, wrapping round the
//     end, so each resample keeps the dependence inside a block. The iid
//     bootstrap (MethodBootstrap, block length 1, the first
//     implementation) treats every second as independent and gives
//     intervals too narrow on such series; it stays, for comparison, and
//     draws exactly the numbers it drew before.
//   - Block length (BlockLength) is chosen per series: the Politis–White
//     automatic block length for the circular bootstrap,
//     b = (2G²/D · n)^(1/3), G = Σ|k|γ(k), D = (4/3)·(Σγ(k))², γ the
//     autocovariance (Politis and White 2004,
//     "Automatic block-length selection for the dependent bootstrap",
//     Econometric Reviews 23, doi:10.1081/ETC-120028836, with the
//     correction of Patton, Politis and White 2009,
//     doi:10.1080/07474930802459016; as documented by the arch package's
//     optimal_block_length and R's np::b.star and blocklength::pwsd). We
//     plug in an AR(1) model instead of their flat-top spectral estimate:
//     with γ(k) = σ²ρ^|k|, G = 2σ²ρ/(1−ρ)² and Σγ(k) = σ²(1+ρ)/(1−ρ),
//     so b = (6ρ²/(1−ρ²)²)^(1/3) · n^(1/3), ρ the lag-1
//     autocorrelation (|ρ| capped at 0.95). A run has tens of seconds,
//     too few for a spectral estimate; one coefficient is what such a
//     series can tell. Two guards: at least n^(1/3) (the classical rate
//     of block length for the mean, Hall, Horowitz and Jing 1995), since
//     a ρ estimated from a few seconds is near 0 by chance as often as
//     not; at most min(3√n, n/3) (b.star's b_max), so a resample has at
//     least three blocks. Six seconds give blocks of 2; a hundred
//     independent seconds 5; a hundred with ρ = 0.9 about 20.
//   - Percentile block-bootstrap intervals undercover on short series
//     (Chandy, Schifano and Yan 2024, "On sample size needed for block
//     bootstrap confidence intervals to have desired coverage rates",
//     doi:10.33697/ajur.2024.101): the block bootstrap is less
//     overconfident than the iid one, not exact. Longer runs help more
//     than any resampling.
//   - MethodMannWhitney: the Mann–Whitney U test with the normal
//     approximation, the tie-corrected variance and a continuity
//     correction, and — since a verdict needs a size, not just a p-value
//     — the Hodges–Lehmann shift (median of the pairwise differences)
//     with the interval that inverts the test (the k-th smallest and
//     largest differences), divided by the base's median. It is robust
//     to outlying seconds but, like the iid bootstrap, treats seconds as
//     independent.
//   - A verdict needs both significance and size: REGRESSION only when
//     the whole confidence interval lies on the worse side beyond the
//     threshold (with that confidence, the figure got worse by more than
//     the threshold); IMPROVEMENT symmetrically; anything else is NO
//     CHANGE. A real 3 % change on a ±20 % noisy machine is NO CHANGE at
//     a 5 % threshold, by design: a CI gate must not fail on noise.
//   - Per-interval samples cannot see run-to-run variance (a machine
//     that is 10 % slower for a whole run): that is what the threshold
//     is for, and bench/verdict-rates.sh measures the false-regression
//     rate it gives on this machine, for every method on the same runs.
//   - The random source is math/rand/v2's PCG seeded by the caller: the
//     same runs give the same interval, run after run.
package stats
