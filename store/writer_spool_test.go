package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/store"
)

// spoolRec records what a writer spooled, by batch id.
type spoolRec struct {
	mu   sync.Mutex
	rows map[string][]int
	fail bool
}

func (s *spoolRec) spool(id string, rows []int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("no space left on device")
	}
	if s.rows == nil {
		s.rows = map[string][]int{}
	}
	if _, dup := s.rows[id]; dup {
		return errors.New("batch id " + id + " spooled twice")
	}
	s.rows[id] = slices.Clone(rows)
	return nil
}

func (s *spoolRec) count() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.rows {
		n += len(r)
	}
	return int64(n)
}

var errDown = errors.New("connection refused")

// The store is down when the writer closes: what it holds is spooled by
// the end of Close's context, never dropped, and the counts add up.
func TestWriterSpoolsAtClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ids []string
		var mu sync.Mutex
		flush := func(ctx context.Context, id string, rows []int) error {
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
			return errDown
		}
		var sp spoolRec
		w := store.NewBatchWriter(flush, sp.spool, store.WriterConfig{BatchSize: 10, BatchPrefix: "worker-0/s"})
		for i := range 95 {
			w.Offer(i)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		if err := w.Close(ctx); err != nil {
			t.Errorf("Close: %v (nothing was dropped)", err)
		}
		if took := time.Since(start); took > 2*time.Second+time.Millisecond {
			t.Errorf("Close took %v, its context %v", took, 2*time.Second)
		}
		s := w.Stats()
		checkInvariant(t, s)
		if s.Spooled != 95 || s.Dropped != 0 || s.Stored != 0 || sp.count() != 95 {
			t.Errorf("stats %+v, spool holds %d; want all 95 spooled", s, sp.count())
		}
		// The retries of one batch kept its id; the spool has them.
		mu.Lock()
		defer mu.Unlock()
		if len(ids) < 2 || ids[0] != ids[1] {
			t.Errorf("flush ids %v: a retried batch must keep its id", ids)
		}
		if _, ok := sp.rows[ids[0]]; !ok {
			t.Errorf("the retried batch %s is not in the spool under its id (spool: %d batches)", ids[0], len(sp.rows))
		}
	})
}

// An outage longer than SpoolAfter moves rows to the spool while the
// producer goes on — the buffer never fills, nothing is dropped — and one
// OnOutage call marks its start and one its end.
func TestWriterSpoolsDuringLongOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		back := start.Add(5 * time.Second)
		var stored int64
		var mu sync.Mutex
		flush := func(ctx context.Context, id string, rows []int) error {
			if time.Now().Before(back) {
				return errDown
			}
			mu.Lock()
			stored += int64(len(rows))
			mu.Unlock()
			return nil
		}
		var sp spoolRec
		var downs, ups int
		w := store.NewBatchWriter(flush, sp.spool, store.WriterConfig{Buffer: 300, BatchSize: 50, FlushInterval: 100 * time.Millisecond,
			MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond, SpoolAfter: time.Second,
			OnOutage: func(down bool, s store.WriterStats, err error) {
				if down {
					downs++
				} else {
					ups++
				}
			}})
		// 1000 rows/s for 7 s; the buffer holds 0.3 s of them.
		for n := 0; time.Since(start) < 7*time.Second; n++ {
			for i := range 10 {
				w.Offer(n*10 + i)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := w.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		s := w.Stats()
		checkInvariant(t, s)
		t.Logf("stats %+v", s)
		if s.Dropped != 0 {
			t.Errorf("%d rows dropped during an outage longer than SpoolAfter, want 0", s.Dropped)
		}
		if s.Spooled == 0 || s.Spooled != sp.count() || s.Stored == 0 {
			t.Errorf("stats %+v, spool %d: want rows spooled during the outage and stored after it", s, sp.count())
		}
		if downs != 1 || ups != 1 {
			t.Errorf("OnOutage: %d down, %d up; want one each", downs, ups)
		}
	})
}

// A spool that fails (the disk is full) drops, and says so.
func TestWriterSpoolFailureDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sp := spoolRec{fail: true}
		w := store.NewBatchWriter(func(context.Context, string, []int) error { return errDown }, sp.spool, store.WriterConfig{})
		w.Offer(1)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := w.Close(ctx)
		if !errors.Is(err, store.ErrDropped) {
			t.Errorf("Close: %v, want ErrDropped", err)
		}
		if s := w.Stats(); s.Dropped != 1 || s.Spooled != 0 || s.LastError == nil {
			t.Errorf("stats %+v", s)
		}
	})
}

// A store that hangs (each attempt waits out FlushTimeout) while the
// producer fills the buffer: what is queued goes to the spool before the
// buffer overflows, even while an attempt is in flight.
func TestWriterSpoolsWhileAttemptHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := func(ctx context.Context, id string, rows []int) error {
			<-ctx.Done()
			return ctx.Err()
		}
		var sp spoolRec
		w := store.NewBatchWriter(hang, sp.spool, store.WriterConfig{Buffer: 200, BatchSize: 20, FlushInterval: 50 * time.Millisecond,
			FlushTimeout: 3 * time.Second, SpoolAfter: 10 * time.Second})
		start := time.Now()
		for n := 0; time.Since(start) < 4*time.Second; n++ {
			for i := range 5 {
				w.Offer(n*5 + i)
			}
			time.Sleep(10 * time.Millisecond) // 500 rows/s: the buffer lasts 0.4 s
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = w.Close(ctx)
		s := w.Stats()
		checkInvariant(t, s)
		if s.Dropped != 0 || s.Spooled != s.Produced {
			t.Errorf("stats %+v: want every row spooled, none dropped", s)
		}
	})
}
