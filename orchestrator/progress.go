package orchestrator

import (
	"context"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
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
	// Workers with a local channel sent their rows here: the live line
	// goes on while the store is down. Others' are read from the store.
	var rows []store.Snapshot
	if p.d.allLocal() {
		rows = p.d.local.since(now.Add(-window))
	} else if !p.d.write("progress", func(ctx context.Context) error {
		var err error
		rows, err = p.d.s.Store.SnapshotsSince(ctx, p.d.run.ID, now.Add(-window))
		return err
	}) {
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
