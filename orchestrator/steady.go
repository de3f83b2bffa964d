package orchestrator

// This file ends a warm-up: at its fixed length, or, for a steady-state
// warm-up (core.SteadyWarmup), once the per-second QPS and p99 over the
// last window vary less than the tolerance, or at its maximum.

import (
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/stats"
	"github.com/unistore-bench/unistore/store"
)

// steadyCheck is how often a steady warm-up is judged: once per
// per-second figure.
const steadyCheck = time.Second

// warmupOver returns the decision ending the warm-up at now, or nil while
// it goes on. warmupEnd is the warm-up's end at the latest (its fixed
// length, or a steady warm-up's maximum).
func (d *driveState) warmupOver(now, started, warmupEnd time.Time) *core.WarmupDecision {
	w := d.spec.WarmupSteady
	dec := &core.WarmupDecision{At: now.UTC(), AfterSeconds: now.Sub(started).Seconds()}
	if !now.Before(warmupEnd) {
		dec.EndedBy = core.WarmupEndedByDuration
		if w != nil {
			dec.EndedBy = core.WarmupEndedByMax
		}
		return dec
	}
	if w == nil || now.Sub(started) < w.Window.D() || now.Before(d.steadyNext) {
		return nil
	}
	d.steadyNext = now.Add(steadyCheck)
	rows, ok := d.recentRows("steady-state check", now.Add(-w.Window.D()-3*steadyCheck))
	if !ok {
		return nil
	}
	qpsCV, p99CV, ok := Steadiness(rows, w.Window.D())
	if !ok || qpsCV >= float64(w.Tolerance) || p99CV >= float64(w.Tolerance) {
		return nil
	}
	dec.EndedBy, dec.QPSCV, dec.P99CV = core.WarmupEndedBySteady, qpsCV, p99CV
	return dec
}

// Steadiness returns the coefficients of variation of the per-second QPS
// and p99 (response time in the open model, service time in the closed
// loop) over the last window of warm-up snapshots in rows; ok is false
// until rows hold a full window of complete seconds. The first and the
// newest second are left out: the first may have begun mid-second, the
// newest may still miss a worker's snapshot.
func Steadiness(rows []store.Snapshot, window time.Duration) (qpsCV, p99CV float64, ok bool) {
	var warm []store.Snapshot
	for _, r := range rows {
		if r.Phase == core.PhaseWarmup {
			warm = append(warm, r)
		}
	}
	iv, err := rollup.Intervals(store.Run{}, warm, time.Second)
	if err != nil || len(iv) < 3 {
		return 0, 0, false
	}
	iv = iv[1 : len(iv)-1]
	n := int(window / time.Second)
	if len(iv) < n {
		return 0, 0, false
	}
	iv = iv[len(iv)-n:]
	if iv[n-1].Start.Sub(iv[0].Start) != time.Duration(n-1)*time.Second {
		return 0, 0, false // a second without a snapshot
	}
	qps := make([]float64, n)
	p99 := make([]float64, n)
	for i, b := range iv {
		lat := b.Total.Latency
		if b.Total.Response != nil {
			lat = *b.Total.Response
		}
		qps[i], p99[i] = b.Total.QPS, lat.P99
	}
	return stats.CV(qps), stats.CV(p99), true
}
