package unistore_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
)

// TestExportPhases: the HdrHistogram export holds the measurement's
// intervals only by default — its counts are the result's — and with
// ExportAll warm-up's too, under tags of their own whose counts are the
// result's warm-up count; no interval starts before the log's base time.
func TestExportPhases(t *testing.T) {
	_, st := sqliteStore(t)
	spec := quickstartSpec(t)
	spec.Warmup = core.Duration(500 * time.Millisecond)
	ctx := ctxFor(t, time.Minute)
	res, err := unistore.Run(ctx, spec, unistore.WithStore(st), unistore.WithInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if res.Warmup.Count == 0 || res.Total.Count == 0 {
		t.Fatalf("warm-up %d ops, measurement %d: want both", res.Warmup.Count, res.Total.Count)
	}
	read := func(opts ...unistore.ExportOption) (map[string]int64, string) {
		t.Helper()
		var buf bytes.Buffer
		if err := unistore.Export(ctx, st, res.RunID, "hdr", &buf, opts...); err != nil {
			t.Fatal(err)
		}
		text := buf.String()
		counts := map[string]int64{}
		r := hdr.NewHistogramLogReader(&buf)
		for {
			h, err := r.NextIntervalHistogram()
			if err != nil {
				t.Fatalf("reading the log back: %v\n%s", err, text)
			}
			if h == nil {
				break
			}
			counts[h.Tag()] += h.TotalCount()
		}
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "Tag=") && strings.Contains(line, ",-") {
				t.Errorf("an interval before the base time: %s", line[:min(len(line), 60)])
			}
		}
		return counts, text
	}
	counts, text := read()
	if len(counts) != 1 || counts["get"] != res.Operations["get"].Count-res.Operations["get"].Errors {
		t.Errorf("default export counts %v; want only get, %d (the result's successes)", counts, res.Operations["get"].Count)
	}
	// BaseTime to the millisecond, not truncated to the second.
	if !strings.Contains(text, "#[BaseTime: ") || strings.Contains(text, "#[BaseTime: "+strings.Split(strings.Split(text, "#[BaseTime: ")[1], ".")[0]+" ") {
		t.Errorf("BaseTime header without milliseconds:\n%s", text[:min(len(text), 400)])
	}
	all, _ := read(unistore.ExportPhase(unistore.ExportAll))
	if all["get"] != counts["get"] || all["warmup:get"] != res.Warmup.Count-res.Warmup.Errors {
		t.Errorf("--phase all counts %v; want get %d and warmup:get %d", all, counts["get"], res.Warmup.Count)
	}
	if err := unistore.Export(ctx, st, res.RunID, "hdr", &bytes.Buffer{}, unistore.ExportPhase("cooldown")); err == nil {
		t.Error("Export with phase cooldown: no error")
	}
}
