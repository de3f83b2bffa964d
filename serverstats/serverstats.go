package serverstats

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// Sources of server figures.
const (
	SourcePgStatStatements      = "pg_stat_statements"
	SourceAggregateQueryHistory = "aggregate_query_history"
)

// Baseline is pg_stat_statements as it was before the measurement phase,
// for the operations of a workload.
type Baseline struct {
	names  []string
	sqls   []string
	before []driver.StatementStat
}

// Before reads the counters of ops' statements on c. A workload without
// SQL (a Go workload) or a server without the extension is an error
// (errors.Is driver.ErrNoStatementStats for the latter): Skipped says
// what to record.
func Before(ctx context.Context, c driver.StatementStatser, ops []core.OperationSpec) (*Baseline, error) {
	b := &Baseline{}
	for _, op := range ops {
		if op.SQL == "" {
			continue
		}
		b.names = append(b.names, op.Name)
		b.sqls = append(b.sqls, op.SQL)
	}
	if len(b.sqls) == 0 {
		return nil, errNoSQL
	}
	var err error
	if b.before, err = c.StatementStats(ctx, b.sqls); err != nil {
		return nil, err
	}
	return b, nil
}

var errNoSQL = errors.New("serverstats: the workload has no SQL operations (a Go workload): nothing to match on the server")

// Skipped returns the server section for a Baseline that could not be
// read: SKIPPED when the server has no counters or the workload no SQL,
// FAILED otherwise, with the reason.
func Skipped(source string, err error) *core.ServerStats {
	st := core.EnrichFailed
	if errors.Is(err, driver.ErrNoStatementStats) || errors.Is(err, errNoSQL) {
		st = core.EnrichSkipped
	}
	return &core.ServerStats{Source: source, Status: st, Reason: err.Error(), CheckedAt: now()}
}

func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

// After reads the counters again and returns the difference per
// operation: calls and mean execution time over the phase. The maximum is
// exact when it rose during the phase (the server's maximum was set by
// one of the phase's executions); otherwise it is the server's maximum
// since its counters were reset, an upper bound (MaxExact false).
func (b *Baseline) After(ctx context.Context, c driver.StatementStatser) *core.ServerStats {
	after, err := c.StatementStats(ctx, b.sqls)
	if err != nil {
		return Skipped(SourcePgStatStatements, err)
	}
	s := &core.ServerStats{Source: SourcePgStatStatements, Status: core.EnrichCompleted, CheckedAt: now(),
		Operations: make(map[string]core.ServerOp, len(b.names))}
	for i, name := range b.names {
		calls := after[i].Calls - b.before[i].Calls
		total := after[i].TotalMS - b.before[i].TotalMS
		if calls < 0 { // the counters were reset during the phase
			s.Status, s.Reason = core.EnrichFailed, "pg_stat_statements was reset during the measurement phase"
			calls, total = after[i].Calls, after[i].TotalMS
		}
		op := core.ServerOp{Calls: calls, MaxMS: round(after[i].MaxMS), MaxExact: after[i].MaxMS > b.before[i].MaxMS}
		if calls > 0 {
			op.MeanMS = round(total / float64(calls))
		}
		s.Operations[name] = op
	}
	return s
}

// ParseTag splits a load statement's query tag
// ("unistore:run=R:worker=W:phase=P:op=NAME") into its phase and
// operation; ok is false for other tags.
func ParseTag(tag string) (phase core.Phase, op string, ok bool) {
	if !strings.HasPrefix(tag, "unistore:run=") {
		return "", "", false
	}
	i := strings.Index(tag, ":phase=")
	j := strings.Index(tag, ":op=")
	if i < 0 || j < i {
		return "", "", false
	}
	return core.Phase(tag[i+len(":phase=") : j]), tag[j+len(":op="):], true
}

// TagPrefix is the query-tag prefix of a run's load statements.
func TagPrefix(runID string) string { return "unistore:run=" + runID + ":" }

// FromQueryHistory returns the server section of a Snowflake run from its
// AGGREGATE_QUERY_HISTORY buckets: measurement-phase statements only, by
// operation (the query tag carries both). Across 1-minute buckets, calls,
// throttled counts and means are exact sums; a percentile is the
// calls-weighted mean of the buckets' percentiles (exact within one
// bucket, an approximation across several) and the maximum the largest.
func FromQueryHistory(buckets []driver.QueryBucket) *core.ServerStats {
	type acc struct {
		calls, throttled             int64
		sum                          float64
		p50, p90, p99, max           float64
		c50, c90, c99, e50, e90, e99 float64
		q50, q90, q99                float64
	}
	accs := map[string]*acc{}
	for _, b := range buckets {
		phase, op, ok := ParseTag(b.QueryTag)
		if !ok || phase != core.PhaseMeasurement {
			continue
		}
		a := accs[op]
		if a == nil {
			a = &acc{}
			accs[op] = a
		}
		a.throttled += b.Throttled
		if b.Calls == 0 {
			continue
		}
		w := float64(b.Calls)
		a.calls += b.Calls
		a.sum += b.Elapsed.Sum
		a.p50 += w * b.Elapsed.Median
		a.p90 += w * b.Elapsed.P90
		a.p99 += w * b.Elapsed.P99
		a.max = math.Max(a.max, b.Elapsed.Max)
		a.c50 += w * b.Compile.Median
		a.c90 += w * b.Compile.P90
		a.c99 += w * b.Compile.P99
		a.e50 += w * b.Execution.Median
		a.e90 += w * b.Execution.P90
		a.e99 += w * b.Execution.P99
		a.q50 += w * b.Queued.Median
		a.q90 += w * b.Queued.P90
		a.q99 += w * b.Queued.P99
	}
	s := &core.ServerStats{Source: SourceAggregateQueryHistory, Status: core.EnrichCompleted, CheckedAt: now(),
		Operations: make(map[string]core.ServerOp, len(accs))}
	for name, a := range accs {
		op := core.ServerOp{Calls: a.calls, Throttled: a.throttled, MaxMS: round(a.max), MaxExact: true}
		if a.calls > 0 {
			n := float64(a.calls)
			op.MeanMS, op.P50MS, op.P90MS, op.P99MS = round(a.sum/n), round(a.p50/n), round(a.p90/n), round(a.p99/n)
			op.CompileP50MS, op.CompileP90MS, op.CompileP99MS = round(a.c50/n), round(a.c90/n), round(a.c99/n)
			op.ExecP50MS, op.ExecP90MS, op.ExecP99MS = round(a.e50/n), round(a.e90/n), round(a.e99/n)
			op.QueuedP50MS, op.QueuedP90MS, op.QueuedP99MS = round(a.q50/n), round(a.q90/n), round(a.q99/n)
		}
		s.Operations[name] = op
	}
	return s
}

// Compare puts the client's figures of res beside each server operation:
// successful calls and latency, the calls' difference and the app
// overhead (client minus server). It also adds the operations the client
// ran that the server did not report (0 calls).
func Compare(s *core.ServerStats, res *core.Result) {
	if s == nil || res == nil || s.Status != core.EnrichCompleted {
		return
	}
	for name, c := range res.Operations {
		op := s.Operations[name]
		op.ClientCalls = c.Count - c.Errors
		op.CallsDiff = op.Calls - op.ClientCalls
		op.ClientMeanMS, op.ClientP50MS, op.ClientP99MS = c.Latency.Mean, c.Latency.P50, c.Latency.P99
		if op.Calls > 0 {
			op.AppOverheadMeanMS = round(c.Latency.Mean - op.MeanMS)
			if op.P50MS > 0 || op.P99MS > 0 {
				op.AppOverheadP50MS = round(c.Latency.P50 - op.P50MS)
				op.AppOverheadP99MS = round(c.Latency.P99 - op.P99MS)
			}
		}
		s.Operations[name] = op
	}
}

// round keeps microseconds.
func round(ms float64) float64 { return math.Round(ms*1000) / 1000 }

// Pending is the server section of a run whose history the server has
// not published yet.
func Pending(source, reason string) *core.ServerStats {
	return &core.ServerStats{Source: source, Status: core.EnrichPending, Reason: reason, CheckedAt: now()}
}

// Failed is a server section that could not be read.
func Failed(source string, err error) *core.ServerStats {
	return &core.ServerStats{Source: source, Status: core.EnrichFailed, Reason: fmt.Sprint(err), CheckedAt: now()}
}
