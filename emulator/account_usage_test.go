package emulator_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/unistore-bench/unistore/emulator"
)

// TestAccountUsage: the emulated AGGREGATE_QUERY_HISTORY counts the
// executed statements of a query tag (a throttled attempt apart) with
// Snowflake's time objects, WAREHOUSE_METERING_HISTORY meters the
// warehouse that ran them, and a lag hides both.
func TestAccountUsage(t *testing.T) {
	s := start(t, emulator.Config{})
	ctx := ctxT(t)
	db := open(t, s.DSN("", "", "", "")+"&maxRetryCount=1&warehouse=TEST_WH")
	tagged := gosnowflake.WithQueryTag(ctx, "tag-a")
	s.Inject(emulator.Fault{Kind: emulator.Throttle, Match: "SELECT 7", Count: 1})
	for range 5 {
		var n int
		if err := db.QueryRowContext(tagged, "SELECT 7").Scan(&n); err != nil || n != 7 {
			t.Fatalf("SELECT 7: %d %v", n, err)
		}
	}
	var calls, throttled int64
	var elapsed, warehouse string
	err := db.QueryRowContext(ctx, `SELECT SUM(CALLS), SUM(HYBRID_TABLE_REQUESTS_THROTTLED_COUNT), MAX(TOTAL_ELAPSED_TIME), MAX(WAREHOUSE_NAME)
FROM SNOWFLAKE.ACCOUNT_USAGE.AGGREGATE_QUERY_HISTORY WHERE QUERY_TAG = 'tag-a'`).Scan(&calls, &throttled, &elapsed, &warehouse)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]float64
	if err := json.Unmarshal([]byte(elapsed), &obj); err != nil {
		t.Fatalf("TOTAL_ELAPSED_TIME %q: %v", elapsed, err)
	}
	if calls != 5 || throttled != 1 || warehouse != "TEST_WH" || obj["max"] <= 0 || obj["median"] > obj["max"] || obj["sum"] < obj["max"] {
		t.Errorf("calls %d, throttled %d, warehouse %q, elapsed %v", calls, throttled, warehouse, obj)
	}
	var credits float64
	if err := db.QueryRowContext(ctx, `SELECT SUM(CREDITS_USED) FROM SNOWFLAKE.ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY WHERE WAREHOUSE_NAME = 'TEST_WH'`).Scan(&credits); err != nil {
		t.Fatal(err)
	}
	// A few statements: the 60 s minimum of one X-Small cluster.
	if credits < 60.0/3600-1e-9 || credits > 120.0/3600 {
		t.Errorf("metered %v credits", credits)
	}
	s.SetAccountUsageLag(time.Hour)
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM SNOWFLAKE.ACCOUNT_USAGE.AGGREGATE_QUERY_HISTORY WHERE QUERY_TAG = 'tag-a'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("with an hour's lag: %d rows, %v", n, err)
	}
}
