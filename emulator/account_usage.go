package emulator

// Minimal SNOWFLAKE.ACCOUNT_USAGE.AGGREGATE_QUERY_HISTORY and
// WAREHOUSE_METERING_HISTORY, built from the request log whenever a
// statement names ACCOUNT_USAGE, so the server-side figures and metered
// credits of a run are tested end to end with the real driver.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// AccountUsageDatabase and AccountUsageSchema hold the emulated views.
const (
	AccountUsageDatabase = "SNOWFLAKE"
	AccountUsageSchema   = "ACCOUNT_USAGE"
)

// XSmallCreditsPerHour is what the emulator meters a warehouse at: its
// warehouses are X-Small single clusters.
const XSmallCreditsPerHour = 1.0

func mentionsAccountUsage(toks []token) bool {
	for _, t := range toks {
		if t.kind == tWord && strings.EqualFold(t.text, AccountUsageSchema) {
			return true
		}
	}
	return false
}

type aqhKey struct {
	start          time.Time
	tag, sql, user string
	warehouse      string
}

type aqhBucket struct {
	calls, throttled, errors int64
	elapsed                  []float64 // ms, successful executions
}

// timeObject is AGGREGATE_QUERY_HISTORY's summary of one time column, in
// milliseconds, as JSON text (the emulator's VARIANT is JSON text).
func timeObject(ms []float64) string {
	o := map[string]float64{"sum": 0, "avg": 0, "stddev": 0, "min": 0, "median": 0, "p90": 0, "p99": 0, "p99.9": 0, "max": 0}
	if len(ms) > 0 {
		s := slices.Clone(ms)
		slices.Sort(s)
		var sum float64
		for _, v := range s {
			sum += v
		}
		avg := sum / float64(len(s))
		var ss float64
		for _, v := range s {
			ss += (v - avg) * (v - avg)
		}
		rank := func(q float64) float64 { // nearest rank
			i := int(math.Ceil(q*float64(len(s)))) - 1
			return s[max(min(i, len(s)-1), 0)]
		}
		o = map[string]float64{"sum": sum, "avg": avg, "stddev": math.Sqrt(ss / float64(len(s))), "min": s[0],
			"median": rank(0.5), "p90": rank(0.9), "p99": rank(0.99), "p99.9": rank(0.999), "max": s[len(s)-1]}
	}
	b, _ := json.Marshal(o)
	return string(b)
}

// refreshAccountUsage rebuilds the two views' tables from the request
// log: executed query-requests (not describe-only, not the views' own
// readers) by minute, query tag, statement text, user and warehouse; and,
// per warehouse and hour, the credits of an X-Small warehouse running from
// the hour's first statement to its last (at least 60 s). Buckets ending
// after now − Config.AccountUsageLag are left out, as Snowflake's views lag.
func (s *Server) refreshAccountUsage() error {
	now := time.Now().UTC()
	lag := s.accountUsageLag()
	cutoff := now.Add(-lag)
	buckets := map[aqhKey]*aqhBucket{}
	type span struct{ first, last time.Time }
	hours := map[string]map[time.Time]*span{}
	for _, r := range s.Requests() {
		if r.Kind != "query" || r.DescribeOnly || mentionsAccountUsage(tokenize(r.SQL)) {
			continue
		}
		start := r.Time.UTC().Truncate(time.Minute)
		if start.Add(time.Minute).After(cutoff) && lag > 0 {
			continue
		}
		k := aqhKey{start: start, tag: r.QueryTag, sql: r.SQL, user: r.User, warehouse: r.Warehouse}
		b := buckets[k]
		if b == nil {
			b = &aqhBucket{}
			buckets[k] = b
		}
		switch {
		case r.Status == 429:
			b.throttled++
		case r.Status != 200 || r.Code != "":
			b.errors++
			b.calls++
		default:
			b.calls++
			b.elapsed = append(b.elapsed, float64(r.Elapsed)/float64(time.Millisecond))
		}
		if r.Warehouse != "" && r.Status == 200 {
			hour := r.Time.UTC().Truncate(time.Hour)
			if hour.Add(time.Hour).After(cutoff) && lag > 0 {
				continue
			}
			if hours[r.Warehouse] == nil {
				hours[r.Warehouse] = map[time.Time]*span{}
			}
			sp := hours[r.Warehouse][hour]
			if sp == nil {
				sp = &span{first: r.Time, last: r.Time}
				hours[r.Warehouse][hour] = sp
			}
			if r.Time.Before(sp.first) {
				sp.first = r.Time
			}
			if end := r.Time.Add(r.Elapsed); end.After(sp.last) {
				sp.last = end
			}
		}
	}

	a := s.admin
	a.mu.Lock()
	defer a.mu.Unlock()
	ctx := context.Background()
	run := func(sql string, args ...any) error {
		for _, st := range splitStatements(tokenize(sql)) {
			if _, err := s.execute(ctx, a, st.toks, args, false); err != nil {
				return fmt.Errorf("emulator: account usage: %w", err)
			}
		}
		return nil
	}
	const aqh = AccountUsageDatabase + "." + AccountUsageSchema + ".AGGREGATE_QUERY_HISTORY"
	const wmh = AccountUsageDatabase + "." + AccountUsageSchema + ".WAREHOUSE_METERING_HISTORY"
	if err := run(`CREATE DATABASE IF NOT EXISTS ` + AccountUsageDatabase); err != nil {
		return err
	}
	if err := run(`CREATE SCHEMA IF NOT EXISTS ` + AccountUsageDatabase + "." + AccountUsageSchema); err != nil {
		return err
	}
	if err := run(`CREATE OR REPLACE TABLE ` + aqh + ` (
    INTERVAL_START_TIME TIMESTAMP_LTZ, INTERVAL_END_TIME TIMESTAMP_LTZ, QUERY_PARAMETERIZED_HASH VARCHAR,
    QUERY_TEXT VARCHAR, QUERY_TYPE VARCHAR, USER_NAME VARCHAR, WAREHOUSE_NAME VARCHAR, WAREHOUSE_SIZE VARCHAR,
    QUERY_TAG VARCHAR, CALLS NUMBER(18,0), TOTAL_ELAPSED_TIME VARIANT, COMPILATION_TIME VARIANT,
    EXECUTION_TIME VARIANT, QUEUED_OVERLOAD_TIME VARIANT, HYBRID_TABLE_REQUESTS_THROTTLED_COUNT NUMBER(18,0),
    ERRORS VARIANT)`); err != nil {
		return err
	}
	if err := run(`CREATE OR REPLACE TABLE ` + wmh + ` (
    START_TIME TIMESTAMP_LTZ, END_TIME TIMESTAMP_LTZ, WAREHOUSE_ID NUMBER(18,0), WAREHOUSE_NAME VARCHAR,
    CREDITS_USED NUMBER(38,9), CREDITS_USED_COMPUTE NUMBER(38,9), CREDITS_USED_CLOUD_SERVICES NUMBER(38,9))`); err != nil {
		return err
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999999") }
	zero := timeObject(nil)
	for k, b := range buckets {
		typ := "SELECT"
		if f := strings.Fields(k.sql); len(f) > 0 {
			typ = strings.ToUpper(f[0])
		}
		if err := run(`INSERT INTO `+aqh+` VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ts(k.start), ts(k.start.Add(time.Minute)), fmt.Sprintf("%016x", fnv64(k.sql)), k.sql, typ, k.user, k.warehouse, "X-Small",
			k.tag, b.calls, timeObject(b.elapsed), zero, timeObject(b.elapsed), zero, b.throttled,
			fmt.Sprintf(`[{"count":%d}]`, b.errors)); err != nil {
			return err
		}
	}
	var id int64
	for wh, hs := range hours {
		id++
		for hour, sp := range hs {
			sec := max(sp.last.Sub(sp.first).Seconds(), 60)
			credits := XSmallCreditsPerHour * sec / 3600
			if err := run(`INSERT INTO `+wmh+` VALUES (?, ?, ?, ?, ?, ?, ?)`,
				ts(hour), ts(hour.Add(time.Hour)), id, wh, credits, credits, 0.0); err != nil {
				return err
			}
		}
	}
	return nil
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
