package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/report"
)

// TestCostHeartbeats: the control-plane line says whose heartbeats were
// derived rather than counted, and nothing when all were counted.
func TestCostHeartbeats(t *testing.T) {
	for _, tc := range []struct {
		name string
		cp   core.ControlPlaneCost
		want string
		not  string
	}{
		{"counted", core.ControlPlaneCost{Store: "postgres", Heartbeats: 28}, "28 heartbeats, ", "derived"},
		{"one estimated", core.ControlPlaneCost{Store: "snowflake", Heartbeats: 68, HeartbeatsEstimated: true, EstimatedWorkers: []string{"worker-1"}},
			"68 heartbeats (derived for worker-1: started elsewhere or killed; the rest counted)", ""},
		{"estimated, workers unnamed (an older run)", core.ControlPlaneCost{Store: "sqlite", Heartbeats: 9, HeartbeatsEstimated: true}, "9 heartbeats derived", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := report.Cost(&b, &core.CostStats{Source: "none", ControlPlane: tc.cp}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tc.want) || tc.not != "" && strings.Contains(b.String(), tc.not) {
				t.Errorf("got %q, want %q (and not %q)", b.String(), tc.want, tc.not)
			}
		})
	}
}
