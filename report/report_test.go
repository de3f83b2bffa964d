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
