package core

import "time"

// Result is the outcome of a run. Counts under Total and Operations are
// measurement-phase only; Warmup holds the warm-up phase's.
type Result struct {
	RunID  string `json:"run_id"`
	Name   string `json:"name"`
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	Driver string `json:"driver"`
	Target string `json:"target"` // redacted DSN
	// TargetSettings are the driver's settings as it ran, e.g. the PostgreSQL statement mode.
	TargetSettings map[string]string `json:"target_settings,omitempty"`
	Connections    int               `json:"connections"`
	// Workers counts the run's workers: the target, those declared lost
	// and the relaunches, with the gaps a loss left.
	Workers   WorkerStats `json:"workers"`
	Rate      float64     `json:"rate,omitempty"`
	Seed      uint64      `json:"seed"`
	StartedAt time.Time   `json:"started_at"`
	EndedAt   time.Time   `json:"ended_at"`
	Warmup    PhaseStats  `json:"warmup"`
	// MeasuredSeconds is the measurement phase's length, the QPS divisor.
	MeasuredSeconds float64            `json:"measured_seconds"`
	Total           OpStats            `json:"total"`
	Operations      map[string]OpStats `json:"operations"`
	// Open is set for open-model runs (Rate > 0).
	Open *OpenStats `json:"open_model,omitempty"`
	// RowsDropped counts results-store rows (snapshots, executions) the run
	// dropped because the store could not keep up or was down; Store has
	// the detail. Nothing is dropped silently.
	RowsDropped int64       `json:"rows_dropped"`
	Store       *StoreStats `json:"store,omitempty"`
	// SLO holds the verdict of every objective the spec sets, checked on
	// the measurement phase (CheckSLO).
	SLO []SLOVerdict `json:"slo,omitempty"`
	// WarmupDecision says how and when the warm-up ended.
	WarmupDecision *WarmupDecision `json:"warmup_decision,omitempty"`
}

// StoreStats counts the rows a run wrote to the results store. With
// workers in other processes the stored counts are read back from the
// store at the end and the dropped rows are known only as a total
// (Result.RowsDropped, from the workers' heartbeats): the *Dropped fields
// are then 0.
type StoreStats struct {
	SnapshotsStored   int64 `json:"snapshots_stored"`
	SnapshotsDropped  int64 `json:"snapshots_dropped"`
	ExecutionsStored  int64 `json:"executions_stored"`
	ExecutionsDropped int64 `json:"executions_dropped"`
}

// PhaseStats summarises a phase other than measurement.
type PhaseStats struct {
	Seconds float64 `json:"seconds"`
	Count   int64   `json:"count"`
	Errors  int64   `json:"errors"`
}

// OpStats summarises one operation (or all of them) over a phase.
// Count includes failed executions; Errors counts those; latency
// percentiles are over successful executions (failed ones have their own
// histogram, reported as ErrorLatency).
type OpStats struct {
	Count         int64            `json:"count"`
	Errors        int64            `json:"errors"`
	ErrorsByClass map[string]int64 `json:"errors_by_class,omitempty"`
	QPS           float64          `json:"qps"`
	// Latency is service time: from the query's actual start to its end.
	Latency Latency `json:"latency_ms"`
	// Response is set in open-model runs: from the intended start to the end,
	// so time spent queued behind a slow server counts (coordinated omission corrected).
	Response     *Latency `json:"response_ms,omitempty"`
	ErrorLatency *Latency `json:"error_latency_ms,omitempty"`
}

// Latency holds latency statistics in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// OpenStats counts the starts of an open-model run's measurement phase.
type OpenStats struct {
	// Intended is how many starts the schedule asked for.
	Intended int64 `json:"intended"`
	// Started is how many began.
	Started int64 `json:"started"`
	// Late counts starts that began more than LateThreshold after their intended time.
	Late int64 `json:"late"`
	// Skipped counts starts dropped because the backlog was full.
	Skipped         int64   `json:"skipped"`
	LateThresholdMS float64 `json:"late_threshold_ms"`
}

// WorkerStats counts a run's workers.
type WorkerStats struct {
	Target     int `json:"target"`
	Lost       int `json:"lost"`
	Relaunched int `json:"relaunched"`
	// Restarted counts workers a launcher's scheduler restarted by itself
	// (orchestrator.SelfRestarting) instead of the orchestrator.
	Restarted int   `json:"restarted,omitempty"`
	Gaps      []Gap `json:"gaps,omitempty"`
}

// Gap is the time a worker group ran without a live worker.
type Gap struct {
	Group  int       `json:"group"`
	LostAt time.Time `json:"lost_at"`
	// BackAt is when the relaunched worker joined; zero if it never did.
	BackAt time.Time `json:"back_at,omitempty"`
	Reason string    `json:"reason"`
}
