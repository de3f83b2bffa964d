package metrics_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/metrics"
)

func TestMicrosClamps(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want int64
	}{
		{0, metrics.LowestMicros},
		{-time.Second, metrics.LowestMicros},
		{1500 * time.Nanosecond, 1},
		{time.Millisecond, 1000},
		{2 * time.Hour, metrics.HighestMicros},
	} {
		if got := metrics.Micros(tc.in); got != tc.want {
			t.Errorf("Micros(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestDrainConcurrent records from several loops while a collector drains
// them; nothing may be lost or counted twice.
func TestDrainConcurrent(t *testing.T) {
	const loops, perLoop = 4, 50000
	names := []string{"a", "b"}
	recs := make([]*metrics.Recorder, loops)
	for i := range recs {
		recs[i] = metrics.NewRecorder(len(names), true)
	}
	total := metrics.NewSnapshot(names, true)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range recs {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for j := range perLoop {
				class := core.ErrNone
				if j%100 == 0 {
					class = core.ErrTimeout
				}
				r.Start(j%10 == 0)
				r.Record(j%2, time.Duration(rng.IntN(5000))*time.Microsecond, time.Millisecond, class)
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	interval := metrics.NewSnapshot(names, true)
	drains := 0
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		for _, r := range recs {
			if err := r.Drain(interval, ""); err != nil {
				t.Fatal(err)
			}
		}
		if err := total.Merge(interval); err != nil {
			t.Fatal(err)
		}
		interval.Reset()
		drains++
	}
	if got, want := total.Count(), int64(loops*perLoop); got != want {
		t.Errorf("count after %d drains = %d, want %d", drains, got, want)
	}
	if got, want := total.Errors(), int64(loops*perLoop/100); got != want {
		t.Errorf("errors = %d, want %d", got, want)
	}
	tot := total.Total()
	if got, want := tot.Service.TotalCount()+tot.Failed.TotalCount(), int64(loops*perLoop); got != want {
		t.Errorf("histogram counts = %d, want %d", got, want)
	}
	if got, want := total.Open.Started, int64(loops*perLoop); got != want {
		t.Errorf("started = %d, want %d", got, want)
	}
	if got, want := total.Open.Late, int64(loops*perLoop/10); got != want {
		t.Errorf("late = %d, want %d", got, want)
	}
}

// TestMergeExact: percentiles of merged snapshots equal those of one
// histogram fed every value.
func TestMergeExact(t *testing.T) {
	names := []string{"op"}
	direct := metrics.NewHistogram()
	merged := metrics.NewSnapshot(names, false)
	rng := rand.New(rand.NewPCG(7, 7))
	for range 5 {
		r := metrics.NewRecorder(1, false)
		for range 20000 {
			d := time.Duration(rng.ExpFloat64()*2000) * time.Microsecond
			r.Record(0, d, 0, core.ErrNone)
			_ = direct.RecordValue(metrics.Micros(d))
		}
		part := metrics.NewSnapshot(names, false)
		if err := r.Drain(part, ""); err != nil {
			t.Fatal(err)
		}
		if err := merged.Merge(part); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(metrics.Latency(direct), metrics.Latency(merged.Ops[0].Service)); diff != "" {
		t.Errorf("merged latency differs (-direct +merged):\n%s", diff)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	h := metrics.NewHistogram()
	rng := rand.New(rand.NewPCG(3, 3))
	for range 100000 {
		_ = h.RecordValue(1 + rng.Int64N(metrics.HighestMicros))
	}
	_ = h.RecordValue(metrics.HighestMicros)
	s, err := metrics.Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := metrics.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if got.TotalCount() != h.TotalCount() {
		t.Errorf("count %d after round trip, want %d", got.TotalCount(), h.TotalCount())
	}
	if !got.Equals(h) {
		t.Error("decoded histogram differs from the original")
	}
	if _, err := metrics.Decode("not base64!"); err == nil {
		t.Error("Decode of garbage: want an error")
	}
	if h, err := metrics.Decode(""); h != nil || err != nil {
		t.Errorf(`Decode("") = %v, %v; want nil, nil`, h, err)
	}
}

func TestStatsSeparatesFailures(t *testing.T) {
	r := metrics.NewRecorder(1, false)
	for range 99 {
		r.Record(0, 10*time.Millisecond, 0, core.ErrNone)
	}
	r.Record(0, time.Microsecond, 0, core.ErrConstraint)
	s := metrics.NewSnapshot([]string{"op"}, false)
	if err := r.Drain(s, ""); err != nil {
		t.Fatal(err)
	}
	total, ops := s.Stats(10)
	if total.Count != 100 || total.Errors != 1 || total.QPS != 10 {
		t.Errorf("total = %+v; want count 100, errors 1, qps 10", total)
	}
	if got := ops["op"].ErrorsByClass["constraint"]; got != 1 {
		t.Errorf("errors_by_class[constraint] = %d, want 1", got)
	}
	if total.Latency.P50 < 9.9 || total.Latency.P50 > 10.1 {
		t.Errorf("p50 = %v ms; a failure leaked into the success histogram?", total.Latency.P50)
	}
	if total.ErrorLatency == nil || total.ErrorLatency.Max > 0.01 {
		t.Errorf("error latency = %+v, want max 0.001 ms", total.ErrorLatency)
	}
}

func BenchmarkRecord(b *testing.B) {
	r := metrics.NewRecorder(4, false)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Record(i&3, time.Duration(i&1023)*time.Microsecond, 0, core.ErrNone)
		i++
	}
}
