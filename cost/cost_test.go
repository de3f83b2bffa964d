package cost_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/cost"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/store"
)

func TestCreditsPerHour(t *testing.T) {
	for _, tc := range []struct {
		size string
		want float64
	}{{"X-Small", 1}, {"XS", 1}, {"small", 2}, {"Medium", 4}, {"Large", 8}, {"X-Large", 16}, {"2X-Large", 32},
		{"XXLARGE", 32}, {"3X-Large", 64}, {"4X-Large", 128}, {"5X-Large", 256}, {"6X-Large", 512}, {"6XL", 512}} {
		got, ok := cost.CreditsPerHour(tc.size)
		if !ok || got != tc.want {
			t.Errorf("CreditsPerHour(%q) = %v, %v; want %v", tc.size, got, ok, tc.want)
		}
	}
	if _, ok := cost.CreditsPerHour("7X-Large"); ok {
		t.Error("7X-Large known")
	}
}

func TestBilledSeconds(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, tc := range []struct {
		name    string
		samples []cost.Sample
		end     int
		want    float64
		max     int
	}{
		{"no samples: one cluster, 60 s minimum", nil, 20, 60, 1},
		{"one cluster past the minimum", []cost.Sample{{at(0), 1}, {at(50), 1}}, 90, 90, 1},
		{"second cluster for 10 s: its own start, billed 60 s", []cost.Sample{{at(0), 1}, {at(30), 2}, {at(40), 1}}, 120, 120 + 60, 2},
		{"second cluster twice: two starts", []cost.Sample{{at(0), 1}, {at(10), 2}, {at(20), 1}, {at(100), 2}, {at(200), 1}}, 300, 300 + 60 + 100, 2},
		{"per second, rounded up", []cost.Sample{{at(0), 1}}, 0, 0, 0},
		{"three clusters throughout", []cost.Sample{{at(0), 3}}, 61, 3 * 61, 3},
	} {
		got, mx := cost.BilledSeconds(tc.samples, t0, at(tc.end))
		if got != tc.want || mx != tc.max {
			t.Errorf("%s: %v s, %d clusters; want %v, %d", tc.name, got, mx, tc.want, tc.max)
		}
	}
}

func TestEstimate(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c := cost.Estimate(cost.Input{Warehouse: driver.Warehouse{Name: "WH", Size: "Medium"},
		Samples: []cost.Sample{{t0, 1}, {t0.Add(30 * time.Minute), 2}}, Start: t0, End: t0.Add(time.Hour), OK: 2_000_000, PricePerCredit: 3})
	// One cluster for an hour (4 credits) and a second for half an hour (2).
	if c.Credits != 6 || c.CreditsPer1kOps != 0.003 || c.Dollars != 18 || c.ClustersMax != 2 || c.Source != "estimate" {
		t.Errorf("estimate %+v", c)
	}
	if len(c.Notes) == 0 || !strings.Contains(c.Notes[0], "not billed since 2026-03-01") {
		t.Errorf("notes %q", c.Notes)
	}
	unknown := cost.Estimate(cost.Input{Warehouse: driver.Warehouse{Size: "?"}, Start: t0, End: t0.Add(time.Minute)})
	if unknown.Credits != 0 || len(unknown.Notes) != 2 {
		t.Errorf("unknown size: %+v", unknown)
	}
}

func TestControlPlane(t *testing.T) {
	w := cost.Writes{RunStatus: 10, Events: 3, Heartbeats: 120, SnapshotRows: 240}
	pg := cost.ControlPlane(w, "postgres", 2, nil, false, time.Minute, 3)
	if pg.Writes != 373 || pg.WritesPerWorkerMin != 186.5 || pg.Credits != 0 || pg.Model != "" {
		t.Errorf("postgres store: %+v", pg)
	}
	// A Small store warehouse with a 60 s auto-suspend, a 5-minute run:
	// 360 s of one Small cluster = 0.2 credits.
	sf := cost.ControlPlane(w, "snowflake", 10, &driver.Warehouse{Size: "Small", AutoSuspend: time.Minute}, false, 5*time.Minute, 2)
	if sf.Credits != 0.2 || sf.Dollars != 0.4 || !strings.Contains(sf.Model, "keep-alive") {
		t.Errorf("snowflake store: %+v", sf)
	}
	shared := cost.ControlPlane(w, "snowflake", 10, nil, true, 5*time.Minute, 2)
	if shared.Credits != 0 || !strings.HasPrefix(shared.Model, "shares the target's warehouse") {
		t.Errorf("shared warehouse: %+v", shared)
	}
}

// TestCounterPassesCapabilities: the counting wrapper keeps the store's
// optional capabilities — an idempotent batch write stays idempotent, and
// counts its rows once per call.
func TestCounterPassesCapabilities(t *testing.T) {
	ctx := context.Background()
	c := cost.Count(store.NewMemory())
	var st store.Store = c
	bw, ok := st.(store.BatchWriter)
	if !ok {
		t.Fatal("cost.Counter hides store.BatchWriter")
	}
	if _, ok := st.(store.RunUpdaterIf); !ok {
		t.Fatal("cost.Counter hides store.RunUpdaterIf")
	}
	rows := []store.Snapshot{{RunID: "r1", WorkerID: "worker-0", Operation: "op", Count: 3, IntervalStart: time.Now(), IntervalEnd: time.Now()}}
	for range 2 { // a retry of the same batch
		if err := bw.WriteSnapshotBatch(ctx, "b1", rows); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Snapshots(ctx, "r1")
	if err != nil || len(got) != 1 {
		t.Errorf("after a retried batch: %d rows (%v), want 1", len(got), err)
	}
	if w := c.Writes(); w.SnapshotRows != 2 {
		t.Errorf("counted %d snapshot rows written, want 2 (two calls)", w.SnapshotRows)
	}
}
