package store_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/store"
)

func checkInvariant(t *testing.T, s store.WriterStats) {
	t.Helper()
	if s.Stored+s.Spooled+s.Dropped != s.Produced {
		t.Errorf("stored %d + spooled %d + dropped %d != produced %d", s.Stored, s.Spooled, s.Dropped, s.Produced)
	}
}

// A store that fails for a while, then recovers: rows offered after the
// recovery are all stored, rows accepted during the outage too (the
// failed batch is retried), the overflow is dropped and counted.
func TestWriterRecoversAfterFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		recoverAt := start.Add(3 * time.Second)
		var mu sync.Mutex
		stored := map[int]bool{}
		flush := func(ctx context.Context, rows []int) error {
			if time.Now().Before(recoverAt) {
				return errors.New("connection refused")
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rows {
				if stored[r] {
					t.Errorf("row %d stored twice", r)
				}
				stored[r] = true
			}
			return nil
		}
		var onErr atomic.Int64
		const maxBackoff = 800 * time.Millisecond
		w := store.NewWriter(flush, store.WriterConfig{Buffer: 1000, BatchSize: 50, FlushInterval: 100 * time.Millisecond,
			MinBackoff: 50 * time.Millisecond, MaxBackoff: maxBackoff, OnError: func(error) { onErr.Add(1) }})

		// 1000 rows/s for 6 s: the 3 s outage overflows the 1000-row buffer.
		var accepted []int
		settled := recoverAt.Add(maxBackoff + 200*time.Millisecond)
		id := 0
		for time.Since(start) < 6*time.Second {
			for range 10 {
				id++
				ok := w.Offer(id)
				if ok {
					accepted = append(accepted, id)
				} else if time.Now().After(settled) {
					t.Errorf("row %d dropped %v after recovery", id, time.Since(recoverAt))
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := w.Close(context.Background()); !errors.Is(err, store.ErrDropped) {
			t.Errorf("Close: got %v, want ErrDropped (the outage overflowed the buffer)", err)
		}
		s := w.Stats()
		checkInvariant(t, s)
		if s.Produced != int64(id) || s.Dropped == 0 || s.Failures == 0 || s.LastError == nil || onErr.Load() != s.Failures {
			t.Errorf("stats %+v (OnError called %d times), want %d produced, some dropped, failures reported", s, onErr.Load(), id)
		}
		if s.Stored != int64(len(accepted)) || len(stored) != len(accepted) {
			t.Errorf("stored %d (flush saw %d), want every accepted row: %d", s.Stored, len(stored), len(accepted))
		}
		for _, r := range accepted {
			if !stored[r] {
				t.Fatalf("accepted row %d never stored", r)
			}
		}
		t.Logf("%+v", s)
	})
}

// Backoff grows from MinBackoff and never exceeds MaxBackoff.
func TestWriterBackoffCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var attempts []time.Time
		fail := func(ctx context.Context, rows []int) error {
			attempts = append(attempts, time.Now())
			return errors.New("down")
		}
		w := store.NewWriter(fail, store.WriterConfig{BatchSize: 1, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
		w.Offer(1)
		time.Sleep(30 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := w.Close(ctx); !errors.Is(err, store.ErrDropped) {
			t.Errorf("Close: %v, want ErrDropped", err)
		}
		checkInvariant(t, w.Stats())
		if len(attempts) < 20 {
			t.Fatalf("%d attempts in 30 s", len(attempts))
		}
		for i := 1; i < len(attempts); i++ {
			if gap := attempts[i].Sub(attempts[i-1]); gap > time.Second {
				t.Errorf("gap %d: %v > MaxBackoff", i, gap)
			}
		}
		if first := attempts[1].Sub(attempts[0]); first > 100*time.Millisecond {
			t.Errorf("first backoff %v > MinBackoff", first)
		}
		if late := attempts[len(attempts)-1].Sub(attempts[len(attempts)-2]); late < 500*time.Millisecond {
			t.Errorf("late backoff %v did not grow towards MaxBackoff", late)
		}
	})
}

// A full buffer drops and counts; Offer never waits for the store.
func TestWriterFullBufferDropsWithoutBlocking(t *testing.T) {
	blocked := make(chan struct{})
	var once sync.Once
	stuck := func(ctx context.Context, rows []int) error {
		once.Do(func() { close(blocked) })
		<-ctx.Done() // a store that never answers
		return ctx.Err()
	}
	w := store.NewWriter(stuck, store.WriterConfig{Buffer: 100, BatchSize: 10, FlushTimeout: time.Hour})
	for i := range 10 {
		w.Offer(i) // fills the first batch, which hangs in flush
	}
	<-blocked
	// The store never answers, so Offer can only return by not waiting
	// for it: that these 200,000 calls end at all is the proof (a blocking
	// Offer would hang the test until its timeout). Timing them would only
	// measure the machine.
	const n = 200_000
	accepted := 0
	for i := range n {
		if w.Offer(i) {
			accepted++
		}
	}
	if accepted != 100 {
		t.Errorf("accepted %d rows into a 100-row buffer", accepted)
	}
	s := w.Stats()
	if s.Dropped != n-100 || s.Produced != n+10 || s.Stored != 0 {
		t.Errorf("stats %+v, want %d dropped of %d", s, n-100, n+10)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); !errors.Is(err, store.ErrDropped) {
		t.Errorf("Close: got %v, want ErrDropped", err)
	}
	s = w.Stats()
	checkInvariant(t, s)
	if s.Dropped != n+10 {
		t.Errorf("after Close: dropped %d, want all %d (the store never answered)", s.Dropped, n+10)
	}
	// After Close, Offer drops at once.
	if w.Offer(1) {
		t.Error("Offer after Close accepted a row")
	}
	checkInvariant(t, w.Stats())
	if err := w.Close(context.Background()); !errors.Is(err, store.ErrDropped) {
		t.Errorf("second Close: %v", err)
	}
}

// Many producers at once (run with -race); the invariant holds at every
// moment and after Close.
func TestWriterConcurrentProducers(t *testing.T) {
	var stored atomic.Int64
	w := store.NewWriter(func(ctx context.Context, rows []int) error {
		stored.Add(int64(len(rows)))
		return nil
	}, store.WriterConfig{Buffer: 64, BatchSize: 16, FlushInterval: time.Millisecond})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 20000 {
				w.Offer(i)
				if i%1000 == 0 {
					if s := w.Stats(); s.Stored+s.Dropped > s.Produced {
						t.Errorf("mid-run: stored %d + dropped %d > produced %d", s.Stored, s.Dropped, s.Produced)
					}
				}
			}
		})
	}
	wg.Wait()
	_ = w.Close(context.Background())
	s := w.Stats()
	checkInvariant(t, s)
	if s.Produced != 8*20000 || s.Stored != stored.Load() {
		t.Errorf("stats %+v, flush saw %d", s, stored.Load())
	}
}

// Close ends the writer's goroutine, whether it drains cleanly or its
// context cuts a failing flush short.
func TestWriterNoGoroutineLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	var writers []*store.Writer[int]
	for i := range 20 {
		flush := func(ctx context.Context, rows []int) error { return nil }
		if i%2 == 1 {
			flush = func(ctx context.Context, rows []int) error {
				<-ctx.Done()
				return ctx.Err()
			}
		}
		w := store.NewWriter(flush, store.WriterConfig{BatchSize: 5, FlushInterval: time.Millisecond})
		for j := range 100 {
			w.Offer(j)
		}
		writers = append(writers, w)
	}
	for _, w := range writers {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_ = w.Close(ctx)
		cancel()
		checkInvariant(t, w.Stats())
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With synctest, the bubble itself proves the goroutine ends: Test fails if
// any goroutine it started is still blocked when the function returns.
func TestWriterCloseEndsGoroutineSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := store.NewWriter(func(ctx context.Context, rows []string) error { return nil }, store.WriterConfig{})
		w.Offer("a")
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if s := w.Stats(); s.Stored != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestNewWriterNilFlushPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	store.NewWriter[int](nil, store.WriterConfig{})
}
