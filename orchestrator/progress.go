package orchestrator

import (
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/rollup"
)

// progress merges the newest snapshots of every worker for the live line
// and the observers.
type progress struct {
	d    *driveState
	live *rollup.Live
	next time.Time
}

func newProgress(d *driveState) *progress {
	return &progress{d: d, live: rollup.NewLive()}
}

func (p *progress) poll(now, started time.Time, phase core.Phase) {
	f := p.d.opts.OnProgress
	if f == nil || now.Before(p.next) {
		return
	}
	p.next = now.Add(time.Second)
	window := 2 * p.d.spec.Control.HeartbeatTimeout.D()
	rows, ok := p.d.recentRows("progress", now.Add(-window))
	if !ok {
		return
	}
	pr, ok := p.live.Add(rows, now, window)
	if !ok {
		return
	}
	pr.RunID, pr.Elapsed, pr.Phase = p.d.run.ID, now.Sub(started), phase
	pr.Live, pr.Lost = p.d.liveCount(), p.d.stats.Lost
	if p.d.heartbeats != nil {
		pr.Workers = rollup.Health(p.d.heartbeats, now, p.d.spec.Control.HeartbeatTimeout.D())
	}
	f(pr)
}
