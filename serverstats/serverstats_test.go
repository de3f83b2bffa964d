package serverstats_test

import (
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/serverstats"
)

func TestParseTag(t *testing.T) {
	ph, op, ok := serverstats.ParseTag("unistore:run=R1:worker=worker-0:phase=MEASUREMENT:op=get:x")
	if !ok || ph != core.PhaseMeasurement || op != "get:x" {
		t.Errorf("got %q %q %v", ph, op, ok)
	}
	if _, _, ok := serverstats.ParseTag("unistore:store:run=R1:op=update_run"); ok {
		t.Error("a store tag parsed as a load tag")
	}
}

func TestFromQueryHistory(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tag := func(phase, op string) string { return "unistore:run=R:worker=worker-0:phase=" + phase + ":op=" + op }
	s := serverstats.FromQueryHistory([]driver.QueryBucket{
		{Start: t0, QueryTag: tag("WARMUP", "get"), Calls: 1000, Elapsed: driver.Dist{Sum: 99999, Median: 99, Max: 999}},
		{Start: t0, QueryTag: tag("MEASUREMENT", "get"), Calls: 100, Elapsed: driver.Dist{Sum: 200, Median: 1, P90: 3, P99: 5, Max: 9}},
		{Start: t0.Add(time.Minute), QueryTag: tag("MEASUREMENT", "get"), Calls: 300, Throttled: 7,
			Elapsed: driver.Dist{Sum: 600, Median: 2, P90: 3, P99: 9, Max: 12}},
	})
	got := s.Operations["get"]
	// Calls and mean exact; percentiles weighted by calls (1×100+2×300)/400.
	if s.Status != core.EnrichCompleted || got.Calls != 400 || got.MeanMS != 2 || got.P50MS != 1.75 || got.P99MS != 8 || got.MaxMS != 12 || got.Throttled != 7 {
		t.Errorf("%+v", s)
	}
	res := &core.Result{Operations: map[string]core.OpStats{"get": {Count: 405, Errors: 3, Latency: core.Latency{Mean: 2.5, P50: 2, P99: 10}}}}
	serverstats.Compare(s, res)
	got = s.Operations["get"]
	if got.ClientCalls != 402 || got.CallsDiff != -2 || got.AppOverheadMeanMS != 0.5 || got.AppOverheadP50MS != 0.25 || got.AppOverheadP99MS != 2 {
		t.Errorf("compared: %+v", got)
	}
}
