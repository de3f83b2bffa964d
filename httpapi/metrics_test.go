package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/unistore-bench/unistore/httpapi"
)

// TestMetrics: a run's operations, latency histograms (classic buckets
// and native ones), connection, worker and phase gauges are on /metrics
// beside the Go and process collectors, named by Prometheus' rules.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	e := newEnv(t, "", func(c *httpapi.Config) { c.Registry = reg })
	id := e.startRun(map[string]any{"duration": "60s"})

	// While it runs: the gauges say so.
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, b := e.do("GET", "/metrics", nil)
		e.want(resp, b, http.StatusOK)
		text := string(b)
		if strings.Contains(text, `unistore_connections_active{run_id="`+id+`"} 2`) &&
			strings.Contains(text, `unistore_run_phase{phase="MEASUREMENT",run_id="`+id+`"} 1`) &&
			strings.Contains(text, `unistore_workers_live{run_id="`+id+`"} 1`) &&
			strings.Contains(text, `unistore_runs_active 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("running run's gauges not on /metrics:\n%s", grepLines(text, "unistore_"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, b := e.do("POST", "/api/v1/runs/"+id+"/scale", map[string]int{"connections": 3})
	e.want(resp, b, http.StatusAccepted)
	deadline = time.Now().Add(20 * time.Second)
	for {
		_, b := e.do("GET", "/metrics", nil)
		if strings.Contains(string(b), `unistore_connections_target{run_id="`+id+`"} 3`) &&
			strings.Contains(string(b), `unistore_connections_active{run_id="`+id+`"} 3`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("scaled run's gauges:\n%s", grepLines(string(b), "unistore_connections"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.do("POST", "/api/v1/runs/"+id+"/stop", nil)
	res := e.waitRun(id, 20*time.Second, terminal)

	// After the end (metrics updated by the run's goroutine just before
	// its stream's result): poll for the final state.
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, b := e.do("GET", "/metrics", nil)
		if strings.Contains(string(b), `unistore_run_phase{phase="DONE",run_id="`+id+`"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ended run's phase:\n%s", grepLines(string(b), "unistore_run_phase"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, b = e.do("GET", "/metrics", nil)
	text := string(b)
	for _, want := range []string{
		`# TYPE unistore_operations_total counter`,
		`unistore_operations_total{operation="lookup",outcome="success",run_id="` + id + `"}`,
		`unistore_operations_total{operation="bump",outcome="error",run_id="` + id + `"} 0`,
		`# TYPE unistore_operation_duration_seconds histogram`,
		`unistore_operation_duration_seconds_bucket{operation="lookup",outcome="success",run_id="` + id + `",le="0.001"}`,
		`unistore_operation_duration_seconds_count{operation="bump",outcome="success",run_id="` + id + `"}`,
		`unistore_runs_active 0`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Native histograms, as a scraper asking for protobuf gets them.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var ops, seen float64
	for _, mf := range mfs {
		switch mf.GetName() {
		case "unistore_operations_total":
			for _, m := range mf.Metric {
				ops += m.GetCounter().GetValue()
			}
		case "unistore_operation_duration_seconds":
			for _, m := range mf.Metric {
				h := m.GetHistogram()
				if h.GetSchema() != 3 || len(h.GetPositiveSpan()) == 0 || len(h.GetBucket()) == 0 {
					t.Errorf("%v: schema %d, %d spans, %d classic buckets: want both layouts", labels(m), h.GetSchema(),
						len(h.GetPositiveSpan()), len(h.GetBucket()))
				}
				var native int64
				var cur int64
				for _, d := range h.GetPositiveDelta() {
					cur += d
					native += cur
				}
				if uint64(native) != h.GetSampleCount() || h.GetBucket()[len(h.GetBucket())-1].GetCumulativeCount() > h.GetSampleCount() {
					t.Errorf("%v: native buckets hold %d, classic %d, count %d", labels(m), native,
						h.GetBucket()[len(h.GetBucket())-1].GetCumulativeCount(), h.GetSampleCount())
				}
				seen += float64(h.GetSampleCount())
			}
		}
	}
	// Every operation counted is timed (successes and failures), and no
	// more were counted than the run stored.
	total := float64(res.Total.Count + res.Warmup.Count)
	if ops == 0 || ops != seen || ops > total {
		t.Errorf("operations_total %v, histogram counts %v, run stored %v", ops, seen, total)
	}

	// Prometheus' own naming rules.
	problems, err := testutil.GatherAndLint(reg, "unistore_operations_total", "unistore_operation_duration_seconds",
		"unistore_connections_active", "unistore_connections_target", "unistore_workers_live", "unistore_workers_lost_total",
		"unistore_run_phase", "unistore_runs_active")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.Label {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
