package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/store"
)

// OfferBatch from many producers, beside Offer: every row is stored once,
// the invariant holds, and Close drains what is staged.
func TestWriterOfferBatch(t *testing.T) {
	var stored atomic.Int64
	var mu sync.Mutex
	seen := map[int]int{}
	w := store.NewWriter(func(ctx context.Context, rows []int) error {
		mu.Lock()
		for _, r := range rows {
			seen[r]++
		}
		mu.Unlock()
		stored.Add(int64(len(rows)))
		return nil
	}, store.WriterConfig{Buffer: 1 << 20, BatchSize: 100, FlushInterval: time.Hour})
	var wg sync.WaitGroup
	for p := range 8 {
		wg.Go(func() {
			batch := make([]int, 0, 37)
			for i := range 10_000 {
				id := p*1_000_000 + i
				if p == 0 {
					w.Offer(id)
					continue
				}
				batch = append(batch, id)
				if len(batch) == cap(batch) {
					if n := w.OfferBatch(batch); n != len(batch) {
						t.Errorf("OfferBatch took %d of %d", n, len(batch))
					}
					batch = batch[:0]
				}
			}
			w.OfferBatch(batch)
		})
	}
	wg.Wait()
	// FlushInterval is an hour: Close must drain both queues.
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	checkInvariant(t, s)
	if s.Produced != 80_000 || s.Stored != 80_000 || stored.Load() != 80_000 || len(seen) != 80_000 {
		t.Errorf("stats %+v, flush saw %d rows, %d distinct; want 80000", s, stored.Load(), len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("row %d stored %d times", id, n)
		}
	}
}

// OfferBatch never blocks: with the store stuck it keeps at most Buffer
// rows and drops the rest, counted.
func TestWriterOfferBatchFull(t *testing.T) {
	blocked := make(chan struct{})
	var once sync.Once
	w := store.NewWriter(func(ctx context.Context, rows []int) error {
		once.Do(func() { close(blocked) })
		<-ctx.Done()
		return ctx.Err()
	}, store.WriterConfig{Buffer: 100, BatchSize: 10, FlushTimeout: time.Hour})
	w.OfferBatch(make([]int, 10)) // a batch: kicks the writer, which hangs in flush
	<-blocked
	took := 0
	for range 1000 {
		took += w.OfferBatch(make([]int, 7))
	}
	if took != 100 {
		t.Errorf("took %d rows into a 100-row buffer", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); !errors.Is(err, store.ErrDropped) {
		t.Errorf("Close: %v, want ErrDropped", err)
	}
	s := w.Stats()
	checkInvariant(t, s)
	if s.Produced != 7010 || s.Dropped != 7010 {
		t.Errorf("stats %+v: want 7010 produced, all dropped (the store never answered)", s)
	}
	if w.OfferBatch([]int{1}) != 0 {
		t.Error("OfferBatch after Close took a row")
	}
}

// A kick (a batch waiting) stores whole batches only: the odd rows stay
// queued until they make a batch, a tick or Close, so a store is not sent
// a small batch — a transaction of its own — after every full one.
func TestWriterKickStoresWholeBatches(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	flushed := make(chan struct{}, 4)
	w := store.NewWriter(func(ctx context.Context, rows []int) error {
		mu.Lock()
		sizes = append(sizes, len(rows))
		mu.Unlock()
		flushed <- struct{}{}
		return nil
	}, store.WriterConfig{Buffer: 1000, BatchSize: 10, FlushInterval: time.Hour})
	batch := make([]int, 15)
	w.OfferBatch(batch) // 15 queued: a kick
	<-flushed           // the whole batch of 10; 5 stay
	w.OfferBatch(batch[:5])
	<-flushed // 10 again
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 2 || sizes[0] != 10 || sizes[1] != 10 {
		t.Errorf("batches %v, want [10 10]", sizes)
	}
	if s := w.Stats(); s.Stored != 20 || s.Produced != 20 {
		t.Errorf("stats %+v, want 20 produced and stored", s)
	}
}
