// Package unistore drives controlled, measured load against transactional
// database tables — Snowflake Hybrid Tables, PostgreSQL, and an embedded
// SQLite for zero setup — and reports latency from HDR histograms.
//
// A run is described by a Spec: the target (driver and DSN), the number of
// connections (one long-lived loop each), warm-up and measurement lengths,
// an optional open-model arrival rate, a seed, and a workload — a weighted
// mix of SQL operations whose parameters come from generators. Run blocks
// for the run and returns its Result; the same Spec is what YAML templates,
// the CLI and stored runs hold.
//
// # Embedding
//
// A complete program that loads a SQLite table and measures it:
//
//	package main
//
//	import (
//		"context"
//		"fmt"
//		"log"
//		"os"
//		"time"
//
//		"github.com/unistore-bench/unistore"
//		"github.com/unistore-bench/unistore/core"
//		_ "github.com/unistore-bench/unistore/driver/sqlite" // registers sqlite://
//		"github.com/unistore-bench/unistore/examples"
//		"github.com/unistore-bench/unistore/report"
//	)
//
//	func main() {
//		ctx := context.Background()
//		if err := examples.SetupQuickstart(ctx, "demo.db", 10_000); err != nil {
//			log.Fatal(err)
//		}
//		lo, hi := int64(1), int64(10_000)
//		spec := unistore.Spec{
//			Name:        "demo",
//			Target:      unistore.Target{DSN: "sqlite://demo.db"},
//			Connections: 2,
//			Warmup:      core.Duration(time.Second),
//			Duration:    core.Duration(3 * time.Second),
//			Seed:        42,
//			Workload: unistore.WorkloadSpec{Operations: []unistore.OperationSpec{{
//				Name:   "lookup",
//				SQL:    "SELECT balance FROM accounts WHERE id = ?",
//				Params: []unistore.ParamSpec{{Gen: "uniform", Min: &lo, Max: &hi}},
//			}}},
//		}
//		res, err := unistore.Run(ctx, spec)
//		if err != nil {
//			log.Fatal(err) // bad spec, unknown driver, unreachable target, failed prepare
//		}
//		report.Summary(os.Stdout, res)
//		fmt.Printf("p99 %.3f ms at %.0f qps\n", res.Total.Latency.P99, res.Total.QPS)
//	}
//
// examples/embed is this program; examples/gotest runs a load from
// `go test -bench` and reports qps and p99 with b.ReportMetric.
//
// Drivers register themselves when imported (driver/postgres,
// driver/sqlite); WithConnector skips the registry. A workload written in Go
// implements Workload and is passed with WithWorkload.
//
// # Managing runs
//
// The root package is also the run-management API that the CLI (and the
// HTTP adapter to come) call: Start returns a Handle (Wait, Stop, Scale,
// Progress); Runs, Show, Intervals, Compare and Export read stored runs;
// Stop, Scale and Join act on a run by id; SaveTemplate, Templates,
// GetTemplate and DeleteTemplate manage saved templates; WithObserver
// receives every interval's merged per-operation snapshot with per-worker
// health. It lives here rather than in a package of its own because it is
// what a harness embedding unistore calls too: one import, one set of
// types (Spec, Result, Progress). The root imports no store backend and no
// driver — OpenStore opens whatever backend the program imported — so an
// embedder links only what it uses.
//
// # What is measured
//
// Every loop records into its own histograms without locks; a collector
// merges them each interval (1 s). Warm-up samples are kept apart: the
// Result's Total and Operations are the measurement phase only. A failed
// query is a measurement — counted by error class, timed in its own
// histogram — never the end of a run. In an open-model run (Spec.Rate > 0)
// starts are paced on a fixed schedule apart from the loops and response
// time is measured from the intended start, so a stalled server shows in
// full (no coordinated omission); late and skipped starts are counted.
//
// # Cost and the server's view
//
// Every run's Result has a Cost section (package cost: warehouse credits
// estimated on a Snowflake target from its size, its clusters sampled
// with SHOW WAREHOUSES and the wall time; the control plane's writes to
// the store, and on a Snowflake store their credits) and, where the
// target keeps figures of its own, a Server section (package
// serverstats: pg_stat_statements diffed over the measurement on
// PostgreSQL; ACCOUNT_USAGE.AGGREGATE_QUERY_HISTORY by the run's query
// tag on Snowflake, read by Enrich or WithEnrich since it lags by hours)
// with each operation's server figures beside the client's and the gap
// between them. The orchestrator calls the meter that gathers them
// (meter.go) through orchestrator.Meter, on a connection and goroutine of
// its own; nothing of it runs on a worker's loop. RunCost and Enrich are
// `unistore runs cost` and `runs enrich`.
//
// # Lifecycle
//
// Run validates the spec (every problem, with its field), connects every
// connection and prepares every statement before the first query, so bad
// input fails before any load. Cancelling the context stops the run
// promptly and still returns the Result (StatusCancelled). Run never
// installs signal handlers; the CLI's main does. All goroutines Run starts
// have ended when it returns.
package unistore
