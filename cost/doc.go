// Package cost is the cost of a run: warehouse credits on a Snowflake
// target and the control plane's writes on every results store.
//
// # Warehouse credits (Snowflake target)
//
// Estimate multiplies the warehouse size's rate — credits per hour of one
// running cluster: XS 1, S 2, M 4, L 8, XL 16, 2XL 32, 3XL 64, 4XL 128,
// 5XL 256, 6XL 512 (CreditsPerHour) — by the cluster-seconds billed over
// the run's wall time (RUN_STATUS started_at to ended_at). The running
// cluster count comes from SHOW WAREHOUSES (started_clusters), sampled by
// a Sampler on its own goroutine and its own session every few seconds
// (unistore.SampleInterval), never on a load loop. BilledSeconds treats a
// sample's count as holding until the next sample; cluster k runs while
// the count is at least k; each stretch a cluster runs is one start,
// billed per second with a 60 s minimum. A warehouse already running
// before the run is still charged the minimum once: the estimate is what
// the run alone would cost. Credits per 1,000 successful operations count
// warm-up and measurement (the warehouse ran for both). Dollars are
// credits × the spec's price_per_credit (`--price-per-credit`,
// UNISTORE_PRICE_PER_CREDIT); without a price the cost is in credits only.
//
// Hybrid-table requests have not been billed since 2026-03-01: nothing is
// charged for them. Hybrid-table storage (per GB-month) is billed apart
// and not part of a run; every Snowflake cost carries that note.
//
// `unistore runs enrich` replaces the estimate with metered credits from
// ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY (hourly, hours late): the
// CREDITS_USED of every hour the run overlapped, which includes whatever
// else ran on the warehouse in those hours. The enrichment status is
// PENDING while the view has not reached the run's end, COMPLETED, SKIPPED
// (nothing to meter) or FAILED, with its reason, stored in the run's
// summary (core.CostStats.Enrichment).
//
// # Control plane
//
// Writes counts RUN_STATUS writes, RUN_CONTROL_EVENTS appends, heartbeats
// and snapshot rows. Counter wraps the store of the process that runs the
// orchestrator, so the orchestrator's writes and those of in-process
// workers are counted as they happen; events are read back (a `stop` or
// `scale` from another shell included). A worker process the
// orchestrator launched counts its own writes (every heartbeat and
// snapshot row it sent the store, retries included) and reports them
// over its local channel as it exits (control.Writes); the orchestrator
// hands the sum to the meter (orchestrator.MeterWorkerWrites), so when
// every worker is in-process or launched with a local channel the
// control plane is counted exactly — cmd/unistore TestControlWritesCounted
// holds the heartbeats to the upserts the store's server executed. Only
// for a worker that reported nothing — started elsewhere (by hand, a
// cluster scheduler) or killed before it could — are its heartbeats
// derived from its heartbeat span and cadence (one per tick and the
// final one) and the snapshot rows taken as stored; HeartbeatsEstimated
// says so and EstimatedWorkers names those workers. On the emulator the
// derived count matched the executed MERGEs within a few
// (cmd/unistore TestSnowflakeWorkers).
//
// On a Snowflake store the writes become credits by the keep-alive model
// (ControlPlaneModel): hybrid-table requests are not billed, so the cost
// of the control plane is the store warehouse's running time. Control
// statements arrive at least once a second (heartbeats, polls), far more
// often than any auto-suspend, so the store's warehouse runs for the
// whole run plus its auto-suspend tail: one cluster of its size for wall
// time + AUTO_SUSPEND (SHOW WAREHOUSES on the store's own session;
// X-Small and 600 s when it cannot be read), 60 s minimum. When the store
// uses the target's warehouse the load keeps it running anyway, and the
// control plane costs nothing extra. A per-write price (statement seconds
// × rate) was considered and rejected: Snowflake bills a running
// warehouse per second whether it executes one statement or a thousand,
// so per-write figures would understate what the bill shows.
package cost
