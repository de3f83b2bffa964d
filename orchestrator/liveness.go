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
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
)

// externalStop reports a STOP appended by someone else (`unistore stop`).
func (d *driveState) externalStop() bool {
	var stop bool
	d.write("events", func(ctx context.Context) error {
		events, err := d.s.Store.EventsSince(ctx, d.run.ID, d.seq)
		for _, e := range events {
			d.seq = e.Seq
			switch e.Kind {
			case control.EventStop:
				stop, d.stopSeen = true, true
			case control.EventSetWorkerTarget:
				d.scales = append(d.scales, e)
			}
		}
		return err
	})
	return stop
}

// renew renews the orchestrator's lease — RUN_STATUS's updated_at, with
// the live and lost worker counts — when no write of the row came for
// lease/5 (at most once a poll). Workers stop on their own if renewals stop
// for a lease, and a reader that sees none for a lease marks the run
// FAILED (orchestrator lost, MarkAbandoned): so it is renewed from the
// first join wait to the last grace period.
//
// A failed renewal is retried lease/5 later, not on the next poll: a store
// that hangs costs the run one write timeout per lease/5, not one per poll.
func (d *driveState) renew(now time.Time) {
	ctl := d.spec.Control
	every := max(ctl.Lease.D()/5, ctl.Poll.D())
	if now.Sub(d.lastRenew) < every || now.Sub(d.renewTried) < every {
		return
	}
	d.renewTried = now
	live, lost := d.liveCount(), d.stats.Lost
	d.update(store.RunUpdate{WorkersLive: &live, WorkersLost: &lost})
}

// sweep marks the store's runs whose orchestrator is gone
// (SweepAbandoned) before this one creates its run: best effort, bounded,
// logged.
func (s *Service) sweep(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := SweepAbandoned(ctx, s.Store, "the next orchestrator on the store")
	if err != nil {
		s.logger().Warn("orchestrator: could not mark the runs whose orchestrator is gone", "err", err)
	}
	if n > 0 {
		s.logger().Info("orchestrator: marked runs whose orchestrator is gone FAILED (orchestrator lost)", "runs", n)
	}
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

// targets are the run's connection targets for its result: its scales
// replayed (rollup.Targets), read once more at the end so that one
// appended after the last poll counts; if the store cannot be read, the
// scales the polls saw.
//
// The read is bounded by a second, and by the stop's window (it is not
// made at all with the store known down): with the store down at the
// end, the run's end does not wait for it.
func (d *driveState) targets() *core.ConnectionTargets {
	events := d.scales
	if d.out.down {
		return rollup.Targets(d.spec, events)
	}
	timeout := time.Second
	if !d.deadline.IsZero() {
		timeout = min(timeout, max(50*time.Millisecond, time.Until(d.deadline)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if all, err := d.s.Store.EventsSince(ctx, d.run.ID, 0); err == nil {
		events = all
	}
	return rollup.Targets(d.spec, events)
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
		var hb, next *store.Heartbeat
		for i := range hbs {
			h := &hbs[i]
			switch {
			case h.WorkerID == id:
				hb = h
			case d.restarts && h.Group == gi && h.Status == control.WorkerRunning && now.Sub(h.LastSeen) <= timeout &&
				control.AttemptOf(h.WorkerID) > g.attempt && (next == nil || control.AttemptOf(h.WorkerID) > control.AttemptOf(next.WorkerID)):
				// A later attempt of the group: the launcher's scheduler
				// restarted its worker.
				next = h
			case !g.owned() && h.Group == gi && !g.joined && h.Status == control.WorkerRunning &&
				h.LastSeen.After(g.launchedAt) && hb == nil:
				// A worker started by hand for this group, whatever attempt
				// it was given: adopt it.
				g.attempt = control.AttemptOf(h.WorkerID)
				id, hb = h.WorkerID, h
			}
		}
		if next != nil {
			d.restarted(gi, hb, next, now)
			id, hb = next.WorkerID, next
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
		case !exited && g.gap == 0 && failedNow(g):
			// The scheduler saw this attempt fail: lost now, not a
			// heartbeat timeout later.
			_, why := g.handle.(FailureReporter).Failed()
			lost = "the launcher's scheduler saw it fail: " + why
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
		case !g.joined && hb != nil && hb.Status == control.WorkerRunning && now.Sub(hb.LastSeen) <= timeout && !failedNow(g):
			// (An attempt its scheduler saw fail does not join again on
			// the last heartbeat it wrote before it died.)
			g.joined = true
			if g.gap > 0 {
				d.stats.Gaps[g.gap-1].BackAt = hb.LastSeen
				g.gap = 0
			}
		case !g.joined && now.Sub(g.launchedAt) > joinTimeout && d.restarts && g.gap > 0:
			// Lost already, and no restart came within a join timeout.
			d.giveUp(gi, "no restart by the launcher's scheduler within "+joinTimeout.String())
			continue
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

// lose declares group gi's worker lost and relaunches it if retries
// remain. With a self-restarting launcher it relaunches nothing: while the
// group's handle lives, the group waits a join timeout for the scheduler's
// next attempt (watch sees it join).
func (d *driveState) lose(gi int, now time.Time, reason string) {
	g := d.groups[gi]
	id := control.WorkerID(gi, g.attempt)
	d.log.Warn("orchestrator: worker lost", "run_id", d.run.ID, "worker_id", id, "reason", reason)
	// Declared in the control events before anything is relaunched: the
	// next attempt may then take the group over although the lost
	// worker's last heartbeat is fresh (a worker refuses to take over a
	// live group), and the lost worker, should it still run, stops.
	d.event(control.WorkerLost(id, reason))
	if d.restarts && g.handle != nil && !isDone(g.handle) {
		d.countLost(gi, now, reason)
		g.joined, g.launchedAt = false, now
		return
	}
	d.retire(g)
	d.countLost(gi, now, reason)
	if d.restarts || g.attempt >= d.spec.Control.MaxRelaunches {
		g.dead = true
		d.event(control.GroupGivenUp(gi, reason))
		return
	}
	g.attempt++
	if err := d.launch(context.Background(), gi); err != nil {
		d.log.Error("orchestrator: relaunch failed", "run_id", d.run.ID, "group", gi, "err", err)
		g.dead, g.handle = true, nil
		d.event(control.GroupGivenUp(gi, "relaunch failed: "+err.Error()))
		return
	}
	d.stats.Relaunched++
}

// retire kills g's worker and keeps its handle for the end. Killed, not
// waited for: an in-process worker may take its flush timeout to end, and
// the run goes on meanwhile. Its counters are collected at the end.
func (d *driveState) retire(g *group) {
	if g.handle != nil {
		g.handle.Kill()
		g.retired = append(g.retired, g.handle)
		g.handle = nil
	}
}

// countLost counts a lost worker of group gi and opens the group's gap.
func (d *driveState) countLost(gi int, at time.Time, reason string) {
	g := d.groups[gi]
	d.stats.Lost++
	g.lostWhy = reason
	if g.gap == 0 {
		d.stats.Gaps = append(d.stats.Gaps, core.Gap{Group: gi, LostAt: at.UTC(), Reason: reason})
		g.gap = len(d.stats.Gaps)
	}
	lost := d.stats.Lost
	d.update(store.RunUpdate{WorkersLost: &lost})
}

// restarted records that the launcher's scheduler started next, a later
// attempt of group gi, whose current attempt last heartbeated prev (nil if
// never). If the orchestrator had not judged that attempt lost — the
// scheduler was quicker than the heartbeat timeout — it is lost now, from
// its last heartbeat. The new attempt joins as any worker does.
func (d *driveState) restarted(gi int, prev, next *store.Heartbeat, now time.Time) {
	g := d.groups[gi]
	d.log.Warn("orchestrator: worker restarted by the launcher's scheduler", "run_id", d.run.ID,
		"worker_id", control.WorkerID(gi, g.attempt), "next", next.WorkerID)
	if g.gap == 0 {
		at := now
		if prev != nil {
			at = prev.LastSeen
		}
		d.countLost(gi, at, "restarted by the launcher's scheduler")
	}
	g.attempt, g.joined = control.AttemptOf(next.WorkerID), false
	d.stats.Restarted++
}

// giveUp ends group gi for good: its worker (or the scheduler's
// restarts) is stopped and nothing more is waited for.
func (d *driveState) giveUp(gi int, reason string) {
	g := d.groups[gi]
	d.log.Warn("orchestrator: worker group given up", "run_id", d.run.ID, "group", gi, "reason", reason)
	g.lostWhy = reason
	// Declared before the kill: a self-restarting launcher's scheduler
	// may still start the group again (a Kubernetes index with restarts
	// left, which no API fails from outside); that worker reads this and
	// refuses to join (worker.ErrGroupGivenUp).
	d.event(control.GroupGivenUp(gi, reason))
	d.retire(g)
	g.dead = true
}

func isDone(h Handle) bool {
	select {
	case <-h.Done():
		return true
	default:
		return false
	}
}

// failedNow reports whether g's handle says its current attempt failed.
func failedNow(g *group) bool {
	fr, ok := g.handle.(FailureReporter)
	if !ok {
		return false
	}
	at, _ := fr.Failed()
	return at >= g.attempt
}
