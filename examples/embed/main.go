// Command embed is the program of the unistore package documentation: it
// creates a SQLite table, runs a one-operation workload on it from Go, and
// prints the summary.
//
//	go run ./examples/embed
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	_ "github.com/unistore-bench/unistore/driver/sqlite" // registers sqlite://
	"github.com/unistore-bench/unistore/examples"
	"github.com/unistore-bench/unistore/report"
)

func main() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "unistore-embed-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db := filepath.Join(dir, "demo.db")
	if err := examples.SetupQuickstart(ctx, db, 10_000); err != nil {
		log.Fatal(err)
	}
	lo, hi := int64(1), int64(10_000)
	spec := unistore.Spec{
		Name:        "demo",
		Target:      unistore.Target{DSN: "sqlite://" + db},
		Connections: 2,
		Warmup:      core.Duration(time.Second),
		Duration:    core.Duration(3 * time.Second),
		Seed:        42,
		Workload: unistore.WorkloadSpec{Operations: []unistore.OperationSpec{{
			Name:   "lookup",
			SQL:    "SELECT balance FROM accounts WHERE id = ?",
			Params: []unistore.ParamSpec{{Gen: "uniform", Min: &lo, Max: &hi}},
		}}},
	}
	res, err := unistore.Run(ctx, spec)
	if err != nil {
		log.Fatal(err) // bad spec, unknown driver, unreachable target, failed prepare
	}
	report.Summary(os.Stdout, res)
	fmt.Printf("p99 %.3f ms at %.0f qps\n", res.Total.Latency.P99, res.Total.QPS)
}
