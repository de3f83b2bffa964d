package orchestrator

// This file judges the workers: joins, heartbeats, lost workers and
// relaunches.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// externalStop reports a STOP appended by someone else (`unistore stop`).
func (d *driveState) externalStop() bool {
	var stop bool
	d.write("events", func(ctx context.Context) error {
		events, err := d.s.Store.EventsSince(ctx, d.run.ID, d.seq)
		for _, e := range events {
			d.seq = e.Seq
			if e.Kind == control.EventStop {
				stop, d.stopSeen = true, true
			}
		}
		return err
	})
	return stop
}

func (d *driveState) allJoined() bool {
	for _, g := range d.groups {
		if !g.joined && !g.dead {
			return false
		}
	}
	return true
}

func (d *driveState) noneLeft() bool {
	for _, g := range d.groups {
		if !g.dead {
			return false
		}
	}
	return true
}

func (d *driveState) liveCount() int {
	n := 0
	for _, g := range d.groups {
		if g.joined && !g.dead {
			n++
		}
	}
	return n
}

// firstError says why the first group to have lost a worker lost its last
// one (its handle is gone by then: lose retires it).
func (d *driveState) firstError() string {
	for gi, g := range d.groups {
		if g.lostWhy != "" {
			return fmt.Sprintf("group %d: %s", gi, g.lostWhy)
		}
	}
	return "workers stopped"
}

// watch reads the heartbeats and declares lost the workers that exited, went
// silent, or never joined; lost groups are relaunched, bounded.
func (d *driveState) watch(now time.Time, joinTimeout time.Duration, running bool) error {
	var hbs []store.Heartbeat
	if !d.write("heartbeats", func(ctx context.Context) error {
		var err error
		hbs, err = d.s.Store.ListHeartbeats(ctx, d.run.ID)
		return err
	}) {
		d.storeDown = true
		return nil // the store is down: judge nobody on missing data
	}
	d.heartbeats = hbs
	if d.storeDown || d.storeBack.IsZero() {
		// The store is back (or first read): workers could not heartbeat
		// while it was down, so each gets a full timeout from now.
		d.storeDown, d.storeBack = false, now
	}
	timeout := d.spec.Control.HeartbeatTimeout.D()
	silentSince := func(hb *store.Heartbeat) time.Time {
		if hb == nil || hb.LastSeen.Before(d.storeBack) {
			return d.storeBack
		}
		return hb.LastSeen
	}
	for gi, g := range d.groups {
		if g.dead {
			continue
		}
		id := control.WorkerID(gi, g.attempt)
		var hb *store.Heartbeat
		for i := range hbs {
			h := &hbs[i]
			switch {
			case h.WorkerID == id:
				hb = h
			case !g.owned() && h.Group == gi && !g.joined && h.Status == control.WorkerRunning &&
				h.LastSeen.After(g.launchedAt) && hb == nil:
				// A worker started by hand for this group, whatever attempt
				// it was given: adopt it.
				g.attempt = control.AttemptOf(h.WorkerID)
				id, hb = h.WorkerID, h
			}
		}
		exited := false
		if g.handle != nil {
			select {
			case <-g.handle.Done():
				exited = true
			default:
			}
		}
		var lost string
		switch {
		case exited:
			lost = "worker exited"
			if err := g.handle.Err(); err != nil {
				lost += ": " + err.Error()
			}
			if !g.joined && !running && g.attempt == 0 && errors.Is(g.handle.Err(), control.ErrGroupTaken) {
				return g.handle.Err()
			}
		case g.joined && now.Sub(silentSince(hb)) > timeout:
			lost = "heartbeat silent for more than " + timeout.String()
		case !g.joined && hb != nil && hb.Status == control.WorkerRunning && now.Sub(hb.LastSeen) <= timeout:
			g.joined = true
			if g.gap > 0 {
				d.stats.Gaps[g.gap-1].BackAt = hb.LastSeen
				g.gap = 0
			}
		case !g.joined && now.Sub(g.launchedAt) > joinTimeout:
			lost = "did not join within " + joinTimeout.String()
		}
		if lost == "" {
			continue
		}
		d.lose(gi, now, lost)
	}
	return nil
}

// lose declares group gi's worker lost and relaunches it if retries remain.
func (d *driveState) lose(gi int, now time.Time, reason string) {
	g := d.groups[gi]
	d.log.Warn("orchestrator: worker lost", "run_id", d.run.ID, "worker_id", control.WorkerID(gi, g.attempt), "reason", reason)
	if g.handle != nil {
		// Killed, not waited for: an in-process worker may take its flush
		// timeout to end, and the run goes on meanwhile. Its counters are
		// collected at the end.
		g.handle.Kill()
		g.retired = append(g.retired, g.handle)
		g.handle = nil
	}
	d.stats.Lost++
	g.lostWhy = reason
	if g.gap == 0 {
		d.stats.Gaps = append(d.stats.Gaps, core.Gap{Group: gi, LostAt: now.UTC(), Reason: reason})
		g.gap = len(d.stats.Gaps)
	}
	lost := d.stats.Lost
	d.update(store.RunUpdate{WorkersLost: &lost})
	if g.attempt >= d.spec.Control.MaxRelaunches {
		g.dead, g.handle = true, nil
		return
	}
	g.attempt++
	if err := d.launch(context.Background(), gi); err != nil {
		d.log.Error("orchestrator: relaunch failed", "run_id", d.run.ID, "group", gi, "err", err)
		g.dead, g.handle = true, nil
		return
	}
	d.stats.Relaunched++
}
