// Package serverstats puts the target server's own view of a run's
// measurement phase beside the client's, per operation, with the gap
// between them ("app overhead": client minus server — the driver, the
// network, the client's scheduling).
//
// # PostgreSQL: pg_stat_statements
//
// Before reads the extension's counters of the workload's statements on
// the run's meter connection (driver.StatementStatser) when the
// measurement starts — before the first load statement for a run without
// warm-up, at SET_PHASE MEASUREMENT otherwise — and After reads them once
// every worker has stopped; the difference is the phase's calls and mean
// execution time. The extension keeps one maximum since its last reset,
// so the maximum is exact only when it rose during the phase (MaxExact),
// an upper bound otherwise: resetting the counters would have made it
// exact but erases other users' statistics and needs a privilege runs do
// not have. Entries are matched by their normalized text
// (postgres.NormalizeStatement), for the connection's user in the target
// database, so every statement mode matches: prepared and raw statements
// are recorded with $n parameters, simple-protocol statements with their
// constants replaced by $n. Without the extension the section is SKIPPED
// with the reason (`CREATE EXTENSION pg_stat_statements`, with
// shared_preload_libraries).
//
// Calls against the client's: without a warm-up, the counters bracket the
// whole load, and the server counts at most one more per connection (the
// statement in flight at the stop, which the client does not count):
// TestServerStatsPostgres holds that in all four statement modes. With a
// warm-up, the counters are read when the orchestrator appends SET_PHASE
// and workers switch within one control poll, so the figures include up
// to that much warm-up.
//
// # Snowflake: AGGREGATE_QUERY_HISTORY
//
// Sub-second hybrid-table statements are not in QUERY_HISTORY, so the
// server's figures come from ACCOUNT_USAGE.AGGREGATE_QUERY_HISTORY:
// one-minute buckets per parameterized statement and query tag. The load's
// tag is "unistore:run=RUN:worker=W:phase=P:op=NAME" (driver/snowflake),
// so FromQueryHistory keeps the measurement phase and groups by
// operation: calls, p50/p90/p99 of total elapsed, compilation,
// execution and queued (overload) time, the maximum elapsed, and the
// hybrid-table throttled count. Calls, sums (hence means) and throttled counts are exact;
// percentiles across buckets are the calls-weighted mean of the buckets'
// percentiles — exact within a bucket, an approximation across several
// (the view keeps no histograms). The view lags by up to three hours:
// `unistore run --enrich` reads it at once (PENDING if empty), `unistore
// runs enrich RUN_ID` later. A statement's tag takes the phase at its
// start (the loop's recorder's phase, metrics.Recorder.Phase) and the
// client counts it in the phase its recorder has when it ends, so the
// calls differ only by the statements in flight at the warm-up's end and
// at the stop: at most one of each per connection (TestEnrichSnowflake
// measured none). A worker killed with SIGKILL loses its last interval,
// which the server still counts.
package serverstats
