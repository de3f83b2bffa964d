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
// them (in-process workers); ok is false otherwise.
func collect(h Handle) (core.StoreStats, bool) {
	s, ok := h.(StoreStatser)
	if !ok {
		return core.StoreStats{}, false
	}
	<-h.Done()
	return s.StoreStats(), true
}

func addStoreStats(a, b core.StoreStats) core.StoreStats {
	a.SnapshotsStored += b.SnapshotsStored
	a.SnapshotsDropped += b.SnapshotsDropped
	a.ExecutionsStored += b.ExecutionsStored
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

// stopAndFinish appends STOP, waits for the workers (a grace period, then
// SIGTERM, then SIGKILL), and writes the final RUN_STATUS with the rollup.
// now skips the grace (a cancel: stop at once).
func (d *driveState) stopAndFinish(outcome core.Status, reason string, now bool) {
	status := core.StatusStopping
	if !d.stopSeen {
		d.event(control.Stop())
	}
	d.update(store.RunUpdate{Status: &status})
	grace := d.s.StopGrace
	if grace <= 0 {
		grace = DefaultStopGrace
	}
	if now {
		d.signalAll(Handle.Terminate)
	}
	if !d.waitStopped(grace) {
		d.signalAll(Handle.Terminate)
		if !d.waitStopped(grace) {
			d.signalAll(Handle.Kill)
			d.waitStopped(grace)
		}
	}
	var dropped int64
	var stats core.StoreStats
	inProcess := true
	for _, g := range d.groups {
		hs := g.retired
		if g.handle != nil {
			hs = append(hs, g.handle)
		}
		for _, h := range hs {
			st, ok := collect(h)
			inProcess = inProcess && ok
			stats = addStoreStats(stats, st)
		}
	}
	// Each worker's last heartbeat carries its dropped-row count.
	d.write("heartbeats", func(ctx context.Context) error {
		hbs, err := d.s.Store.ListHeartbeats(ctx, d.run.ID)
		for _, h := range hbs {
			dropped += h.RowsDropped
		}
		return err
	})
	if inProcess {
		dropped = stats.SnapshotsDropped + stats.ExecutionsDropped
		d.base.Store = &stats
	} else {
		// Workers in other processes report only their dropped total (in
		// their heartbeats): what was stored is read back from the store.
		stats = core.StoreStats{}
		d.write("stored rows", func(ctx context.Context) error {
			snaps, err := d.s.Store.Snapshots(ctx, d.run.ID)
			if err != nil {
				return err
			}
			n, err := d.s.Store.CountExecutions(ctx, d.run.ID)
			stats.SnapshotsStored, stats.ExecutionsStored = int64(len(snaps)), n
			return err
		})
		d.base.Store = &stats
	}
	d.finish(outcome, reason, dropped)
}

func (d *driveState) signalAll(sig func(Handle)) {
	for _, g := range d.groups {
		if g.handle != nil {
			sig(g.handle)
		}
	}
}

// waitStopped waits up to limit for every worker to have stopped: its
// handle ended, or (for a worker the launcher does not own, started by
// hand elsewhere) its heartbeat says STOPPED or has gone silent.
func (d *driveState) waitStopped(limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(d.spec.Control.Poll.D())
	defer tick.Stop()
	for {
		if d.allStopped() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
		d.renew(time.Now()) // the grace periods may outlast the lease
	}
}

func (d *driveState) allStopped() bool {
	var hbs []store.Heartbeat
	read := d.write("heartbeats", func(ctx context.Context) error {
		var err error
		hbs, err = d.s.Store.ListHeartbeats(ctx, d.run.ID)
		return err
	})
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
		d.meter.Finish(res)
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

// finish rolls the snapshots up and writes the final RUN_STATUS, retrying
// for a while: a store that was down may be back.
func (d *driveState) finish(outcome core.Status, reason string, dropped int64) {
	ended := time.Now().UTC().Truncate(time.Microsecond)
	phase, live, lost := core.PhaseDone, 0, d.stats.Lost
	d.base.Workers = d.stats
	d.base.Workers.Target = d.spec.Workers
	d.base.ConnectionsTarget = d.targets()
	var res *core.Result
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 2*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = func() error {
			run, err := d.s.Store.GetRun(ctx, d.run.ID)
			if err != nil {
				return err
			}
			run.Status, run.Outcome, run.EndedAt, run.RowsDropped = outcome, reason, ended, dropped
			rows, err := d.s.Store.Snapshots(ctx, d.run.ID)
			if err != nil {
				return err
			}
			if res, err = rollup.Rollup(run, d.base, rows); err != nil {
				return err
			}
			d.finishMeter(res)
			summary, _ := json.Marshal(res)
			return d.s.Store.UpdateRun(ctx, d.run.ID, store.RunUpdate{Status: &outcome, Phase: &phase, EndedAt: &ended,
				WorkersLive: &live, WorkersLost: &lost, Outcome: &reason, Summary: summary, RowsDropped: &dropped})
		}()
		cancel()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(backoff)
	}
	if d.meter != nil { // never reached the rollup: release the meter
		d.meter.Finish(&core.Result{})
		d.meter = nil
	}
	if err != nil {
		d.log.Error("orchestrator: could not record the run's outcome", "run_id", d.run.ID, "err", err)
		if res == nil {
			res = &d.base
			res.RunID, res.Status, res.Error = d.run.ID, outcome, reason
		}
		d.run.err = fmt.Errorf("orchestrator: record the outcome of run %s: %w", d.run.ID, err)
	}
	if outcome == core.StatusFailed && d.run.err == nil {
		d.run.err = errors.New(reason)
	}
	d.run.res = res
}
