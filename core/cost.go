package core

import "time"

// CostStats is a run's cost (package cost computes it). Source says where
// the warehouse credits come from: "estimate" (size × running clusters ×
// wall time, billed per second with a 60 s minimum per start), "metered"
// (ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY, after `runs enrich`) or
// "none" (a target without warehouse billing: PostgreSQL, SQLite).
type CostStats struct {
	Source      string `json:"source"`
	Warehouse   string `json:"warehouse,omitempty"`
	Size        string `json:"size,omitempty"`
	ClustersMax int    `json:"clusters_max,omitempty"`
	// CreditsPerHour is the size's rate per running cluster.
	CreditsPerHour float64 `json:"credits_per_hour,omitempty"`
	// WallSeconds is the run's wall time (started to ended); BilledSeconds
	// the cluster-seconds billed (per second, 60 s minimum per start).
	WallSeconds   float64 `json:"wall_seconds,omitempty"`
	BilledSeconds float64 `json:"billed_seconds,omitempty"`
	Credits       float64 `json:"credits"`
	// CreditsPer1kOps is Credits per 1,000 successful operations (warm-up
	// and measurement: the warehouse ran for both).
	CreditsPer1kOps float64 `json:"credits_per_1k_ops"`
	PricePerCredit  float64 `json:"price_per_credit,omitempty"`
	Dollars         float64 `json:"dollars,omitempty"`
	// EstimatedCredits keeps the estimate once metered credits replace it.
	EstimatedCredits float64 `json:"estimated_credits,omitempty"`
	// Notes: the hybrid-table storage note, what was not charged and why.
	Notes []string `json:"notes,omitempty"`
	// Enrichment is the state of `runs enrich` for the metered credits.
	Enrichment   *Enrichment      `json:"enrichment,omitempty"`
	ControlPlane ControlPlaneCost `json:"control_plane"`
}

// ControlPlaneCost counts the run's control-plane writes to the results
// store and, on a Snowflake store, what they cost (package cost's model).
type ControlPlaneCost struct {
	Store string `json:"store,omitempty"` // the store's scheme
	// Writes is the sum of the four counts below.
	Writes       int64 `json:"writes"`
	RunStatus    int64 `json:"run_status_updates"`
	Events       int64 `json:"events"`
	Heartbeats   int64 `json:"heartbeats"`
	SnapshotRows int64 `json:"snapshot_rows"`
	// HeartbeatsEstimated is set when heartbeats of some workers were
	// derived from their cadence, not counted: workers started elsewhere
	// (by hand, by a cluster scheduler) or killed before they reported
	// their counts. EstimatedWorkers names them. The writes of workers
	// this process ran, or launched with a local channel, are counted.
	HeartbeatsEstimated bool     `json:"heartbeats_estimated,omitempty"`
	EstimatedWorkers    []string `json:"estimated_workers,omitempty"`
	WorkerMinutes       float64  `json:"worker_minutes,omitempty"`
	WritesPerWorkerMin  float64  `json:"writes_per_worker_minute,omitempty"`
	Credits             float64  `json:"credits"`
	Dollars             float64  `json:"dollars,omitempty"`
	Model               string   `json:"model,omitempty"`
}

// Enrichment states of `runs enrich`.
const (
	EnrichPending   = "PENDING"   // the server's views have not caught up yet: try later
	EnrichCompleted = "COMPLETED" // the figures are in
	EnrichSkipped   = "SKIPPED"   // nothing to enrich (no warehouse, no extension, …)
	EnrichFailed    = "FAILED"    // the views could not be read (the reason says why)
)

// Enrichment is the state of one enrichment, with its reason.
type Enrichment struct {
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitempty"`
}

// ServerStats is the target server's view of the run's measurement phase,
// per operation: Source is "pg_stat_statements" or
// "aggregate_query_history"; Status one of the Enrich* states.
type ServerStats struct {
	Source     string              `json:"source"`
	Status     string              `json:"status"`
	Reason     string              `json:"reason,omitempty"`
	CheckedAt  time.Time           `json:"checked_at,omitempty"`
	Operations map[string]ServerOp `json:"operations,omitempty"`
}

// ServerOp is one operation as the server saw it, beside the client's
// figures. Times in milliseconds. AppOverhead* are client minus server:
// the driver, the network and the client's own scheduling.
type ServerOp struct {
	Calls       int64 `json:"calls"`
	ClientCalls int64 `json:"client_calls"` // the client's successful executions
	// Calls minus ClientCalls.
	CallsDiff int64   `json:"calls_diff"`
	MeanMS    float64 `json:"mean_ms"`
	// MaxMS is the phase's maximum when MaxExact, else an upper bound (the
	// server keeps one maximum since its counters were reset).
	MaxMS    float64 `json:"max_ms"`
	MaxExact bool    `json:"max_exact,omitempty"`
	P50MS    float64 `json:"p50_ms,omitempty"`
	P90MS    float64 `json:"p90_ms,omitempty"`
	P99MS    float64 `json:"p99_ms,omitempty"`
	// Snowflake's split of the elapsed time.
	CompileP50MS float64 `json:"compilation_p50_ms,omitempty"`
	CompileP90MS float64 `json:"compilation_p90_ms,omitempty"`
	CompileP99MS float64 `json:"compilation_p99_ms,omitempty"`
	ExecP50MS    float64 `json:"execution_p50_ms,omitempty"`
	ExecP90MS    float64 `json:"execution_p90_ms,omitempty"`
	ExecP99MS    float64 `json:"execution_p99_ms,omitempty"`
	QueuedP50MS  float64 `json:"queued_p50_ms,omitempty"`
	QueuedP90MS  float64 `json:"queued_p90_ms,omitempty"`
	QueuedP99MS  float64 `json:"queued_p99_ms,omitempty"`
	Throttled    int64   `json:"throttled,omitempty"`
	// The client's figures and the gap.
	ClientMeanMS      float64 `json:"client_mean_ms"`
	ClientP50MS       float64 `json:"client_p50_ms"`
	ClientP99MS       float64 `json:"client_p99_ms"`
	AppOverheadMeanMS float64 `json:"app_overhead_mean_ms"`
	AppOverheadP50MS  float64 `json:"app_overhead_p50_ms,omitempty"`
	AppOverheadP99MS  float64 `json:"app_overhead_p99_ms,omitempty"`
}
