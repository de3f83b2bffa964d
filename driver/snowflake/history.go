package snowflake

// This file is the driver's side of a run's cost and server-side truth:
// SHOW WAREHOUSES for the running clusters, and the two ACCOUNT_USAGE
// views (AGGREGATE_QUERY_HISTORY, WAREHOUSE_METERING_HISTORY) read back by
// `unistore runs enrich`.

import (
	"context"
	sqldriver "database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/unistore-bench/unistore/driver"
)

var (
	_ driver.WarehouseSampler = (*conn)(nil)
	_ driver.ServerHistory    = (*conn)(nil)
)

// Tags of the driver's own statements outside a run's load.
const (
	sampleTag  = "unistore:cost"
	historyTag = "unistore:enrich"
)

// rowsOf runs q with args and returns every row as text (nil for NULL),
// with the column names upper-cased.
func (c *conn) rowsOf(ctx context.Context, q string, args ...any) ([]string, [][]*string, error) {
	if c.closed {
		return nil, nil, errClosed
	}
	named := make([]sqldriver.NamedValue, len(args))
	for i, a := range args {
		named[i] = sqldriver.NamedValue{Ordinal: i + 1, Value: a}
	}
	rows, err := c.q.QueryContext(ctx, q, named)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cols := rows.Columns()
	for i := range cols {
		cols[i] = strings.ToUpper(cols[i])
	}
	dest := make([]sqldriver.Value, len(cols))
	var out [][]*string
	for {
		if err := rows.Next(dest); err != nil {
			if err == io.EOF {
				break
			}
			return nil, nil, err
		}
		row := make([]*string, len(cols))
		for i, v := range dest {
			switch v := v.(type) {
			case nil:
			case time.Time:
				s := v.UTC().Format(time.RFC3339Nano)
				row[i] = &s
			case []byte:
				s := string(v)
				row[i] = &s
			default:
				s := fmt.Sprint(v)
				row[i] = &s
			}
		}
		out = append(out, row)
	}
	return cols, out, nil
}

func colIndex(cols []string) map[string]int {
	m := make(map[string]int, len(cols))
	for i, c := range cols {
		m[c] = i
	}
	return m
}

func cell(row []*string, idx map[string]int, col string) string {
	if i, ok := idx[col]; ok && row[i] != nil {
		return *row[i]
	}
	return ""
}

// SampleWarehouse implements driver.WarehouseSampler with SHOW WAREHOUSES
// LIKE the DSN's warehouse (or the session's, CURRENT_WAREHOUSE(), when the
// DSN names none): its size, started clusters, maximum and auto-suspend.
func (c *conn) SampleWarehouse(ctx context.Context) (driver.Warehouse, error) {
	if !labeled(ctx) { // a caller's label (the run's meter) wins
		ctx = gosnowflake.WithQueryTag(ctx, sampleTag)
	}
	name := c.c.cfg.Warehouse
	if name == "" { // the user's default warehouse
		_, rows, err := c.rowsOf(ctx, "SELECT CURRENT_WAREHOUSE()")
		if err != nil {
			return driver.Warehouse{}, fmt.Errorf("snowflake: current warehouse: %w", err)
		}
		if len(rows) == 0 || len(rows[0]) == 0 || rows[0][0] == nil || *rows[0][0] == "" {
			return driver.Warehouse{}, fmt.Errorf("snowflake: the session has no warehouse (give warehouse= in the DSN)")
		}
		name = *rows[0][0]
	}
	cols, rows, err := c.rowsOf(ctx, "SHOW WAREHOUSES LIKE '"+strings.ReplaceAll(name, "'", "''")+"'")
	if err != nil {
		return driver.Warehouse{}, fmt.Errorf("snowflake: show warehouses: %w", err)
	}
	if len(rows) == 0 {
		return driver.Warehouse{}, fmt.Errorf("snowflake: show warehouses: warehouse %s not visible to this role", name)
	}
	idx := colIndex(cols)
	w := driver.Warehouse{Name: cell(rows[0], idx, "NAME"), Size: cell(rows[0], idx, "SIZE")}
	w.Running, _ = strconv.Atoi(cell(rows[0], idx, "STARTED_CLUSTERS"))
	w.MaxClusters, _ = strconv.Atoi(cell(rows[0], idx, "MAX_CLUSTER_COUNT"))
	if sec, err := strconv.Atoi(cell(rows[0], idx, "AUTO_SUSPEND")); err == nil {
		w.AutoSuspend = time.Duration(sec) * time.Second
	}
	if state := cell(rows[0], idx, "STATE"); w.Running == 0 && strings.EqualFold(state, "STARTED") {
		w.Running = 1 // an account whose SHOW lacks started_clusters
	}
	return w, nil
}

// dist reads one of AGGREGATE_QUERY_HISTORY's time objects
// ({"sum":…, "avg":…, "median":…, "p90":…, "p99":…, "max":…}, ms).
func dist(s string) (driver.Dist, error) {
	if s == "" {
		return driver.Dist{}, nil
	}
	var m map[string]float64
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return driver.Dist{}, fmt.Errorf("time object %.80q: %w", s, err)
	}
	return driver.Dist{Sum: m["sum"], Avg: m["avg"], Median: m["median"], P90: m["p90"], P99: m["p99"], Max: m["max"]}, nil
}

// QueryHistory implements driver.ServerHistory over
// SNOWFLAKE.ACCOUNT_USAGE.AGGREGATE_QUERY_HISTORY. The time objects are
// read whole and parsed here (no VARIANT paths in the SQL).
func (c *conn) QueryHistory(ctx context.Context, tagPrefix string, from, to time.Time) ([]driver.QueryBucket, error) {
	// LIKE's wildcards in the prefix match more, never less: the prefix
	// is checked again below.
	like := tagPrefix + "%"
	cols, rows, err := c.rowsOf(gosnowflake.WithQueryTag(ctx, historyTag), `SELECT INTERVAL_START_TIME, QUERY_TAG, CALLS, TOTAL_ELAPSED_TIME, COMPILATION_TIME, EXECUTION_TIME, QUEUED_OVERLOAD_TIME, HYBRID_TABLE_REQUESTS_THROTTLED_COUNT
FROM SNOWFLAKE.ACCOUNT_USAGE.AGGREGATE_QUERY_HISTORY WHERE QUERY_TAG LIKE ?`, like)
	if err != nil {
		return nil, fmt.Errorf("snowflake: read ACCOUNT_USAGE.AGGREGATE_QUERY_HISTORY: %w", err)
	}
	idx := colIndex(cols)
	var out []driver.QueryBucket
	for _, r := range rows {
		b := driver.QueryBucket{QueryTag: cell(r, idx, "QUERY_TAG")}
		if !strings.HasPrefix(b.QueryTag, tagPrefix) {
			continue
		}
		if b.Start, err = time.Parse(time.RFC3339Nano, cell(r, idx, "INTERVAL_START_TIME")); err != nil {
			return nil, fmt.Errorf("snowflake: AGGREGATE_QUERY_HISTORY.INTERVAL_START_TIME: %w", err)
		}
		if b.Start.Before(from.Truncate(time.Minute)) || !b.Start.Before(to) {
			continue
		}
		b.Calls, _ = strconv.ParseInt(cell(r, idx, "CALLS"), 10, 64)
		b.Throttled, _ = strconv.ParseInt(cell(r, idx, "HYBRID_TABLE_REQUESTS_THROTTLED_COUNT"), 10, 64)
		for _, d := range []struct {
			col string
			dst *driver.Dist
		}{{"TOTAL_ELAPSED_TIME", &b.Elapsed}, {"COMPILATION_TIME", &b.Compile}, {"EXECUTION_TIME", &b.Execution}, {"QUEUED_OVERLOAD_TIME", &b.Queued}} {
			if *d.dst, err = dist(cell(r, idx, d.col)); err != nil {
				return nil, fmt.Errorf("snowflake: AGGREGATE_QUERY_HISTORY.%s: %w", d.col, err)
			}
		}
		out = append(out, b)
	}
	return out, nil
}

// MeteredCredits implements driver.ServerHistory over
// SNOWFLAKE.ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY (hourly buckets): the
// CREDITS_USED of every hour overlapping [from, to), and the end of the
// newest hour the view holds for the warehouse.
func (c *conn) MeteredCredits(ctx context.Context, warehouse string, from, to time.Time) (float64, time.Time, error) {
	cols, rows, err := c.rowsOf(gosnowflake.WithQueryTag(ctx, historyTag), `SELECT START_TIME, END_TIME, CREDITS_USED
FROM SNOWFLAKE.ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY WHERE WAREHOUSE_NAME = ?`, strings.ToUpper(warehouse))
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("snowflake: read ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY: %w", err)
	}
	idx := colIndex(cols)
	var credits float64
	var newest time.Time
	for _, r := range rows {
		start, err1 := time.Parse(time.RFC3339Nano, cell(r, idx, "START_TIME"))
		end, err2 := time.Parse(time.RFC3339Nano, cell(r, idx, "END_TIME"))
		if err1 != nil || err2 != nil {
			return 0, time.Time{}, fmt.Errorf("snowflake: WAREHOUSE_METERING_HISTORY: bad START_TIME/END_TIME")
		}
		if end.After(newest) {
			newest = end
		}
		if end.After(from) && start.Before(to) {
			v, err := strconv.ParseFloat(cell(r, idx, "CREDITS_USED"), 64)
			if err != nil {
				return 0, time.Time{}, fmt.Errorf("snowflake: WAREHOUSE_METERING_HISTORY.CREDITS_USED: %w", err)
			}
			credits += v
		}
	}
	return credits, newest, nil
}
