package unistore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	_ "github.com/unistore-bench/unistore/driver/sqlite"
	"github.com/unistore-bench/unistore/examples"
)

// A complete run on the embedded SQLite default.
func ExampleRun() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db := filepath.Join(dir, "demo.db")
	if err := examples.SetupQuickstart(ctx, db, 1000); err != nil {
		fmt.Println(err)
		return
	}
	lo, hi := int64(1), int64(1000)
	res, err := unistore.Run(ctx, unistore.Spec{
		Name:        "demo",
		Target:      unistore.Target{DSN: "sqlite://" + db},
		Connections: 2,
		Warmup:      core.Duration(100 * time.Millisecond),
		Duration:    core.Duration(500 * time.Millisecond),
		Workload: unistore.WorkloadSpec{Operations: []unistore.OperationSpec{{
			Name: "lookup", SQL: "SELECT balance FROM accounts WHERE id = ?",
			Params: []unistore.ParamSpec{{Gen: "uniform", Min: &lo, Max: &hi}},
		}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Status, res.Driver, res.Connections, res.Total.Errors)
	fmt.Println(res.Total.Count > 0 && res.Total.Count == res.Operations["lookup"].Count)
	// Output:
	// COMPLETED sqlite 2 0
	// true
}
