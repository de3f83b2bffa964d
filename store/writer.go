package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Writer defaults.
const (
	DefaultWriterBuffer    = 1 << 18
	DefaultWriterBatch     = 2000
	DefaultFlushInterval   = time.Second
	DefaultFlushTimeout    = 30 * time.Second
	DefaultMinBackoff      = 100 * time.Millisecond
	DefaultMaxBackoff      = 10 * time.Second
	defaultBackoffMultiple = 2
)

// ErrDropped is matched by Close's error when rows were dropped.
var ErrDropped = errors.New("store: rows dropped")

// WriterConfig tunes a Writer. Zero fields take the defaults above.
type WriterConfig struct {
	// Buffer is how many rows may wait for the writer goroutine; an Offer
	// that finds it full drops its row.
	Buffer int
	// BatchSize is the most rows one flush gets; a full batch flushes at once.
	BatchSize int
	// FlushInterval flushes a partial batch this long after the last flush.
	FlushInterval time.Duration
	// FlushTimeout bounds one flush attempt.
	FlushTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts after a
	// failed flush: it starts at MinBackoff and doubles up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// OnError, if set, is called from the writer goroutine after each
	// failed attempt (for logging); it must not block.
	OnError func(err error)
}

func (c WriterConfig) withDefaults() WriterConfig {
	if c.Buffer <= 0 {
		c.Buffer = DefaultWriterBuffer
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultWriterBatch
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.FlushTimeout <= 0 {
		c.FlushTimeout = DefaultFlushTimeout
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	return c
}

// WriterStats are a Writer's counters. At any moment
// Stored + Dropped <= Produced; after Close they are equal.
type WriterStats struct {
	Produced int64 // rows offered
	Stored   int64 // rows a flush stored
	Dropped  int64 // rows offered to a full buffer or after Close, or unstored when Close's context ended
	Failures int64 // failed flush attempts
	// LastError is the last failed attempt's error, nil if none.
	LastError error
}

// Writer moves rows from many producers to a store in batches without ever
// blocking a producer. Offer puts a row in a bounded buffer or, if it is
// full, drops and counts it. One background goroutine, started by
// NewWriter, flushes batches of up to BatchSize rows, when a batch fills or
// every FlushInterval; a failed flush is retried with capped exponential
// backoff while new rows keep filling the buffer (and, once it is full,
// being dropped). Rows are stored in batches atomically, at least once: a
// flush whose commit succeeded but whose answer was lost is retried.
//
// The goroutine ends in Close: after it has flushed every buffered row, or
// when Close's context ends (it then counts the unstored rows as dropped).
// A Writer that is never closed keeps its goroutine.
type Writer[T any] struct {
	flush func(ctx context.Context, rows []T) error
	cfg   WriterConfig

	mu     sync.RWMutex // Offer holds it shared while sending; Close takes it to set closed
	closed bool
	ch     chan T

	// staged holds the rows of OfferBatch (at most Buffer) until the
	// goroutine swaps it with spare, its emptied last take.
	smu    sync.Mutex
	staged []T
	spare  []T

	kick      chan struct{} // Offer's signal that a batch is waiting (cap 1)
	closing   chan struct{} // closed by Close
	done      chan struct{} // closed when the goroutine ends
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once

	produced, stored, dropped, failures atomic.Int64
	lastErr                             atomic.Pointer[error]
}

// NewWriter starts a writer that stores batches with flush, e.g.
// NewWriter(st.WriteExecutions, cfg). flush is called from one goroutine at
// a time, must honour its context, and must not keep rows after it
// returns (the slice is reused). Call Close to end it.
func NewWriter[T any](flush func(ctx context.Context, rows []T) error, cfg WriterConfig) *Writer[T] {
	if flush == nil {
		panic("store: NewWriter: nil flush func")
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer[T]{
		flush:   flush,
		cfg:     cfg,
		ch:      make(chan T, cfg.Buffer),
		kick:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
	}
	go w.run()
	return w
}

// Offer hands row to the writer without blocking. It returns false if the
// row was dropped: the buffer was full or the writer is closed.
func (w *Writer[T]) Offer(row T) bool {
	w.produced.Add(1)
	w.mu.RLock()
	if !w.closed {
		select {
		case w.ch <- row:
			w.mu.RUnlock()
			// The writer goroutine does not wait on ch, so a send wakes
			// nothing; it is woken once a batch is waiting.
			if len(w.ch) >= w.cfg.BatchSize {
				select {
				case w.kick <- struct{}{}:
				default:
				}
			}
			return true
		default:
		}
	}
	w.mu.RUnlock()
	w.dropped.Add(1)
	return false
}

// OfferBatch hands rows to the writer without blocking, copying them: the
// caller keeps rows. It is Offer for a producer that gathers its rows
// (a worker's loop): one lock and one copy per batch instead of a channel
// send per row. Rows beyond what the buffer takes are dropped and counted.
// It returns how many rows it took. OfferBatch's buffer is apart from
// Offer's: each holds up to Buffer rows.
func (w *Writer[T]) OfferBatch(rows []T) int {
	n := len(rows)
	if n == 0 {
		return 0
	}
	w.produced.Add(int64(n))
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.Add(int64(n))
		return 0
	}
	w.smu.Lock()
	take := min(n, w.cfg.Buffer-len(w.staged))
	w.staged = append(w.staged, rows[:take]...)
	waiting := len(w.staged)
	w.smu.Unlock()
	if take < n {
		w.dropped.Add(int64(n - take))
	}
	if waiting >= w.cfg.BatchSize {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return take
}

// Stats returns the counters.
func (w *Writer[T]) Stats() WriterStats {
	s := WriterStats{
		// Read Produced last so that Stored + Dropped <= Produced holds in
		// the snapshot too.
		Stored:   w.stored.Load(),
		Dropped:  w.dropped.Load(),
		Failures: w.failures.Load(),
	}
	s.Produced = w.produced.Load()
	if p := w.lastErr.Load(); p != nil {
		s.LastError = *p
	}
	return s
}

// Close stops accepting rows (later Offers drop), flushes what is
// buffered — retrying failures — and returns when that is done or ctx
// ends, whichever is first; rows still unstored then are dropped. After
// Close, Stored + Dropped == Produced and the goroutine has ended. The
// error matches ErrDropped if any row was dropped over the writer's life.
// Close may be called more than once.
func (w *Writer[T]) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.closing)
	})
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel() // aborts the flush in flight and any backoff
		<-w.done
	}
	w.cancel()
	s := w.Stats()
	if s.Dropped > 0 {
		err := fmt.Errorf("%w: %d of %d rows (stored %d)", ErrDropped, s.Dropped, s.Produced, s.Stored)
		if s.LastError != nil {
			err = fmt.Errorf("%w; last store error: %v", err, s.LastError)
		}
		return err
	}
	return nil
}

func (w *Writer[T]) run() {
	defer close(w.done)
	batch := make([]T, 0, w.cfg.BatchSize)
	tick := time.NewTicker(w.cfg.FlushInterval)
	defer tick.Stop()
	for {
		// Rows wait in ch (and staged), not in a receive: a goroutine
		// parked on ch would be woken by every Offer — a scheduler wake-up,
		// often a thread's, per row, which at tens of thousands of rows a
		// second cost the producers more than the rows themselves. Offer
		// kicks once a batch is waiting; the ticker flushes the rest.
		closing := false
		select {
		case <-w.kick:
		case <-tick.C:
		case <-w.closing:
			// closed is set under the lock, so nothing enters ch or staged
			// any more: drain them to the end.
			closing = true
		}
		w.storeStaged()
		for {
			if batch = w.fill(batch); len(batch) == 0 {
				break
			}
			full := len(batch) == w.cfg.BatchSize
			batch = w.store(batch)
			if !full && !closing {
				break
			}
		}
		if closing {
			return
		}
	}
}

// storeStaged stores what OfferBatch staged, in batches of up to
// BatchSize.
func (w *Writer[T]) storeStaged() {
	w.smu.Lock()
	rows := w.staged
	w.staged = w.spare[:0]
	w.smu.Unlock()
	for i := 0; i < len(rows); i += w.cfg.BatchSize {
		w.store(rows[i:min(i+w.cfg.BatchSize, len(rows))]) // store clears what it took
	}
	// Keep the slice for the next swap, unless an outage grew it large.
	w.spare = rows[:0]
	if cap(rows) > 4*w.cfg.BatchSize {
		w.spare = nil
	}
}

// fill moves rows from ch into batch, up to BatchSize, without waiting.
func (w *Writer[T]) fill(batch []T) []T {
	for len(batch) < w.cfg.BatchSize {
		select {
		case r := <-w.ch:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// store flushes batch until it succeeds or the writer's context ends (the
// rows are then dropped), and returns batch emptied for reuse.
func (w *Writer[T]) store(batch []T) []T {
	backoff := w.cfg.MinBackoff
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if w.ctx.Err() != nil {
			w.dropped.Add(int64(len(batch)))
			break
		}
		ctx, cancel := context.WithTimeout(w.ctx, w.cfg.FlushTimeout)
		err := w.flush(ctx, batch)
		cancel()
		if err == nil {
			w.stored.Add(int64(len(batch)))
			break
		}
		w.failures.Add(1)
		w.lastErr.Store(&err)
		if w.cfg.OnError != nil {
			w.cfg.OnError(err)
		}
		// Wait between backoff/2 and backoff ("equal jitter"), so the
		// workers of a run do not all retry at the same instant.
		wait := backoff/2 + rand.N(backoff/2+1)
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-timer.C:
		case <-w.ctx.Done():
		}
		backoff = min(backoff*defaultBackoffMultiple, w.cfg.MaxBackoff)
	}
	clear(batch) // let the rows be collected
	return batch[:0]
}
