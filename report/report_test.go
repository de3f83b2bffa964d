package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/report"
)

// TestSummaryErrorClasses: error counts by class read like the rest of the
// summary, not as a Go map.
func TestSummaryErrorClasses(t *testing.T) {
	var b bytes.Buffer
	r := &core.Result{RunID: "r", Status: core.StatusCompleted,
		Total: core.OpStats{Count: 10, Errors: 6, ErrorsByClass: map[string]int64{"timeout": 2, "connection": 4}}}
	if err := report.Summary(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "errors by class: connection 4, timeout 2\n") || strings.Contains(out, "map[") {
		t.Errorf("summary:\n%s", out)
	}
}

// TestSummaryStoreLine: rows that did not reach the store are in the
// summary when there are any — spooled, dropped, a spooled status — with
// what to do; a fully recorded run has no such line.
func TestSummaryStoreLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    core.Result
		want []string
	}{
		{"recorded", core.Result{Store: &core.StoreStats{SnapshotsStored: 10}}, nil},
		{"spooled", core.Result{RowsSpooled: 12, Store: &core.StoreStats{SnapshotsSpooled: 4, ExecutionsSpooled: 8, StatusSpooled: true, SpoolDir: "/s/r1"}},
			[]string{"not fully recorded: 12 rows spooled (4 snapshots, 8 executions), final status spooled to /s/r1", "runs recover"}},
		{"dropped", core.Result{RowsDropped: 5}, []string{"not fully recorded: 5 rows dropped\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			r := tc.r
			r.RunID, r.Status = "r1", core.StatusCompleted
			if err := report.Summary(&b, &r); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if tc.want == nil && strings.Contains(out, "store:") {
				t.Errorf("a fully recorded run's summary has a store line:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("summary lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
