package cost

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// MinimumBilled is the billing minimum of each cluster start.
const MinimumBilled = 60 * time.Second

// HybridStorageNote is the note every Snowflake cost carries.
const HybridStorageNote = "hybrid-table requests are not billed since 2026-03-01 and are not charged here; hybrid-table storage is billed per GB-month apart from this run (not included)"

// rates are credits per hour of one running cluster, by size.
var rates = []struct {
	names []string
	rate  float64
}{
	{[]string{"XS", "X-SMALL", "XSMALL"}, 1},
	{[]string{"S", "SMALL"}, 2},
	{[]string{"M", "MEDIUM"}, 4},
	{[]string{"L", "LARGE"}, 8},
	{[]string{"XL", "X-LARGE", "XLARGE"}, 16},
	{[]string{"2XL", "2X-LARGE", "XXLARGE", "X2LARGE"}, 32},
	{[]string{"3XL", "3X-LARGE", "XXXLARGE", "X3LARGE"}, 64},
	{[]string{"4XL", "4X-LARGE", "X4LARGE"}, 128},
	{[]string{"5XL", "5X-LARGE", "X5LARGE"}, 256},
	{[]string{"6XL", "6X-LARGE", "X6LARGE"}, 512},
}

// CreditsPerHour returns the credits per hour of one running cluster of a
// warehouse of size (as SHOW WAREHOUSES writes it, "X-Small", or short,
// "XS"; case and spaces ignored); ok is false for a size it does not know.
func CreditsPerHour(size string) (rate float64, ok bool) {
	s := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(size), " ", ""))
	s = strings.ReplaceAll(s, "_", "-")
	for _, r := range rates {
		for _, n := range r.names {
			if s == n {
				return r.rate, true
			}
		}
	}
	return 0, false
}

// Sample is one observation of the warehouse's running clusters.
type Sample struct {
	At      time.Time
	Running int
}

// BilledSeconds returns the cluster-seconds billed for [start, end) given
// the running-cluster samples (in time order): the count of a sample holds
// until the next one (the first from start, the last to end); cluster k
// runs while the count is at least k; each stretch a cluster runs is one
// start, billed per second with MinimumBilled. No sample means one cluster
// throughout (the warehouse had to run for the load). It returns the
// largest count seen too.
func BilledSeconds(samples []Sample, start, end time.Time) (seconds float64, clustersMax int) {
	if !end.After(start) {
		return 0, 0
	}
	if len(samples) == 0 {
		samples = []Sample{{At: start, Running: 1}}
	}
	type seg struct {
		from, to time.Time
		n        int
	}
	var segs []seg
	for i, s := range samples {
		from := s.At
		if i == 0 || from.Before(start) {
			from = start
		}
		to := end
		if i+1 < len(samples) && samples[i+1].At.Before(end) {
			to = samples[i+1].At
		}
		if !to.After(from) {
			continue
		}
		n := max(s.Running, 0)
		segs = append(segs, seg{from, to, n})
		clustersMax = max(clustersMax, n)
	}
	for k := 1; k <= clustersMax; k++ {
		var run time.Duration
		running := false
		for _, sg := range segs {
			if sg.n >= k {
				run += sg.to.Sub(sg.from)
				running = true
				continue
			}
			if running {
				seconds += billed(run)
				run, running = 0, false
			}
		}
		if running {
			seconds += billed(run)
		}
	}
	return seconds, clustersMax
}

func billed(d time.Duration) float64 {
	return math.Ceil(max(d, MinimumBilled).Seconds())
}

// Input is what an estimate is made of.
type Input struct {
	Warehouse  driver.Warehouse
	Samples    []Sample
	Start, End time.Time
	// OK counts the run's successful operations (warm-up included).
	OK             int64
	PricePerCredit float64
}

// Estimate returns the warehouse cost of a run on a Snowflake target:
// BilledSeconds × the size's rate. A size it does not know is an estimate
// of zero with a note saying so.
func Estimate(in Input) core.CostStats {
	c := core.CostStats{Source: "estimate", Warehouse: in.Warehouse.Name, Size: in.Warehouse.Size,
		WallSeconds: in.End.Sub(in.Start).Seconds(), PricePerCredit: in.PricePerCredit, Notes: []string{HybridStorageNote}}
	rate, ok := CreditsPerHour(in.Warehouse.Size)
	if !ok {
		c.Notes = append(c.Notes, fmt.Sprintf("warehouse size %q unknown (SHOW WAREHOUSES not readable?): credits not estimated", in.Warehouse.Size))
	}
	c.CreditsPerHour = rate
	c.BilledSeconds, c.ClustersMax = BilledSeconds(in.Samples, in.Start, in.End)
	c.ClustersMax = max(c.ClustersMax, 0)
	c.Credits = rate * c.BilledSeconds / 3600
	SetCredits(&c, c.Credits, in.OK)
	return c
}

// SetCredits sets c's credits and what derives from them: credits per
// 1,000 successful operations and dollars.
func SetCredits(c *core.CostStats, credits float64, ok int64) {
	c.Credits = round(credits)
	c.CreditsPer1kOps = 0
	if ok > 0 {
		c.CreditsPer1kOps = round(credits * 1000 / float64(ok))
	}
	c.Dollars = round(credits * c.PricePerCredit)
}

// round keeps 9 decimals (Snowflake meters credits to 9 places).
func round(f float64) float64 { return math.Round(f*1e9) / 1e9 }

// Sampler samples a warehouse's running clusters on its own goroutine,
// off the workers' loops, until Stop.
type Sampler struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []Sample
	last    driver.Warehouse
	err     error
}

// StartSampler calls sample now and then every interval until Stop. A
// failed sample is skipped (the last count holds); the first error is kept.
func StartSampler(sample func(context.Context) (driver.Warehouse, error), interval time.Duration) *Sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			sctx, c := context.WithTimeout(ctx, max(interval, 5*time.Second))
			w, err := sample(sctx)
			c()
			s.mu.Lock()
			if err == nil {
				s.samples = append(s.samples, Sample{At: time.Now(), Running: w.Running})
				s.last = w
			} else if s.err == nil && ctx.Err() == nil {
				s.err = err
			}
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the samples, the warehouse as last
// seen and the first error.
func (s *Sampler) Stop() ([]Sample, driver.Warehouse, error) {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples, s.last, s.err
}
