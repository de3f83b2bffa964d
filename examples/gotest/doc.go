// Package gotest shows a load run embedded in `go test -bench`: the
// benchmark runs a short unistore run per iteration batch and reports its
// throughput and tail latency with b.ReportMetric, so benchstat can compare
// two builds of your code — or two schemas — on the measures that matter.
//
//	go test -bench . -benchtime 1x ./examples/gotest
package gotest
