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
	// ConnectionsTarget is how many connections the workers were asked to
	// hold over the run — Connections is the start's, per worker — with
	// every scale (SET_WORKER_TARGET) replayed: final and maximum, per
	// worker and across the workers.
	ConnectionsTarget *ConnectionTargets `json:"connections_target,omitempty"`
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
	RowsDropped int64 `json:"rows_dropped"`
	// RowsSpooled counts rows the store could not take by the end of the
	// flush timeout, written instead to the local spool (Store.SpoolDir)
	// for `unistore runs recover` to load.
	RowsSpooled int64       `json:"rows_spooled,omitempty"`
	Store       *StoreStats `json:"store,omitempty"`
	// Cost is the run's cost: warehouse credits on a Snowflake target and
	// the control plane's writes on every store (CostStats).
	Cost *CostStats `json:"cost,omitempty"`
	// Server is the target server's own view of the measurement phase,
	// per operation, beside the client's (ServerStats).
	Server *ServerStats `json:"server,omitempty"`
	// SLO holds the verdict of every objective the spec sets, checked on
	// the measurement phase (CheckSLO).
	SLO []SLOVerdict `json:"slo,omitempty"`
	// WarmupDecision says how and when the warm-up ended.
	WarmupDecision *WarmupDecision `json:"warmup_decision,omitempty"`
}

// FullyRecorded reports whether everything the run measured reached the
// results store: no row dropped or left in the spool, and its final
// RUN_STATUS written. A run that is not is "measured, not fully
// recorded" (the CLI's exit status 4).
func (r *Result) FullyRecorded() bool {
	return r.RowsDropped == 0 && r.RowsSpooled == 0 && (r.Store == nil || !r.Store.StatusSpooled)
}

// StoreStats counts the rows a run wrote to the results store: for each
// kind, stored + spooled + dropped = produced. Workers the orchestrator
// launched on this machine report their counts over their local channel;
// with workers elsewhere the stored counts are read back from the store at
// the end and the dropped rows are known only as a total
// (Result.RowsDropped, from the workers' heartbeats).
type StoreStats struct {
	SnapshotsStored   int64 `json:"snapshots_stored"`
	SnapshotsSpooled  int64 `json:"snapshots_spooled,omitempty"`
	SnapshotsDropped  int64 `json:"snapshots_dropped"`
	ExecutionsStored  int64 `json:"executions_stored"`
	ExecutionsSpooled int64 `json:"executions_spooled,omitempty"`
	ExecutionsDropped int64 `json:"executions_dropped"`
	// StatusSpooled is set when the run's final RUN_STATUS could not be
	// written either: it waits in the spool with the rows.
	StatusSpooled bool `json:"status_spooled,omitempty"`
	// SpoolDir is where unstored rows went, set when anything was spooled.
	SpoolDir string `json:"spool_dir,omitempty"`
	// RecoveredAt is when `unistore runs recover` loaded the spooled rows
	// and status into the store (set in the stored summary only).
	RecoveredAt *time.Time `json:"recovered_at,omitempty"`
}

// PhaseStats summarises a phase other than measurement.
type PhaseStats struct {
	// Seconds is the span the phase's snapshots cover: from the first
	// worker's first load to the last worker's cut.
	Seconds float64 `json:"seconds"`
	// ConfiguredSeconds is the spec's length for the phase (warm-up),
	// counted from the moment every worker had joined. Seconds exceeds it
	// by how long before that the first worker joined (workers load from
	// the moment they join) and by how long the phase change took to
	// reach the workers (at most a poll).
	ConfiguredSeconds float64 `json:"configured_seconds"`
	Count             int64   `json:"count"`
	Errors            int64   `json:"errors"`
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
// Every intended start is counted once: Intended = Started + Skipped +
// Pending.
type OpenStats struct {
	// Intended is how many starts the measurement had to serve: those its
	// schedule made due during it, plus CarriedIn.
	Intended int64 `json:"intended"`
	// CarriedIn counts starts due during warm-up that were still waiting
	// for a connection when measurement began (they run, and count, in
	// measurement).
	CarriedIn int64 `json:"carried_in"`
	// Started is how many began (the few in flight at the stop among
	// them, whose results are not counted).
	Started int64 `json:"started"`
	// Late counts starts that began more than LateThreshold after their intended time.
	Late int64 `json:"late"`
	// Skipped counts starts dropped because the backlog was full.
	Skipped int64 `json:"skipped"`
	// Pending counts intended starts still waiting for a connection when
	// the run stopped: they never ran, so no response time holds their
	// wait.
	Pending         int64   `json:"pending"`
	LateThresholdMS float64 `json:"late_threshold_ms"`
	// Behind is set when the client could not keep the rate: more of the
	// intended starts were skipped or never started than 1% of them (and
	// than one per worker, a start due at the very stop).
	Behind bool `json:"behind"`
}

// ConnectionTargets are a run's connection targets over time. The per-worker
// figures are the largest group's when a scale moved only some groups; the
// totals add every group's.
type ConnectionTargets struct {
	Start      int `json:"start"`
	Final      int `json:"final"`
	Max        int `json:"max"`
	TotalStart int `json:"total_start"`
	TotalFinal int `json:"total_final"`
	TotalMax   int `json:"total_max"`
	// Changes are the scales in order, each with the total it left.
	Changes []ConnectionChange `json:"changes,omitempty"`
}

// ConnectionChange is one scale: Connections per worker for Groups (every
// group if empty), from At; Total is the sum across workers after it.
type ConnectionChange struct {
	At          time.Time `json:"at"`
	Connections int       `json:"connections"`
	Groups      []int     `json:"groups,omitempty"`
	Total       int       `json:"total"`
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
