package orchestrator_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/metrics"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
)

// TestLostWorkerRowsBackfilled: a worker that sent its last snapshot rows
// over the local channel and was lost before they reached the store (a
// kill -9 with rows in its store buffer) does not make the stored rollup
// differ from the run's result: the orchestrator stores the rows it holds
// for lost workers, so `runs show` prints what the run printed.
func TestLostWorkerRowsBackfilled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(store.NewMemory())
		const lostCount = 7
		l := &launcherFunc{}
		l.f = func(ctx context.Context, a orchestrator.Assignment) (orchestrator.Handle, error) {
			if a.Group == 1 && a.Attempt == 0 {
				h := metrics.NewHistogram()
				for range lostCount {
					h.RecordValue(1500)
				}
				enc, err := metrics.Encode(h)
				if err != nil {
					t.Fatal(err)
				}
				start := store.UTC(time.Now())
				// Over the local channel only: the worker dies before its
				// store writer flushes.
				a.Rows([]store.Snapshot{{RunID: a.RunID, WorkerID: a.WorkerID, Group: a.Group, IntervalStart: start,
					IntervalEnd: start.Add(500 * time.Millisecond), Phase: core.PhaseMeasurement, Operation: "op",
					Count: lostCount, Histogram: enc}})
				return hang(r.st, a, time.Second), nil
			}
			return r.inProcess().Launch(ctx, a)
		}
		run := r.start(t, testSpec(2, 0, 6*time.Second), l)
		res, err := run.Wait()
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if res.Workers.Lost != 1 {
			t.Fatalf("workers %+v, want 1 lost", res.Workers)
		}
		stored, err := rollup.Result(context.Background(), r.st, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Total.Count != res.Total.Count {
			t.Errorf("stored rollup counts %d, the run's result %d: the lost worker's rows held here were not stored",
				stored.Total.Count, res.Total.Count)
		}
		snaps, _ := r.st.Snapshots(context.Background(), run.ID)
		var lost int64
		for _, s := range snaps {
			if s.WorkerID == "worker-1" {
				lost += s.Count
			}
		}
		if lost != lostCount {
			t.Errorf("the store holds %d executions of the lost worker-1, want %d", lost, lostCount)
		}
	})
}
