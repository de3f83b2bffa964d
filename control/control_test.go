package control_test

import (
	"testing"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
)

func TestWorkerID(t *testing.T) {
	for _, tc := range []struct {
		group, attempt int
		want           string
	}{{0, 0, "worker-0"}, {3, 0, "worker-3"}, {1, 2, "worker-1-r2"}} {
		if got := control.WorkerID(tc.group, tc.attempt); got != tc.want {
			t.Errorf("WorkerID(%d, %d) = %q, want %q", tc.group, tc.attempt, got, tc.want)
		}
		if got := control.AttemptOf(tc.want); got != tc.attempt {
			t.Errorf("AttemptOf(%q) = %d, want %d", tc.want, got, tc.attempt)
		}
	}
}

func TestPayloads(t *testing.T) {
	if p, ok := control.PhaseOf(control.SetPhase(core.PhaseMeasurement).Payload); !ok || p != core.PhaseMeasurement {
		t.Errorf("PhaseOf(SetPhase) = %q, %v", p, ok)
	}
	if _, ok := control.PhaseOf([]byte("{")); ok {
		t.Error("PhaseOf(bad JSON) ok")
	}
	c, err := control.Scale(5, 3, 1)
	if err != nil || c.Kind != control.EventSetWorkerTarget {
		t.Fatalf("Scale: %v, %v", c, err)
	}
	for g, want := range []int{0, 5, 0} {
		if got, _ := control.TargetFor(c.Payload, g); got != want {
			t.Errorf("TargetFor(group %d) = %d, want %d", g, got, want)
		}
	}
	if _, err := control.Scale(0, 3); err == nil {
		t.Error("Scale to 0 connections accepted")
	}
	if _, err := control.Scale(2, 3, 3); err == nil {
		t.Error("Scale to group 3 of 3 accepted")
	}
}
