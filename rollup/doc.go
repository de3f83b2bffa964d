// Package rollup is the read side of the results store: it merges the
// workers' stored snapshots into a run's result (Rollup, Result), its
// per-bucket intervals (Intervals), the live progress of a running run
// (Live) and its workers' health from their heartbeats (Health).
//
// # Decisions
//
//   - Exact: histograms are merged, never averaged. Decode is the one
//     decoder of a stored snapshot row into metrics; Rollup, Intervals and
//     Live all merge what it returns, so the three can never disagree on
//     what a row holds.
//   - A phase's length is the span its snapshots cover, so QPS is divided
//     by the time the workers measured, not by the control plane's clock.
//     The orchestrator's final result and `unistore runs show` compute the
//     same rollup from the same rows: the two are identical.
//   - Intervals buckets rows by their interval's midpoint, aligned on the
//     run's first snapshot: workers cut intervals on their own clocks.
//   - Open-model starts balance: the measurement's Intended (its own due
//     starts plus CarriedIn, what warm-up left queued) equals Started +
//     Skipped + Pending, Pending being what was still queued at the stop
//     (openStats derives both from the stored per-interval counts, with
//     no column of their own: each start is counted intended, started and
//     skipped exactly once, in the interval where it happened). Behind is
//     set when more than 1% of the intended starts (and more than one per
//     worker) never ran: the client could not keep the rate, and the
//     summary says so in capitals.
//   - It reads through Reader (GetRun, Snapshots), the two methods it
//     needs, and writes nothing.
package rollup
