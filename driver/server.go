package driver

// Optional capabilities for a run's cost and the server's own view of it
// (packages cost and serverstats). Found by type assertion on a Conn; a
// driver without them has no warehouse to bill and no server counters.

import (
	"context"
	"errors"
	"time"
)

type auxKey struct{}

// WithAuxiliary returns ctx marking a connection opened under it as not
// the load's (the run's meter, reading the server's counters): drivers
// that name connections give it ClientName even over a name the DSN sets,
// so a DBA's (or a test's) count of the load's connections never includes
// it.
func WithAuxiliary(ctx context.Context, name string) context.Context {
	return context.WithValue(WithClientName(ctx, name), auxKey{}, true)
}

// Auxiliary reports whether ctx carries WithAuxiliary.
func Auxiliary(ctx context.Context) bool { b, _ := ctx.Value(auxKey{}).(bool); return b }

// Warehouse is a compute warehouse as its server reports it (Snowflake's
// SHOW WAREHOUSES).
type Warehouse struct {
	Name        string
	Size        string // as SHOW WAREHOUSES writes it: X-Small, Small, …, 6X-Large
	Running     int    // clusters running now (started_clusters)
	MaxClusters int
	// AutoSuspend is how long the warehouse runs idle before it suspends
	// (0: never, or unknown).
	AutoSuspend time.Duration
}

// WarehouseSampler is implemented by connections whose statements run on a
// billed warehouse. The run's cost sampler calls it every few seconds on a
// connection of its own, never on a load loop's.
type WarehouseSampler interface {
	SampleWarehouse(ctx context.Context) (Warehouse, error)
}

// StatementStat is the server's cumulative counters for one statement
// (PostgreSQL's pg_stat_statements): executions and execution time since
// the counters were last reset.
type StatementStat struct {
	Calls   int64
	TotalMS float64
	MaxMS   float64
}

// ErrNoStatementStats is matched by StatementStats' error when the server
// keeps no per-statement counters (pg_stat_statements not installed).
var ErrNoStatementStats = errors.New("driver: the server keeps no per-statement counters")

// StatementStatser is implemented by connections whose server counts
// executions per statement. StatementStats returns, for each of sqls (with
// "?" placeholders, as a workload writes them), the server's counters of
// that statement as this connection's user runs it in this database,
// summed over every entry that matches; zero when the server has none.
type StatementStatser interface {
	StatementStats(ctx context.Context, sqls []string) ([]StatementStat, error)
}

// Dist is a distribution the server summarised: milliseconds.
type Dist struct {
	Sum, Avg, Median, P90, P99, Max float64
}

// QueryBucket is one row of Snowflake's ACCOUNT_USAGE.AGGREGATE_QUERY_HISTORY:
// one parameterized statement with one query tag over one minute.
type QueryBucket struct {
	Start     time.Time
	QueryTag  string
	Calls     int64
	Elapsed   Dist
	Compile   Dist
	Execution Dist
	Queued    Dist // queued overload time
	Throttled int64
	Errors    int64
}

// ErrNotYet is matched by ServerHistory's errors when the server's history
// views have not caught up with the period asked for (they lag by hours).
var ErrNotYet = errors.New("driver: the server's history has not caught up yet")

// ServerHistory is implemented by connections whose server keeps a
// history of executed statements and metered credits (Snowflake's
// ACCOUNT_USAGE). Both read [from, to).
type ServerHistory interface {
	// QueryHistory returns the buckets whose query tag starts with
	// tagPrefix.
	QueryHistory(ctx context.Context, tagPrefix string, from, to time.Time) ([]QueryBucket, error)
	// MeteredCredits returns the credits the warehouse used per hour
	// bucket overlapping [from, to), and the end of the newest bucket the
	// view holds (ErrNotYet's test: a bucket ending before to means the
	// view lags).
	MeteredCredits(ctx context.Context, warehouse string, from, to time.Time) (credits float64, newest time.Time, err error)
}
