package orchestrator

// This file ends a run: STOP, the grace period and signals, the store
// counters, and the final RUN_STATUS with the rollup.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
)

// collect waits for h to end and returns its store counters, if it knows
// them (in-process workers, and worker processes that reported them over
// their local channel); ok is false otherwise.
func collect(h Handle) (core.StoreStats, bool) {
	s, ok := h.(StoreStatser)
	if !ok {
		return core.StoreStats{}, false
	}
	<-h.Done()
	if k, ok := h.(StoreStatsKnower); ok && !k.StoreStatsKnown() {
		return core.StoreStats{}, false
	}
	return s.StoreStats(), true
}

func addStoreStats(a, b core.StoreStats) core.StoreStats {
	a.SnapshotsStored += b.SnapshotsStored
	a.SnapshotsSpooled += b.SnapshotsSpooled
	a.SnapshotsDropped += b.SnapshotsDropped
	a.ExecutionsStored += b.ExecutionsStored
	a.ExecutionsSpooled += b.ExecutionsSpooled
	a.ExecutionsDropped += b.ExecutionsDropped
	return a
}

func (d *driveState) terminateAll() {
	for _, g := range d.groups {
		if g != nil && g.handle != nil {
			g.handle.Kill()
			<-g.handle.Done()
		}
	}
}

// stopAndFinish sends STOP — first over the local channels, then as a
// store event — waits for the workers (a grace period, then SIGTERM, then
// SIGKILL), and writes the final RUN_STATUS with the result. now skips
// the grace (a cancel: stop at once). A Hurry meanwhile tells the workers
// to spool at once and cuts every wait short.
func (d *driveState) stopAndFinish(outcome core.Status, reason string, now bool) {
	d.cut = nil // the stop's own store calls are bounded by its window
	d.sendLocal(control.Stop())
	if now {
		d.signalAll(Handle.Terminate)
	}
	// One window for the whole stop, the flush timeout: the workers flush
	// in its first part (to flushBy: those still flushing then spool the
	// rest), and the final RUN_STATUS gets the rest (statusReserve). No
	// store call below outlasts its part.
	flush := d.flushTimeout()
	d.stopBy = time.Now().Add(flush)
	d.flushBy = d.stopBy.Add(-statusReserve(flush))
	d.deadline = d.flushBy
	status := core.StatusStopping
	if !d.stopSeen {
		d.event(control.Stop())
	}
	d.recordRun(store.RunUpdate{Status: &status})
	grace := d.s.StopGrace
	if grace <= 0 {
		grace = DefaultStopGrace
	}
	if !d.waitStopped(grace) {
		d.signalAll(Handle.Terminate)
		if !d.waitStopped(grace) {
			d.signalAll(Handle.Kill)
			d.waitStopped(grace)
		}
	}
	d.deadline = d.stopBy
	var dropped int64
	var stats core.StoreStats
	known := true
	for _, g := range d.groups {
		hs := g.retired
		if g.handle != nil {
			hs = append(hs, g.handle)
		}
		for _, h := range hs {
			st, ok := collect(h)
			known = known && ok
			stats = addStoreStats(stats, st)
		}
	}
	if known {
		dropped = stats.SnapshotsDropped + stats.ExecutionsDropped
	} else if !d.run.hurried() {
		// Workers elsewhere report only their dropped total (in their
		// heartbeats), and what they stored is read back from the store.
		stats = core.StoreStats{}
		d.write("heartbeats", func(ctx context.Context) error {
			hbs, err := d.s.Store.ListHeartbeats(ctx, d.run.ID)
			for _, h := range hbs {
				dropped += h.RowsDropped
			}
			return err
		})
		d.write("stored rows", func(ctx context.Context) error {
			snaps, err := d.s.Store.Snapshots(ctx, d.run.ID)
			if err != nil {
				return err
			}
			n, err := d.s.Store.CountExecutions(ctx, d.run.ID)
			stats.SnapshotsStored, stats.ExecutionsStored = int64(len(snaps)), n
			return err
		})
	}
	if spooled := stats.SnapshotsSpooled + stats.ExecutionsSpooled; spooled > 0 {
		stats.SpoolDir = store.OpenSpool(d.s.SpoolDir, d.run.ID).Dir()
	}
	d.base.Store = &stats
	d.base.RowsSpooled = stats.SnapshotsSpooled + stats.ExecutionsSpooled
	d.finish(outcome, reason, dropped)
}

func (d *driveState) signalAll(sig func(Handle)) {
	for _, g := range d.groups {
		if g.handle != nil {
			sig(g.handle)
		}
	}
}

// statusReserve is the part of the stop's window (flush, the flush
// timeout) kept for the final RUN_STATUS: a fifth, at most a second — a
// status write takes milliseconds on a store that answers, and one quick
// try is all a store known down gets.
func statusReserve(flush time.Duration) time.Duration {
	return min(flush/5, time.Second)
}

// hurryLocal tells every worker with a local channel that has not ended
// to spool what it has not stored, at once: the workers' part of the
// stop's window is over (flushBy). Once.
func (d *driveState) hurryLocal() {
	if d.flushHurried {
		return
	}
	d.flushHurried = true
	for _, g := range d.groups {
		for _, h := range g.retired {
			if lh, ok := h.(LocalHandle); ok && !isDone(h) {
				lh.Hurry()
			}
		}
		if lh, ok := g.handle.(LocalHandle); ok && !isDone(g.handle) {
			lh.Hurry()
		}
	}
}

// hurryAll passes a Hurry on to every worker with a local channel, and
// terminates the others.
func (d *driveState) hurryAll() {
	for _, g := range d.groups {
		for _, h := range append(g.retired, g.handle) {
			if h == nil {
				continue
			}
			if lh, ok := h.(LocalHandle); ok {
				lh.Hurry()
			}
			h.Terminate()
		}
	}
}

// waitStopped waits up to limit for every worker to have stopped: its
// handle ended, or (for a worker the launcher does not own, started by
// hand elsewhere) its heartbeat says STOPPED or has gone silent. At
// flushBy, the end of the workers' part of the stop's window, those with
// a local channel still flushing are told to spool the rest (hurryLocal).
// A Hurry passes on to the workers and leaves them a second.
func (d *driveState) waitStopped(limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(d.spec.Control.Poll.D())
	defer tick.Stop()
	flushEnd := time.NewTimer(time.Until(d.flushBy))
	defer flushEnd.Stop()
	// A handle that ends wakes the wait at once, not at the next poll
	// (a second on a Snowflake store): the final status's part of the
	// window is not spent waiting for a tick.
	ended := make(chan struct{}, 1)
	quit := make(chan struct{})
	defer close(quit)
	for _, g := range d.groups {
		if g.handle == nil || isDone(g.handle) {
			continue
		}
		go func(h Handle) {
			select {
			case <-h.Done():
				select {
				case ended <- struct{}{}:
				default:
				}
			case <-quit:
			}
		}(g.handle)
	}
	hurried := false
	for {
		if d.allStopped() {
			return true
		}
		if !hurried && d.run.hurried() {
			hurried = true
			d.hurryAll()
			deadline = time.Now().Add(time.Second)
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-tick.C:
		case <-ended:
		case <-flushEnd.C:
			d.hurryLocal()
		case <-d.run.hurryCh:
			if hurried {
				<-tick.C
			}
		}
		d.renew(time.Now()) // the grace periods may outlast the lease
	}
}

func (d *driveState) allStopped() bool {
	var hbs []store.Heartbeat
	read := false
	for _, g := range d.groups {
		if g.handle != nil && !g.owned() && !isDone(g.handle) {
			// Only workers started elsewhere are followed by heartbeat.
			read = d.write("heartbeats", func(ctx context.Context) error {
				var err error
				hbs, err = d.s.Store.ListHeartbeats(ctx, d.run.ID)
				return err
			})
			break
		}
	}
	timeout := d.spec.Control.HeartbeatTimeout.D()
	for gi, g := range d.groups {
		if g.handle == nil {
			continue
		}
		select {
		case <-g.handle.Done():
			continue
		default:
		}
		id := control.WorkerID(gi, g.attempt)
		// A worker started elsewhere that never heartbeated (nobody
		// started it) has nothing to stop.
		stopped := read && !g.owned()
		for _, h := range hbs {
			if h.WorkerID == id {
				stopped = !g.owned() && (h.Status == control.WorkerStopped || time.Since(h.LastSeen) > timeout)
			}
		}
		if !stopped {
			return false
		}
	}
	return true
}

// finishMeter has the meter add its sections to res, once: a retried
// final write gets the same sections again.
func (d *driveState) finishMeter(res *core.Result) {
	if d.meter != nil {
		if mw, ok := d.meter.(MeterWorkerWrites); ok {
			mw.WorkerWrites(d.workerWrites())
		}
		// Within the stop's window, as every other store or target call
		// of the run's end: a hung target or store cannot hold the exit.
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if !d.deadline.IsZero() {
			ctx, cancel = context.WithDeadline(ctx, d.deadline)
		}
		d.meter.Finish(ctx, res)
		cancel()
		d.base.Cost, d.base.Server = res.Cost, res.Server
		d.meter = nil
		return
	}
	if res.Cost == nil {
		res.Cost, res.Server = d.base.Cost, d.base.Server
	}
}

func (d *driveState) finishFailed(err error) {
	d.finish(core.StatusFailed, err.Error(), 0)
	close(d.run.done)
}

// finish computes the run's result and writes the final RUN_STATUS.
//
// The result is package rollup's merge of the snapshot rows the
// orchestrator holds itself — every row its workers sent over their local
// channels — and the stored rows it does not hold (workers elsewhere), so
// it never depends on the store: with the store down it is the same. The
// final RUN_STATUS is retried until the flush timeout has passed (once,
// briefly, while the store is known to be down, and not at all after a
// Hurry); then it goes to the spool, for `unistore runs recover`, and the
// result says so (Store.StatusSpooled).
func (d *driveState) finish(outcome core.Status, reason string, dropped int64) {
	ended := store.UTC(time.Now())
	phase, live, lost := core.PhaseDone, 0, d.stats.Lost
	d.base.Workers = d.stats
	d.base.Workers.Target = d.spec.Workers
	d.base.ConnectionsTarget = d.targets()
	d.base.RowsDropped = dropped
	run := store.Run{ID: d.run.ID, Name: d.spec.Name, Spec: d.run.Spec, Status: outcome, Outcome: reason,
		StartedAt: d.startedAt, EndedAt: ended, RowsDropped: dropped, WorkersTarget: d.spec.Workers}

	// What is left of the stop's window — the workers were told to spool
	// by flushBy, so that is statusReserve at least unless they were slow
	// to end — and one quick try only when the store was down a moment
	// ago; the whole flush timeout if no stop came first (a failed
	// start). attempt always makes one try, of at least a tenth of a
	// second (write).
	deadline := time.Now().Add(d.flushTimeout())
	if !d.stopBy.IsZero() {
		deadline = d.stopBy
		if quick := time.Now().Add(100 * time.Millisecond); d.out.down && quick.Before(deadline) {
			deadline = quick
		}
	}
	d.deadline = deadline
	attempt := func(what string, f func(ctx context.Context) error) bool {
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
			if d.run.hurried() {
				return false
			}
			if d.write(what, f) {
				return true
			}
			if time.Now().Add(backoff).After(deadline) {
				return false
			}
			time.Sleep(backoff)
		}
	}
	// Control events an outage held back go first, in order.
	if !d.run.hurried() {
		d.flushPending()
	}
	// Rows of workers without a local channel are only in the store.
	var stored []store.Snapshot
	lostIDs := d.lostWorkers()
	if !d.allLocal() || d.hasRetiredRemote() || len(lostIDs) > 0 {
		read := attempt("snapshots", func(ctx context.Context) error {
			var err error
			stored, err = d.s.Store.Snapshots(ctx, d.run.ID)
			return err
		})
		if read && len(lostIDs) > 0 {
			d.backfill(stored, lostIDs, attempt)
		}
	}
	res, err := rollup.Rollup(run, d.base, d.local.union(stored))
	if err != nil {
		// A row that does not decode: not the store's fault, and no
		// figures to give.
		d.log.Error("orchestrator: roll up the run", "run_id", d.run.ID, "err", err)
		res = &d.base
		res.RunID, res.Name, res.Status, res.Error = d.run.ID, d.spec.Name, outcome, reason
		d.run.err = fmt.Errorf("orchestrator: roll up run %s: %w", d.run.ID, err)
	}
	d.finishMeter(res) // cost and server figures, before the summary is written
	update := func(summary []byte) store.RunUpdate {
		return store.RunUpdate{Status: &outcome, Phase: &phase, EndedAt: &ended,
			WorkersLive: &live, WorkersLost: &lost, Outcome: &reason, Summary: summary, RowsDropped: &dropped}
	}
	summary, _ := json.Marshal(res)
	if !attempt("final run status", func(ctx context.Context) error {
		return d.s.Store.UpdateRun(ctx, d.run.ID, update(summary))
	}) {
		if res.Store == nil {
			res.Store = &core.StoreStats{}
		}
		sp := store.OpenSpool(d.s.SpoolDir, d.run.ID)
		res.Store.StatusSpooled, res.Store.SpoolDir = true, sp.Dir()
		summary, _ = json.Marshal(res)
		// The control writes still pending go with it: their events, and
		// their RUN_STATUS changes under the final one.
		var events []store.Event
		var u store.RunUpdate
		for _, p := range d.pending {
			if p.ev != nil {
				events = append(events, *p.ev)
			}
			if p.ru != nil {
				u = store.MergeRunUpdate(u, *p.ru)
			}
		}
		if err := sp.Status(d.run.ID, store.MergeRunUpdate(u, update(summary)), events...); err != nil {
			d.log.Error("orchestrator: could not record the run's outcome, nor spool it", "run_id", d.run.ID, "err", err)
			d.run.err = fmt.Errorf("orchestrator: record the outcome of run %s: %w", d.run.ID, err)
		}
	}
	if outcome == core.StatusFailed && d.run.err == nil {
		d.run.err = errors.New(reason)
	}
	d.run.res = res
}

// lostWorkers returns the ids of the workers that were lost (killed, or
// given up on) rather than stopped: every attempt but a group's current
// one, and the current one of a group given up on. Their last rows may
// have reached this orchestrator over the local channel but never the
// store (a worker killed with rows in its store buffer).
func (d *driveState) lostWorkers() map[string]bool {
	lost := map[string]bool{}
	for g, gr := range d.groups {
		if gr == nil {
			continue
		}
		for a := 0; a < gr.attempt; a++ {
			lost[control.WorkerID(g, a)] = true
		}
		if gr.dead {
			lost[control.WorkerID(g, gr.attempt)] = true
		}
	}
	return lost
}

// backfill stores the rows of lost workers that this orchestrator holds
// (they came over the local channel) and the store lacks, so that the
// stored rollup (`runs show`) equals the run's result. One batch with an
// id of its own (idempotent where the store has batch ids); a failure is
// logged and leaves the result as it is — the rows are in it either way.
func (d *driveState) backfill(stored []store.Snapshot, lost map[string]bool, attempt func(string, func(context.Context) error) bool) {
	missing := d.local.missing(stored, lost)
	if len(missing) == 0 {
		return
	}
	write := func(ctx context.Context) error { return d.s.Store.WriteSnapshots(ctx, missing) }
	if bw, ok := d.s.Store.(store.BatchWriter); ok {
		write = func(ctx context.Context) error {
			return bw.WriteSnapshotBatch(ctx, "orchestrator-backfill:"+d.run.ID, missing)
		}
	}
	if attempt("lost workers' snapshots", write) {
		d.log.Info("orchestrator: stored the lost workers' last snapshot rows it held", "run_id", d.run.ID, "rows", len(missing))
	} else {
		d.log.Warn("orchestrator: could not store the lost workers' last snapshot rows; the result has them, `runs show` will not",
			"run_id", d.run.ID, "rows", len(missing))
	}
}

// hasRetiredRemote reports whether a lost worker had no local channel.
func (d *driveState) hasRetiredRemote() bool {
	for _, g := range d.groups {
		for _, h := range g.retired {
			if _, ok := h.(LocalHandle); !ok {
				return true
			}
		}
	}
	return false
}
