package httpapi_test

// The controller's figures (README, Controller): run them with
//
//	go test -run x -bench 'APIDuringPeakLoad' -benchtime 1500x ./httpapi  # 100 requests/s: 15 s
//	go test -run x -bench 'LiveClientsQPS' -benchtime 2x ./httpapi       # 2 runs of 6 pairs of windows
//	go test -run x -bench 'MemoryAfterRuns' -benchtime 1x ./httpapi
//
// UNISTORE_BENCH_DURATION sets a run's length in MemoryAfterRuns
// (default 2s), UNISTORE_BENCH_WINDOW a window of LiveClientsQPS (5s). The server runs in this process with in-process workers —
// `unistore serve --in-process`, the case where the API and the load share
// the most.

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/examples"
	"github.com/unistore-bench/unistore/metrics"
)

// quickstartTarget is a fresh copy of the quickstart's SQLite database
// (100k accounts), for a closed-loop run at the peak it allows.
func quickstartTarget(b testing.TB) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "qs.db")
	if err := examples.SetupQuickstart(context.Background(), path, examples.QuickstartRows); err != nil {
		b.Fatal(err)
	}
	return "sqlite://" + path
}

// pointSelect is the quickstart's point lookup alone: reads only, so a
// run's QPS does not swing with SQLite's write-ahead-log checkpoints and
// a comparison of two runs measures what differs between them.
const pointSelect = `name: point-select
workload:
  operations:
    - name: point_select
      sql: SELECT id, balance, name FROM accounts WHERE id = ?
      params:
        - {gen: zipfian, min: 1, max: 100000, theta: 0.99, scramble: true}
`

// startPeak starts examples/quickstart.yaml (the mixed read/write
// workload; pointSelect if readOnly), closed loop — peak QPS — with 4
// connections and a 2 s warm-up.
func (e *env) startPeak(target string, d time.Duration, readOnly bool) string {
	e.t.Helper()
	yaml, err := examples.Templates.ReadFile("quickstart.yaml")
	if err != nil {
		e.t.Fatal(err)
	}
	if readOnly {
		yaml = []byte(pointSelect)
	}
	resp, b := e.do("POST", "/api/v1/runs", map[string]any{"spec_yaml": string(yaml), "target": target,
		"connections": 4, "warmup": "2s", "duration": d.String(), "capture": "none"})
	e.want(resp, b, http.StatusCreated)
	var out struct {
		RunID string `json:"run_id"`
	}
	_ = json.Unmarshal(b, &out)
	return out.RunID
}

func benchDuration(def time.Duration) time.Duration {
	if v := os.Getenv("UNISTORE_BENCH_DURATION"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// BenchmarkAPIDuringPeakLoad: the API's latency (one request an iteration,
// in turn: list, show — recomputed from every stored snapshot —,
// intervals, /metrics) while a closed-loop run drives SQLite at its peak.
func BenchmarkAPIDuringPeakLoad(b *testing.B) {
	e := newEnv(b, "")
	id := e.startPeak(quickstartTarget(b), time.Hour, false) // stopped after the loop
	e.waitRun(id, 30*time.Second, func(r *unistore.Result) bool { return r.Total.Count > 0 })
	paths := []struct{ name, path string }{
		{"list", "/api/v1/runs"}, {"show", "/api/v1/runs/" + id},
		{"intervals", "/api/v1/runs/" + id + "/intervals"}, {"metrics", "/metrics"},
	}
	hists := make([]*metricsHist, len(paths))
	all := newHist()
	for i := range hists {
		hists[i] = newHist()
	}
	client := &http.Client{Timeout: 30 * time.Second}
	// Paced, 100 requests a second (a dashboard-heavy load, not a flood):
	// give the count with -benchtime Nx. The run goes on until the loop
	// ends. GET of a running run recomputes it from every stored snapshot,
	// so its cost grows with the run's length.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	i := 0
	for b.Loop() {
		<-tick.C
		k := i % len(paths)
		t0 := time.Now()
		resp, err := client.Get(e.ts.URL + paths[k].path)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", paths[k].path, resp.StatusCode)
		}
		hists[k].record(d)
		all.record(d)
		i++
	}
	b.StopTimer()
	e.do("POST", "/api/v1/runs/"+id+"/stop", nil)
	res := e.waitRun(id, 60*time.Second, terminal)
	b.ReportMetric(all.ms(50), "api-p50-ms")
	b.ReportMetric(all.ms(99), "api-p99-ms")
	for k, p := range paths {
		b.ReportMetric(hists[k].ms(99), p.name+"-p99-ms")
	}
	b.ReportMetric(res.Total.QPS, "run-qps")
	b.Logf("run %s: %.0f qps over %.1f s while the API answered %d requests (p99 %.2f ms)", id, res.Total.QPS,
		res.MeasuredSeconds, i, all.ms(99))
}

// BenchmarkLiveClientsQPS: a closed-loop run's QPS (point lookups) with
// 20 WebSocket clients attached over its QPS with none. One run per
// iteration, cut into windows of UNISTORE_BENCH_WINDOW (default 5s) that
// alternate — 20 clients connected and reading, then none, the order
// flipping each pair — so the two conditions share the run and the
// machine's drift; each pair's ratio is taken from the run's own 1 s
// intervals (the first second of a window left out), and the median of
// every pair of every iteration is reported.
func BenchmarkLiveClientsQPS(b *testing.B) {
	e := newEnv(b, "")
	window := 5 * time.Second
	if v := os.Getenv("UNISTORE_BENCH_WINDOW"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			window = d
		}
	}
	const pairs = 6
	var ratios []float64
	for b.Loop() {
		id := e.startPeak(quickstartTarget(b), 2*pairs*window+10*time.Second, true)
		e.waitRun(id, 30*time.Second, func(r *unistore.Result) bool { return r.Total.Count > 0 }) // measuring
		type span struct {
			from, to time.Time
			clients  int
		}
		var spans []span
		for p := range pairs {
			order := []int{20, 0}
			if p%2 == 1 {
				order = []int{0, 20}
			}
			for _, n := range order {
				from := time.Now()
				e.attach(b, id, n, window)
				spans = append(spans, span{from, time.Now(), n})
			}
		}
		e.do("POST", "/api/v1/runs/"+id+"/stop", nil)
		e.waitRun(id, time.Minute, terminal)
		ivs, err := unistore.Intervals(context.Background(), e.st, id, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		qps := func(sp span) float64 {
			var sum float64
			var n int
			for _, iv := range ivs {
				if iv.Phase == unistore.PhaseMeasurement && !iv.Start.Before(sp.from.Add(time.Second)) && !iv.End.After(sp.to) {
					sum += iv.Total.QPS
					n++
				}
			}
			if n == 0 {
				return 0
			}
			return sum / float64(n)
		}
		for k := 0; k+1 < len(spans); k += 2 {
			with, without := spans[k], spans[k+1]
			if with.clients == 0 {
				with, without = without, with
			}
			q20, q0 := qps(with), qps(without)
			if q0 == 0 || q20 == 0 {
				b.Fatalf("pair %d: a window without intervals (%v, %v)", k/2, q20, q0)
			}
			ratios = append(ratios, q20/q0)
			b.Logf("pair %d: %.0f qps with 20 clients, %.0f with none: %.3f", k/2+1, q20, q0, q20/q0)
		}
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "qps-ratio-20ws/0ws")
	b.ReportMetric(ratios[0], "min-ratio")
	b.ReportMetric(ratios[len(ratios)-1], "max-ratio")
}

// attach keeps n clients reading run id's live stream for d (none: waits
// d), then closes them; each must have had a message.
func (e *env) attach(b *testing.B, id string, n int, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if n == 0 {
		<-ctx.Done()
		return
	}
	var wg sync.WaitGroup
	got := make([]int, n)
	for i := range n {
		c, _, err := e.dial(ctx, id, "")
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			defer c.CloseNow()
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
				got[i]++
			}
		})
	}
	wg.Wait()
	for i, g := range got {
		if g == 0 {
			b.Errorf("client %d got no message in %s", i, d)
		}
	}
}

// runWithClients runs the peak workload for d with n live clients
// reading its stream, and returns its QPS.
func (e *env) runWithClients(b *testing.B, d time.Duration, n int) float64 {
	id := e.startPeak(quickstartTarget(b), d, true)
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for range n {
		c, _, err := e.dial(ctx, id, "")
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			defer c.CloseNow()
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
			}
		})
	}
	res := e.waitRun(id, d+time.Minute, terminal)
	wg.Wait()
	return res.Total.QPS
}

// BenchmarkMemoryAfterRuns: the process's memory after 10 runs (each at
// peak, with 2 live clients), once the garbage is collected, against the
// same server before them.
func BenchmarkMemoryAfterRuns(b *testing.B) {
	d := benchDuration(2 * time.Second)
	for b.Loop() {
		e := newEnv(b, "")
		heap0, rss0 := memory()
		for range 10 {
			e.runWithClients(b, d, 2)
		}
		heap, rss := memory()
		if path := os.Getenv("UNISTORE_BENCH_HEAPPROFILE"); path != "" { // what the heap holds now
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
		b.ReportMetric(heap, "heap-MB")
		b.ReportMetric(rss, "rss-MB")
		b.ReportMetric(heap-heap0, "heap-growth-MB")
		b.ReportMetric(rss-rss0, "rss-growth-MB")
	}
}

// memory returns the Go heap in use and the resident set, in MB, after a
// collection.
func memory() (heapMB, rssMB float64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Open("/proc/self/status")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				rssMB = kb / 1024
			}
		}
	}
	return float64(ms.HeapInuse) / (1 << 20), rssMB
}

// metricsHist records request latencies (the project's HDR settings).
type metricsHist struct{ h *hdr.Histogram }

func newHist() *metricsHist { return &metricsHist{metrics.NewHistogram()} }

func (m *metricsHist) record(d time.Duration) { _ = m.h.RecordValue(metrics.Micros(d)) }

// ms is percentile p (0-100) in milliseconds.
func (m *metricsHist) ms(p float64) float64 { return float64(m.h.ValueAtQuantile(p)) / 1000 }
