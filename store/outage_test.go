package store_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/store"
)

// The store goes down for ~3 s while executions stream through a Writer:
// the writer retries, recovers, and every row it counts as stored is in the
// table exactly once.
func TestStoreOutageWriterRecovers(t *testing.T) {
	pg := testpg.StartPrivate(t)
	ctx := ctxT(t)
	if err := store.ApplySchema(ctx, pg.DSN); err != nil {
		t.Fatal(err)
	}
	st := open(t, pg.DSN)
	var failures atomic.Int64
	w := store.NewWriter(st.WriteExecutions, store.WriterConfig{
		Buffer: 100_000, BatchSize: 500, FlushInterval: 50 * time.Millisecond, FlushTimeout: 3 * time.Second,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
		OnError: func(error) { failures.Add(1) },
	})

	// ~4000 rows/s, each numbered in RowsAffected.
	var seq atomic.Int64
	stop := make(chan struct{})
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for range 20 {
				n := seq.Add(1)
				now := time.Now()
				w.Offer(store.Execution{RunID: "outage", WorkerID: "worker-0", Connection: int(n % 4), Operation: "get",
					Phase: core.PhaseMeasurement, StartedAt: now, EndedAt: now.Add(time.Millisecond), OK: true, RowsAffected: n})
			}
		}
	}()

	time.Sleep(time.Second)
	storedBefore := w.Stats().Stored
	pg.Stop()
	t.Logf("store stopped: %d rows stored before", storedBefore)
	time.Sleep(3 * time.Second)
	pg.Start()
	restartSeq := seq.Load()
	t.Logf("store started: %d rows produced so far, %d flush failures", restartSeq, failures.Load())

	// Recovery: rows produced after the restart reach the table.
	deadline := time.Now().Add(15 * time.Second)
	for w.Stats().Stored <= restartSeq {
		if time.Now().After(deadline) {
			t.Fatalf("writer did not recover: %+v", w.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	<-produced
	if err := w.Close(ctx); err != nil {
		t.Logf("Close: %v", err)
	}
	s := w.Stats()
	t.Logf("writer: %+v", s)
	checkInvariant(t, s)
	if s.Failures == 0 {
		t.Error("no flush failed: the outage was not seen")
	}
	inTable := testpg.QueryInt(t, pg.DSN, `SELECT COUNT(*) FROM test_results.query_executions`)
	distinct := testpg.QueryInt(t, pg.DSN, `SELECT COUNT(DISTINCT rows_affected) FROM test_results.query_executions`)
	if inTable != s.Stored || distinct != inTable {
		t.Errorf("table holds %d rows (%d distinct), writer stored %d", inTable, distinct, s.Stored)
	}
	after := testpg.QueryInt(t, pg.DSN, `SELECT COUNT(*) FROM test_results.query_executions WHERE rows_affected > $1`, restartSeq)
	if want := s.Produced - restartSeq; after != want || want == 0 {
		t.Errorf("rows produced after the restart: %d in the table, want all %d", after, want)
	}
	if s.Dropped != 0 {
		t.Errorf("dropped %d rows with a buffer large enough for the outage", s.Dropped)
	}
}
