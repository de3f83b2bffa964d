package orchestrator_test

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/store"
)

// steadySpec is a one-worker spec whose warm-up ends once steady: a 4 s
// window, 5 % tolerance, at most max.
func steadySpec(max time.Duration) core.Spec {
	spec := testSpec(1, 0, 3*time.Second)
	spec.WarmupSteady = &core.SteadyWarmup{Until: core.UntilSteady, Window: core.Duration(4 * time.Second),
		Max: core.Duration(max), Tolerance: 0.05}
	return spec
}

// warmupEvent returns the run's SET_PHASE payload.
func warmupEvent(t *testing.T, r *rig, id string) control.PhasePayload {
	t.Helper()
	for _, e := range r.events(t, id) {
		if e.Kind == control.EventSetPhase {
			var p control.PhasePayload
			if err := json.Unmarshal(e.Payload, &p); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatal("no SET_PHASE event")
	return control.PhasePayload{}
}

// TestSteadyWarmup: a target whose statements take 50 ms at first and
// speed up steadily to 10 ms at 8 s, then stay there. The warm-up ends as
// steady within a window (4 s) and a couple of per-second checks of the
// target settling, long before its 60 s maximum; the decision is in the
// result, RUN_STATUS (warm-up end) and the SET_PHASE event.
func TestSteadyWarmup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(store.NewMemory())
		t0 := time.Now()
		const settle = 8 * time.Second
		r.conn.Latency = func(now time.Time) time.Duration {
			left := max(settle-now.Sub(t0), 0)
			return 10*time.Millisecond + time.Duration(float64(40*time.Millisecond)*float64(left)/float64(settle))
		}
		run := r.start(t, steadySpec(60*time.Second), nil)
		res, err := run.Wait()
		if err != nil {
			t.Fatal(err)
		}
		dec := res.WarmupDecision
		t.Logf("warm-up decision: %+v", dec)
		if dec == nil || dec.EndedBy != core.WarmupEndedBySteady {
			t.Fatalf("warm-up decision %+v, want ended by steady", dec)
		}
		// Settled at 8 s; a 4 s window of settled seconds, the first and
		// the newest second left out, checked once a second.
		if dec.AfterSeconds < settle.Seconds() || dec.AfterSeconds > (settle+2*4*time.Second).Seconds() {
			t.Errorf("steady after %.1fs, want between %s and %s", dec.AfterSeconds, settle, settle+8*time.Second)
		}
		if dec.QPSCV >= 0.05 || dec.P99CV >= 0.05 {
			t.Errorf("CVs %v, %v: want both under the 5%% tolerance", dec.QPSCV, dec.P99CV)
		}
		if p := warmupEvent(t, r, run.ID); p.Reason != core.WarmupEndedBySteady {
			t.Errorf("SET_PHASE reason %q, want steady", p.Reason)
		}
		row := r.getRun(t, run.ID)
		if row.WarmupEndedAt.IsZero() || !row.WarmupEndedAt.Equal(dec.At.Truncate(time.Microsecond)) {
			t.Errorf("RUN_STATUS warm-up end %v, decision at %v", row.WarmupEndedAt, dec.At)
		}
		// The measurement phase still lasts its duration after an early end.
		if res.MeasuredSeconds < 2.5 || res.MeasuredSeconds > 3.5 {
			t.Errorf("measured %.2fs, want 3s", res.MeasuredSeconds)
		}
	})
}

// TestSteadyWarmupMax: a target that alternates between 10 ms and 30 ms
// second by second is never steady: the warm-up ends at its maximum.
func TestSteadyWarmupMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(store.NewMemory())
		t0 := time.Now()
		r.conn.Latency = func(now time.Time) time.Duration {
			if int(now.Sub(t0)/time.Second)%2 == 0 {
				return 10 * time.Millisecond
			}
			return 30 * time.Millisecond
		}
		run := r.start(t, steadySpec(12*time.Second), nil)
		res, err := run.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if dec := res.WarmupDecision; dec == nil || dec.EndedBy != core.WarmupEndedByMax || dec.AfterSeconds < 12 || dec.AfterSeconds > 12.5 {
			t.Fatalf("warm-up decision %+v, want ended by max at 12s", dec)
		}
		if p := warmupEvent(t, r, run.ID); p.Reason != core.WarmupEndedByMax {
			t.Errorf("SET_PHASE reason %q, want max", p.Reason)
		}
	})
}

// TestSteadyWarmupStoreDown: the steady-state check reads the rows the
// workers sent over their local channels, not the store: with the store
// down from the first second, a target that settles at 8 s still ends the
// warm-up as steady, long before its 60 s maximum.
func TestSteadyWarmupStoreDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := store.NewMemory()
		cut := &outageStore{Store: mem}
		r := newRig(mem)
		t0 := time.Now()
		const settle = 8 * time.Second
		r.conn.Latency = func(now time.Time) time.Duration {
			left := max(settle-now.Sub(t0), 0)
			return 10*time.Millisecond + time.Duration(float64(40*time.Millisecond)*float64(left)/float64(settle))
		}
		svc := &orchestrator.Service{Store: cut, Launcher: orchestrator.InProcess{Store: cut, Logger: quiet}, Logger: quiet,
			StopGrace: 2 * time.Second, SpoolDir: t.TempDir()}
		run, err := svc.Start(context.Background(), steadySpec(60*time.Second),
			orchestrator.Options{Connector: r.conn, DriverName: "sleep", Workload: r.wl})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		cut.down.Store(true)
		res, err := run.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if dec := res.WarmupDecision; dec == nil || dec.EndedBy != core.WarmupEndedBySteady || dec.AfterSeconds > 20 {
			t.Fatalf("warm-up decision %+v with the store down, want steady within 20 s", dec)
		}
		if res.FullyRecorded() {
			t.Errorf("the store was down, yet the result says fully recorded")
		}
	})
}
