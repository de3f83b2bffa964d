package httpapi

import (
	"math"
	"sort"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
)

// The classic buckets of the latency histogram, in seconds: 100 µs to
// 10 s, a 1-2.5-5 series. The native buckets beside them need no choice.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// nativeSchema 3: buckets grow by 2^(1/8), about 9 % — finer than most
// scrapers keep, and no coarser than client_golang's usual factor of 1.1.
const nativeSchema = 3

// Outcomes of an operation.
const (
	outcomeSuccess = "success"
	outcomeError   = "error"
)

var phases = []core.Phase{core.PhaseWarmup, core.PhaseMeasurement, core.PhaseCooldown, core.PhaseDone}

var (
	descOps = prometheus.NewDesc("unistore_operations_total",
		"Operations executed by the run's workers, by outcome (warm-up included).",
		[]string{"run_id", "operation", "outcome"}, nil)
	descLatency = prometheus.NewDesc("unistore_operation_duration_seconds",
		"Service time of operations (actual start to end), by outcome; merged exactly from the workers' HDR histograms.",
		[]string{"run_id", "operation", "outcome"}, nil)
	descActive = prometheus.NewDesc("unistore_connections_active",
		"Connections the run's workers hold now (their heartbeats).", []string{"run_id"}, nil)
	descTarget = prometheus.NewDesc("unistore_connections_target",
		"Connections the run's live workers are asked to hold.", []string{"run_id"}, nil)
	descLive = prometheus.NewDesc("unistore_workers_live",
		"The run's live workers.", []string{"run_id"}, nil)
	descLost = prometheus.NewDesc("unistore_workers_lost_total",
		"The run's workers declared lost.", []string{"run_id"}, nil)
	descPhase = prometheus.NewDesc("unistore_run_phase",
		"The run's phase: 1 for the current one, 0 for the others.", []string{"run_id", "phase"}, nil)
	descRuns = prometheus.NewDesc("unistore_runs_active",
		"Runs this controller drives now.", nil, nil)
)

// collector is /metrics' view of the runs this server drives: counters
// and histograms accumulated from every progress (each covers only
// snapshots not seen before, so nothing is counted twice), gauges as of
// the newest. A finished run stays for the retention, then goes.
//
// The counts follow the live rollup: rows a worker stores after the
// orchestrator's last poll of an ending run are not in them. The run's
// result is the exact figure.
type collector struct {
	retention time.Duration

	mu   sync.Mutex
	runs map[string]*promRun
}

type promRun struct {
	ops                        map[string]*promOp
	active, target, live, lost int
	phase                      core.Phase
	ended                      time.Time // zero while running
}

type promOp struct {
	count [2]float64 // success, error
	hist  [2]*promHist
}

// promHist is a histogram kept as Prometheus buckets: classic counts per
// bound (not cumulative) and native counts per bucket index.
type promHist struct {
	count   uint64
	sum     float64
	classic []uint64
	native  map[int]int64
	created time.Time
}

func newCollector(retention time.Duration) *collector {
	return &collector{retention: retention, runs: map[string]*promRun{}}
}

func (c *collector) begin(id string, spec unistore.Spec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prune()
	c.runs[id] = &promRun{ops: map[string]*promOp{}, target: spec.Connections * spec.Workers, phase: core.PhaseWarmup}
}

func (c *collector) end(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.runs[id]; r != nil {
		r.ended, r.phase, r.active, r.live = time.Now(), core.PhaseDone, 0, 0
	}
}

// prune drops runs that ended longer than the retention ago.
func (c *collector) prune() {
	for id, r := range c.runs {
		if !r.ended.IsZero() && time.Since(r.ended) > c.retention {
			delete(c.runs, id)
		}
	}
}

// observe adds a progress: its operations' counts and histograms, and the
// workers' gauges from the message built for it.
func (c *collector) observe(p unistore.Progress, w LiveWorkers) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.runs[p.RunID]
	if r == nil {
		return
	}
	r.phase, r.live, r.lost = p.Phase, p.Live, p.Lost
	r.active, r.target = 0, 0
	for _, pw := range w.PerWorker {
		if pw.Health == HealthHealthy || pw.Health == HealthStale {
			r.active += pw.ConnectionsActive
			r.target += pw.ConnectionsTarget
		}
	}
	if p.Snapshot == nil {
		return
	}
	for i, name := range p.Snapshot.Names {
		op := &p.Snapshot.Ops[i]
		po := r.ops[name]
		if po == nil {
			po = &promOp{}
			r.ops[name] = po
		}
		errs := op.Errors.Total()
		po.count[0] += float64(op.Count - errs)
		po.count[1] += float64(errs)
		for k, h := range [2]*hdr.Histogram{op.Service, op.Failed} {
			if h == nil || h.TotalCount() == 0 {
				continue
			}
			if po.hist[k] == nil {
				po.hist[k] = &promHist{classic: make([]uint64, len(latencyBuckets)), native: map[int]int64{}, created: time.Now()}
			}
			po.hist[k].add(h)
		}
	}
}

// add merges an HDR histogram of microseconds. Each HDR bar goes whole
// into the buckets holding its midpoint: HDR's 3 significant digits are
// finer than either bucket layout, so nothing is lost that they keep.
func (ph *promHist) add(h *hdr.Histogram) {
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		v := float64(bar.From+bar.To) / 2 / 1e6 // seconds
		n := uint64(bar.Count)
		ph.count += n
		ph.sum += v * float64(bar.Count)
		if i := sort.SearchFloat64s(latencyBuckets, v); i < len(latencyBuckets) {
			ph.classic[i] += n
		}
		ph.native[nativeIndex(v)] += bar.Count
	}
}

// nativeIndex is the native histogram bucket of v > 0 at nativeSchema:
// bucket i holds (2^((i-1)/8), 2^(i/8)].
func nativeIndex(v float64) int {
	return int(math.Ceil(math.Log2(v) * (1 << nativeSchema)))
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOps, descLatency, descActive, descTarget, descLive, descLost, descPhase, descRuns} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prune()
	active := 0
	outcomes := [2]string{outcomeSuccess, outcomeError}
	for id, r := range c.runs {
		if r.ended.IsZero() {
			active++
		}
		for name, op := range r.ops {
			for k, outcome := range outcomes {
				ch <- prometheus.MustNewConstMetric(descOps, prometheus.CounterValue, op.count[k], id, name, outcome)
				if h := op.hist[k]; h != nil {
					ch <- h.metric(id, name, outcome)
				}
			}
		}
		ch <- prometheus.MustNewConstMetric(descActive, prometheus.GaugeValue, float64(r.active), id)
		ch <- prometheus.MustNewConstMetric(descTarget, prometheus.GaugeValue, float64(r.target), id)
		ch <- prometheus.MustNewConstMetric(descLive, prometheus.GaugeValue, float64(r.live), id)
		ch <- prometheus.MustNewConstMetric(descLost, prometheus.CounterValue, float64(r.lost), id)
		for _, ph := range phases {
			v := 0.0
			if ph == r.phase {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descPhase, prometheus.GaugeValue, v, id, string(ph))
		}
	}
	ch <- prometheus.MustNewConstMetric(descRuns, prometheus.GaugeValue, float64(active))
}

// metric is the histogram with both layouts: native buckets (sent when
// the scraper negotiates protobuf) and classic ones (always).
func (ph *promHist) metric(id, op, outcome string) prometheus.Metric {
	native := make(map[int]int64, len(ph.native))
	for k, v := range ph.native {
		native[k] = v
	}
	m, err := prometheus.NewConstNativeHistogram(descLatency, ph.count, ph.sum, native, nil, 0, nativeSchema,
		math.Ldexp(1, -128), ph.created, id, op, outcome)
	if err != nil {
		return prometheus.NewInvalidMetric(descLatency, err)
	}
	buckets := make([]*dto.Bucket, len(latencyBuckets))
	var cum uint64
	for i, ub := range latencyBuckets {
		cum += ph.classic[i]
		buckets[i] = &dto.Bucket{CumulativeCount: new(cum), UpperBound: new(ub)}
	}
	return dualHistogram{Metric: m, buckets: buckets}
}

// dualHistogram adds classic buckets to a const native histogram.
type dualHistogram struct {
	prometheus.Metric
	buckets []*dto.Bucket
}

func (d dualHistogram) Write(out *dto.Metric) error {
	if err := d.Metric.Write(out); err != nil {
		return err
	}
	out.Histogram.Bucket = d.buckets
	return nil
}
