// Package stats holds the statistics behind unistore's answers: the
// coefficient of variation that decides a steady-state warm-up, and the
// bootstrap confidence interval behind a regression verdict. Every
// function is pure: same input, same output (the bootstrap's resampling
// is driven by a seed the caller passes, so a verdict is reproducible).
//
// # Decisions
//
//   - The regression verdict compares per-interval figures (per-second
//     QPS, p50, p99 of each run's measurement phase): a run gives one
//     sample per interval, and the percentile bootstrap of the relative
//     difference of their means gives a confidence interval without
//     assuming a distribution. Resampling is independent per interval
//     (no block bootstrap): neighbouring seconds of a run are somewhat
//     correlated, which makes the interval a little narrower than it
//     should be; the threshold absorbs that.
//   - A verdict needs both significance and size: REGRESSION only when
//     the whole confidence interval lies on the worse side beyond the
//     threshold (with that confidence, the figure got worse by more than
//     the threshold); IMPROVEMENT symmetrically; anything else is NO
//     CHANGE. A real 3 % change on a ±20 % noisy machine is NO CHANGE at
//     a 5 % threshold, by design: a CI gate must not fail on noise.
//   - Per-interval samples cannot see run-to-run variance (a machine
//     that is 10 % slower for a whole run): that is what the threshold
//     is for, and bench/verdict-rates.sh measures the false-regression
//     rate it gives on this machine.
//   - The random source is math/rand/v2's PCG seeded by the caller: the
//     same runs give the same interval, run after run.
package stats
