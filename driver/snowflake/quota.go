package snowflake

import "fmt"

// QuotaOpsPerSecond is the documented hybrid-table request quota: about
// 8,000 operations per second per database (for an 80/20 point read/write
// mix) before Snowflake throttles.
const QuotaOpsPerSecond = 8000

// ClosedModelStatementLatency is the per-statement latency QuotaWarning
// assumes for the closed model: a fast hybrid-table point operation seen
// from a client in the same region. A closed-loop connection then issues at
// most 1/latency = 200 statements per second, so 40 connections in total
// can reach the quota. It is optimistic on purpose: the warning is for runs
// that may reach the quota, not only for those that surely do.
const ClosedModelStatementLatency = 5e-3 // seconds

// QuotaWarning returns a warning, or "" for none, when a planned run is
// likely to exceed the hybrid-table request quota of one database.
// openRate is the open model's arrival rate per worker (0 for the closed
// model); connections is the number of connections per worker.
//
//	open model:   openRate × workers
//	closed model: workers × connections / ClosedModelStatementLatency
//
// The CLI calls it before load; the estimate is per database, so runs
// against several databases share nothing.
func QuotaWarning(openRate float64, workers, connections int) string {
	workers = max(workers, 1)
	if openRate > 0 {
		planned := openRate * float64(workers)
		if planned > QuotaOpsPerSecond {
			return fmt.Sprintf("snowflake: the planned rate %.0f ops/s (%g/s × %d workers) exceeds the hybrid-table request quota of about %d ops/s per database: expect throttling (errors of class \"throttled\") and latency that measures the quota, not the table",
				planned, openRate, workers, QuotaOpsPerSecond)
		}
		return ""
	}
	total := workers * max(connections, 1)
	est := float64(total) / ClosedModelStatementLatency
	if est > QuotaOpsPerSecond {
		return fmt.Sprintf("snowflake: %d connections (%d workers × %d) can issue up to about %.0f ops/s at %.0f ms per statement, above the hybrid-table request quota of about %d ops/s per database: expect throttling (errors of class \"throttled\")",
			total, workers, max(connections, 1), est, ClosedModelStatementLatency*1000, QuotaOpsPerSecond)
	}
	return ""
}
