// Command pgembed embeds a run recorded in a PostgreSQL results store. It
// links only the PostgreSQL driver and store backend: neither SQLite nor
// gosnowflake (README, "Architecture", checks it).
//
//	go run ./examples/pgembed postgres://USER@HOST/DB   # target and store, schema applied
package main

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/unistore-bench/unistore"
	_ "github.com/unistore-bench/unistore/driver/postgres"
	_ "github.com/unistore-bench/unistore/store/postgres"
)

func main() {
	ctx := context.Background()
	dsn := os.Args[1]
	st, err := unistore.OpenStore(ctx, dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	spec := unistore.Spec{Name: "pgembed", Target: unistore.Target{DSN: dsn}, Duration: unistore.Duration(5 * time.Second),
		Workload: unistore.WorkloadSpec{Operations: []unistore.OperationSpec{{Name: "one", SQL: "SELECT 1"}}}}
	res, err := unistore.Run(ctx, spec, unistore.WithStore(st))
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("run %s: %.0f qps, p99 %.3f ms", res.RunID, res.Total.QPS, res.Total.Latency.P99)
}
