package orchestrator

// This file keeps the run's own copy of every snapshot row, from the
// workers' local channels, and the outage bookkeeping of the store: the
// run's result never depends on the store.

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// LocalHandle is implemented by handles with a local channel to their
// worker (InProcess, Subprocess): commands reach the worker over it
// beside the store's control events, so STOP and phase changes arrive
// whatever the store does.
type LocalHandle interface {
	// Command sends c to the worker; it never blocks for long.
	Command(c control.Command)
	// Hurry tells a stopping worker to spool what it has not stored now
	// instead of waiting out its flush timeout (control.LocalHurry).
	Hurry()
}

// StoreStatsKnower is implemented by handles whose StoreStats are known
// only once the worker reported them (a worker process, over its local
// channel, just before it exits).
type StoreStatsKnower interface {
	StoreStatsKnown() bool
}

// WritesReporter is implemented by handles whose worker reports its own
// control-plane writes (a worker process, over its local channel, just
// before it exits): ok is false until it has. The run's cost counts them
// (MeterWorkerWrites); a worker that reported none has its heartbeats
// estimated.
type WritesReporter interface {
	ControlWrites() (workerID string, w control.Writes, ok bool)
}

// rowKey identifies a snapshot row: one worker, interval, phase and
// operation. The interval's end is part of it: two cuts in the same
// microsecond (a phase change on a tick) make an empty-length interval and
// the next one with the same start.
type rowKey struct {
	worker     string
	start, end time.Time
	phase      core.Phase
	operation  string
}

func keyOf(r *store.Snapshot) rowKey {
	return rowKey{r.WorkerID, r.IntervalStart, r.IntervalEnd, r.Phase, r.Operation}
}

// localRows holds every snapshot row the run's workers sent over their
// local channels, as the store would hold them (UTC, microseconds), so
// that a rollup of them equals the store's rollup of the same rows. It is
// fed from worker goroutines and read by the run's goroutine.
type localRows struct {
	mu   sync.Mutex
	rows []store.Snapshot
	seen map[rowKey]bool
}

func newLocalRows() *localRows { return &localRows{seen: map[rowKey]bool{}} }

// add keeps rows (copied); a row seen before is ignored.
func (l *localRows) add(rows []store.Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range rows {
		r.IntervalStart, r.IntervalEnd = store.UTC(r.IntervalStart), store.UTC(r.IntervalEnd)
		k := keyOf(&r)
		if l.seen[k] {
			continue
		}
		l.seen[k] = true
		l.rows = append(l.rows, r)
	}
}

// since returns a copy of the rows whose interval ended after t.
func (l *localRows) since(t time.Time) []store.Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []store.Snapshot
	for _, r := range l.rows {
		if r.IntervalEnd.After(t) {
			out = append(out, r)
		}
	}
	return out
}

// missing returns the local rows of the workers in of that stored lacks.
func (l *localRows) missing(stored []store.Snapshot, of map[string]bool) []store.Snapshot {
	have := make(map[rowKey]bool, len(stored))
	for i := range stored {
		have[keyOf(&stored[i])] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []store.Snapshot
	for i := range l.rows {
		if of[l.rows[i].WorkerID] && !have[keyOf(&l.rows[i])] {
			out = append(out, l.rows[i])
		}
	}
	return out
}

// recentRows returns the run's snapshot rows since t: the ones the
// workers sent here when every worker has a local channel — so the live
// line and the steady-state check go on while the store is down — else
// the store's (a failed read is false: logged once by write).
func (d *driveState) recentRows(what string, t time.Time) ([]store.Snapshot, bool) {
	if d.allLocal() {
		return d.local.since(t), true
	}
	var rows []store.Snapshot
	ok := d.write(what, func(ctx context.Context) error {
		var err error
		rows, err = d.s.Store.SnapshotsSince(ctx, d.run.ID, t)
		return err
	})
	return rows, ok
}

// union returns the local rows and those of stored that are not among
// them (rows of workers without a local channel, or that a broken channel
// did not carry), ordered as the store orders them.
func (l *localRows) union(stored []store.Snapshot) []store.Snapshot {
	l.mu.Lock()
	out := slices.Clone(l.rows)
	for i := range stored {
		if !l.seen[keyOf(&stored[i])] {
			out = append(out, stored[i])
		}
	}
	l.mu.Unlock()
	slices.SortStableFunc(out, func(a, b store.Snapshot) int {
		return cmp.Or(a.IntervalStart.Compare(b.IntervalStart), cmp.Compare(a.WorkerID, b.WorkerID),
			cmp.Compare(a.Phase, b.Phase), cmp.Compare(a.Operation, b.Operation))
	})
	return out
}

// outage follows the store's availability as the orchestrator's writes
// see it, and says so twice per outage: one warning when writes start to
// fail and one when they succeed again, with counts — not one line per
// failed write.
type outage struct {
	log   *slog.Logger
	runID string
	down  bool
	since time.Time
	fails int
}

func (o *outage) observe(what string, err error) {
	switch {
	case err != nil && !o.down:
		o.down, o.since, o.fails = true, time.Now(), 1
		o.log.Warn("orchestrator: results store unreachable; the run goes on, its result is kept here and unstored rows are spooled",
			"run_id", o.runID, "write", what, "err", err)
	case err != nil:
		o.fails++
	case o.down:
		o.log.Warn("orchestrator: results store reachable again", "run_id", o.runID,
			"down_for", time.Since(o.since).Round(time.Millisecond), "failed_writes", o.fails)
		o.down = false
	}
}

// workerWrites collects what the run's worker handles, current and
// retired, know of their workers' own control-plane writes.
func (d *driveState) workerWrites() WorkerWrites {
	var ww WorkerWrites
	for _, g := range d.groups {
		if g == nil {
			continue
		}
		for _, h := range append(slices.Clip(g.retired), g.handle) {
			switch h := h.(type) {
			case *inProcess:
				ww.Counted = append(ww.Counted, h.id)
			case WritesReporter:
				if id, w, ok := h.ControlWrites(); ok {
					ww.Reported = ww.Reported.Add(w)
					ww.Counted = append(ww.Counted, id)
				}
			}
		}
	}
	return ww
}
