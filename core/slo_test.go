package core_test

import (
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
)

func TestParseRatio(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want core.Ratio
		err  string
	}{
		{"5%", 0.05, ""}, {"0.1%", 0.001, ""}, {"0.05", 0.05, ""}, {" 1 ", 1, ""}, {"0", 0, ""},
		{"5", 0, "ambiguous"}, {"x%", 0, "bad percentage"}, {"NaN", 0, "bad ratio"}, {"", 0, "bad ratio"},
	} {
		got, err := core.ParseRatio(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRatio(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got < tc.want-1e-12 || got > tc.want+1e-12 {
			t.Errorf("ParseRatio(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSLO(t *testing.T) {
	s, err := core.ParseSLO("p99<20ms, p95<=1.5s,errors<0.1%,qps>500")
	if err != nil {
		t.Fatal(err)
	}
	if *s.P99Ms != 20 || *s.P95Ms != 1500 || *s.ErrorRate != 0.001 || *s.MinQPS != 500 {
		t.Errorf("ParseSLO: %+v", s)
	}
	for _, bad := range []string{"", "p99>20ms", "p99<fast", "latency<2ms", "errors>1%", "qps<5", "p99<-1ms", "p99"} {
		if _, err := core.ParseSLO(bad); err == nil {
			t.Errorf("ParseSLO(%q): no error", bad)
		}
	}
}

func TestSLOCheck(t *testing.T) {
	p95, p99, qps := 10.0, 20.0, 100.0
	rate := core.Ratio(0.01)
	slo := &core.SLO{P95Ms: &p95, P99Ms: &p99, ErrorRate: &rate, MinQPS: &qps}
	st := core.OpStats{Count: 1000, Errors: 20, QPS: 99, Latency: core.Latency{P95: 9, P99: 25}}
	got := slo.Check("total", st)
	want := map[string]bool{"p95_ms": true, "p99_ms": false, "error_rate": false, "min_qps": false}
	if len(got) != 4 {
		t.Fatalf("%d verdicts, want 4", len(got))
	}
	for _, v := range got {
		if v.Pass != want[v.Objective] || v.Scope != "total" {
			t.Errorf("%+v: pass %v, want %v", v, v.Pass, want[v.Objective])
		}
	}
	// The open model is judged on response time.
	st.Response = &core.Latency{P95: 50, P99: 10}
	for _, v := range slo.Check("total", st) {
		if v.Objective == "p95_ms" && v.Pass || v.Objective == "p99_ms" && !v.Pass {
			t.Errorf("open model: %+v, want judged on response time", v)
		}
	}
	// No successful execution: latency objectives fail.
	for _, v := range slo.Check("total", core.OpStats{}) {
		if (v.Objective == "p95_ms" || v.Objective == "p99_ms") && v.Pass {
			t.Errorf("no executions: %+v passed", v)
		}
	}
	if !core.SLOPassed(nil) || core.SLOPassed(got) {
		t.Error("SLOPassed")
	}
	var none *core.SLO
	if none.Check("total", st) != nil || !none.Empty() {
		t.Error("a nil SLO has objectives")
	}
}

func TestSteadyWarmupString(t *testing.T) {
	for _, tc := range []struct {
		w    core.SteadyWarmup
		want string
	}{
		{core.SteadyWarmup{Until: "steady", Window: core.DefaultSteadyWindow, Max: core.DefaultSteadyMax, Tolerance: core.DefaultSteadyTolerance},
			"until steady (window 10s, max 3m, tolerance 5%)"},
		{core.SteadyWarmup{Window: core.Duration(90 * time.Second), Max: core.Duration(time.Hour), Tolerance: 0.025},
			"until steady (window 1m30s, max 1h, tolerance 2.5%)"},
	} {
		if got := tc.w.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
