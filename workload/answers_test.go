package workload_test

import (
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/workload"
)

const answersOps = `workload:
  operations:
    - name: a
      sql: SELECT ?
      params: [{gen: uniform, min: 1, max: 10}]
`

// TestSLOAndSteadyWarmup: slo: sections and the mapping form of warmup:
// decode into the spec; the plain duration form still works.
func TestSLOAndSteadyWarmup(t *testing.T) {
	tpl, err := workload.Parse("t.yaml", []byte("name: t\nwarmup: {until: steady, window: 4s, max: 1m, tolerance: 5%}\n"+
		"slo: {p99_ms: 20, error_rate: 0.1%, min_qps: 100}\n"+answersOps+"      slo: {p95_ms: 5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := tpl.Spec
	w := s.WarmupSteady
	if w == nil || w.Until != "steady" || w.Window.D() != 4*time.Second || w.Max.D() != time.Minute || w.Tolerance != 0.05 {
		t.Fatalf("steady warm-up %+v", w)
	}
	if s.SLO == nil || *s.SLO.P99Ms != 20 || *s.SLO.ErrorRate != 0.001 || *s.SLO.MinQPS != 100 {
		t.Errorf("slo %+v", s.SLO)
	}
	if op := s.Workload.Operations[0].SLO; op == nil || *op.P95Ms != 5 {
		t.Errorf("operation slo %+v", op)
	}
	if d := s.WithDefaults(); d.Warmup.D() != time.Minute {
		t.Errorf("defaulted warm-up %s, want the steady warm-up's max, 1m", d.Warmup)
	}
	// Defaults of a bare steady warm-up.
	tpl, err = workload.Parse("t.yaml", []byte("name: t\nwarmup: {until: steady}\n"+answersOps))
	if err != nil {
		t.Fatal(err)
	}
	d := tpl.Spec.WithDefaults()
	if w := d.WarmupSteady; w.Window != core.DefaultSteadyWindow || w.Tolerance != core.DefaultSteadyTolerance || d.Warmup != core.DefaultSteadyMax {
		t.Errorf("defaults: %+v, warm-up %s", w, d.Warmup)
	}
	// The plain form.
	tpl, err = workload.Parse("t.yaml", []byte("name: t\nwarmup: 30s\n"+answersOps))
	if err != nil || tpl.Spec.Warmup.D() != 30*time.Second || tpl.Spec.WarmupSteady != nil {
		t.Errorf("plain warm-up: %v, %+v", err, tpl)
	}
}

// TestSLOAndSteadyWarmupErrors: every problem is located at its line and
// column, those of decoding at once, those of validation through Locate.
func TestSLOAndSteadyWarmupErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"decoding", "name: t\nwarmup: {until: steady, windw: 4s, tolerance: 5}\nslo: {p99_ms: fast, error_rate: 1%x}\n" + answersOps,
			[]string{`t.yaml:2:25: warmup.windw: unknown field "windw" (did you mean "window"?)`,
				`t.yaml:2:47: warmup.tolerance: bad ratio "5": a fraction above 1 is ambiguous`,
				`t.yaml:3:15: slo.p99_ms: want a number, got "fast"`,
				`t.yaml:3:33: slo.error_rate: bad ratio "1%x"`}},
		{"validation", "name: t\nwarmup: {until: stable, window: 1s, max: 10s}\nslo: {p99_ms: -1}\n" + answersOps + "      slo: {}\n",
			[]string{`t.yaml:2:10: warmup.until: want "steady", got "stable"`,
				`t.yaml:2:25: warmup.window: must be at least 2s`,
				`t.yaml:3:7: slo.p99_ms: must be a positive number, got -1`,
				`t.yaml:9:7: workload.operations[0].slo: sets no objective`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := workload.Parse("t.yaml", []byte(tc.yaml))
			if err == nil {
				s := tpl.Spec
				s.Target.DSN = "sqlite://x"
				err = tpl.Locate(s.Validate())
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%s", w, err)
				}
			}
		})
	}
}
