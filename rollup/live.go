package rollup

import (
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/store"
)

// Progress is a running run's live rollup: the merge of every worker's
// newest snapshots (those stored since the last Progress), with the
// workers' health.
type Progress struct {
	RunID   string
	Elapsed time.Duration
	Phase   core.Phase
	// Over the newest snapshots merged from every worker.
	Count, Errors int64
	QPS           float64
	P50, P99      float64 // ms
	Live, Lost    int
	// Start and End bound the snapshots merged; Operations holds their
	// merge per operation (QPS over End-Start).
	Start, End time.Time
	Operations map[string]core.OpStats
	// Workers is every worker's health from its newest heartbeat, by
	// group then worker id; nil when the heartbeats could not be read.
	Workers []WorkerHealth
	// Total is the merge of every operation over the same rows, with every
	// percentile (P50 and P99 above are its Latency.P50 and .P99).
	Total core.OpStats
	// WorkerQPS is each worker's rate over the same rows, by worker id.
	WorkerQPS map[string]float64
	// Snapshot holds the merged histograms themselves, per operation, for
	// adapters that export distributions (Prometheus). It is shared by
	// every observer: read it, never change it.
	Snapshot *metrics.Snapshot
}

// WorkerHealth is one worker as its heartbeat row shows it.
type WorkerHealth struct {
	WorkerID    string              `json:"worker_id"`
	Group       int                 `json:"group"`
	State       control.WorkerState `json:"state"`
	Phase       core.Phase          `json:"phase,omitempty"`
	Connections int                 `json:"connections"`
	LastSeen    time.Time           `json:"last_seen"`
	RowsDropped int64               `json:"rows_dropped"`
	// Silent is set when a running worker's heartbeat is older than the
	// run's heartbeat timeout: the orchestrator is about to declare it lost.
	Silent bool `json:"silent,omitempty"`
}

// Health turns heartbeat rows into worker health as of now.
func Health(hbs []store.Heartbeat, now time.Time, timeout time.Duration) []WorkerHealth {
	out := make([]WorkerHealth, 0, len(hbs))
	for _, h := range hbs {
		out = append(out, WorkerHealth{WorkerID: h.WorkerID, Group: h.Group, State: h.Status, Phase: h.Phase,
			Connections: h.Connections, LastSeen: h.LastSeen, RowsDropped: h.RowsDropped,
			Silent: h.Status == control.WorkerRunning && now.Sub(h.LastSeen) > timeout})
	}
	return out
}

// Live merges the snapshots of a running run as they arrive: each call to
// Add merges the rows it has not seen yet. It is not safe for concurrent
// use; the orchestrator's run loop owns one per run.
type Live struct {
	seen map[string]time.Time // row key → interval end, pruned
}

// NewLive returns an empty Live.
func NewLive() *Live { return &Live{seen: map[string]time.Time{}} }

// Add merges the rows not seen before (rows polled over a window of
// window ending at now; keys older than twice that are forgotten) and
// returns their merge in p (Count, Errors, QPS, P50, P99, Total, Start,
// End, Operations, WorkerQPS, Snapshot); ok is false when no row was new. A row whose histogram does
// not decode is left out.
func (l *Live) Add(rows []store.Snapshot, now time.Time, window time.Duration) (p Progress, ok bool) {
	var names []string
	index := map[string]int{}
	var fresh []store.Snapshot
	for _, r := range rows {
		key := r.WorkerID + "|" + r.IntervalStart.String() + "|" + string(r.Phase) + "|" + r.Operation
		if _, ok := l.seen[key]; ok {
			continue
		}
		l.seen[key] = r.IntervalEnd
		fresh = append(fresh, r)
		if _, ok := index[r.Operation]; !ok {
			index[r.Operation] = len(names)
			names = append(names, r.Operation)
		}
	}
	for k, end := range l.seen {
		if now.Sub(end) > 2*window {
			delete(l.seen, k)
		}
	}
	if len(fresh) == 0 {
		return p, false
	}
	snap := metrics.NewSnapshot(names, false)
	perWorker := map[string]int64{}
	for _, r := range fresh {
		op, err := Decode(r)
		if err != nil {
			continue
		}
		perWorker[r.WorkerID] += r.Count
		_ = snap.Ops[index[r.Operation]].Merge(&op)
		if p.Start.IsZero() || r.IntervalStart.Before(p.Start) {
			p.Start = r.IntervalStart
		}
		if r.IntervalEnd.After(p.End) {
			p.End = r.IntervalEnd
		}
	}
	// Rate over the span the new rows cover, per worker: with several
	// workers, their intervals overlap, so the span is one interval.
	seconds := p.End.Sub(p.Start).Seconds()
	tot, ops := snap.Stats(seconds)
	p.Count, p.Errors, p.QPS, p.P50, p.P99 = tot.Count, tot.Errors, tot.QPS, tot.Latency.P50, tot.Latency.P99
	p.Operations, p.Total, p.Snapshot = ops, tot, snap
	snap.Start, snap.End = p.Start, p.End
	p.WorkerQPS = make(map[string]float64, len(perWorker))
	for id, n := range perWorker {
		if seconds > 0 {
			p.WorkerQPS[id] = float64(n) / seconds
		} else {
			p.WorkerQPS[id] = 0
		}
	}
	return p, true
}
