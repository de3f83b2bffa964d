package gotest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	_ "github.com/unistore-bench/unistore/driver/sqlite"
	"github.com/unistore-bench/unistore/examples"
)

// BenchmarkQuickstartMix runs the quickstart mix on embedded SQLite for
// 2 s per iteration and reports qps and p99-ns. Use -benchtime 1x: one
// iteration is one measured run.
func BenchmarkQuickstartMix(b *testing.B) {
	ctx := context.Background()
	db := filepath.Join(b.TempDir(), "bench.db")
	if err := examples.SetupQuickstart(ctx, db, examples.QuickstartRows); err != nil {
		b.Fatal(err)
	}
	data, err := examples.Templates.ReadFile("quickstart.yaml")
	if err != nil {
		b.Fatal(err)
	}
	spec, err := unistore.ParseTemplate("quickstart.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	spec.Target = unistore.Target{DSN: "sqlite://" + db}
	spec.Warmup = core.Duration(500 * time.Millisecond)
	spec.Duration = core.Duration(2 * time.Second)
	var qps, p99 float64
	for b.Loop() {
		res, err := unistore.Run(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		if res.Total.Errors > 0 {
			b.Errorf("%d errors: %v", res.Total.Errors, res.Total.ErrorsByClass)
		}
		qps, p99 = res.Total.QPS, res.Total.Latency.P99
	}
	b.ReportMetric(qps, "qps")
	b.ReportMetric(p99*1e6, "p99-ns")
}
