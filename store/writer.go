package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
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
	// failed attempt; it must not block.
	OnError func(err error)
	// OnOutage, if set, is called from the writer goroutine once when a
	// run of failed attempts begins (down true, with the first error) and
	// once when a flush succeeds again (down false, err nil): the place
	// for one warning per outage instead of one per attempt. It must not
	// block.
	OnOutage func(down bool, s WriterStats, err error)
	// SpoolAfter, if positive, bounds how long an outage keeps rows in
	// memory: once the store has failed for this long — or sooner, when
	// the buffer is half full — each take of the buffer gets one attempt
	// and goes to the spool if it fails, so a long outage neither fills
	// the buffer nor drops rows. Zero retries in memory until Close. It
	// needs a spool (NewBatchWriter).
	SpoolAfter time.Duration
	// BatchPrefix starts every batch id (a worker id and a kind, say);
	// a random part and a sequence number follow.
	BatchPrefix string
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
// Stored + Spooled + Dropped <= Produced; after Close they are equal.
type WriterStats struct {
	Produced int64 // rows offered
	Stored   int64 // rows a flush stored
	Spooled  int64 // rows the store could not take, handed to the spool
	Dropped  int64 // rows offered to a full buffer or after Close, or neither stored nor spooled
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
// flush whose commit succeeded but whose answer was lost is retried — with
// the same batch id, so a store that keeps batch ids (BatchWriter) stores
// it once. With a spool (NewBatchWriter), rows the store cannot take go to
// local disk instead of being dropped: once an outage lasts SpoolAfter,
// and at Close.
//
// The goroutine ends in Close: after it has flushed every buffered row, or
// when Close's context ends (it then spools, or without a spool drops, the
// unstored rows).
// A Writer that is never closed keeps its goroutine.
type Writer[T any] struct {
	flush func(ctx context.Context, id string, rows []T) error
	spool func(id string, rows []T) error
	cfg   WriterConfig
	// idBase starts every batch id: BatchPrefix and a random part, so
	// ids of two writers (a relaunched worker's, say) never meet.
	idBase string
	seq    int64
	// downSince is when the current run of failed attempts began (zero
	// while the store answers); the writer goroutine alone touches it.
	downSince time.Time

	mu     sync.RWMutex // Offer holds it shared while queueing; Close takes it to set closed
	closed bool

	// queued holds offered rows (at most Buffer) until the goroutine swaps
	// it with spare, its emptied last take. A slice grown on demand, not a
	// channel of Buffer rows made up front: a channel's buffer is live heap
	// from the start (256k executions are ~50 MB), which the garbage
	// collector scans and doubles into its heap goal.
	qmu    sync.Mutex
	queued []T
	spare  []T
	nq     atomic.Int64 // len(queued), read without qmu: a full buffer drops without locking

	kick      chan struct{} // a batch is waiting (cap 1)
	closing   chan struct{} // closed by Close
	done      chan struct{} // closed when the goroutine ends
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once

	produced, stored, spooled, dropped, failures atomic.Int64
	lastErr                                      atomic.Pointer[error]
}

// NewWriter starts a writer that stores batches with flush, e.g.
// NewWriter(st.WriteExecutions, cfg). flush is called from one goroutine at
// a time, must honour its context, and must not keep rows after it
// returns (the slice is reused). Call Close to end it.
func NewWriter[T any](flush func(ctx context.Context, rows []T) error, cfg WriterConfig) *Writer[T] {
	if flush == nil {
		panic("store: NewWriter: nil flush func")
	}
	return NewBatchWriter(func(ctx context.Context, _ string, rows []T) error { return flush(ctx, rows) }, nil, cfg)
}

// NewBatchWriter is NewWriter for a store that takes batch ids (the
// BatchWriter methods): flush gets each batch with an id that stays the
// same over the batch's retries, so a retry after a lost COMMIT
// acknowledgement is not stored twice. spool, if not nil, takes the rows
// the store could not (see WriterConfig.SpoolAfter and Close) with their
// batch id; rows it takes count as Spooled, rows it fails on as Dropped.
// It is called from the writer goroutine and must not keep rows.
func NewBatchWriter[T any](flush func(ctx context.Context, id string, rows []T) error, spool func(id string, rows []T) error, cfg WriterConfig) *Writer[T] {
	if flush == nil {
		panic("store: NewBatchWriter: nil flush func")
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer[T]{
		flush:   flush,
		spool:   spool,
		idBase:  cfg.BatchPrefix + "/" + strconv.FormatUint(rand.Uint64()>>16, 36) + "/",
		cfg:     cfg,
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
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		return false
	}
	if w.nq.Load() >= int64(w.cfg.Buffer) {
		w.dropped.Add(1)
		return false
	}
	w.qmu.Lock()
	if len(w.queued) >= w.cfg.Buffer {
		w.qmu.Unlock()
		w.dropped.Add(1)
		return false
	}
	w.queued = append(w.queued, row)
	n := len(w.queued)
	w.nq.Store(int64(n))
	w.qmu.Unlock()
	w.waiting(n)
	return true
}

// OfferBatch hands rows to the writer without blocking, copying them: the
// caller keeps rows. It is Offer for a producer that gathers its rows (a
// worker's loop): one lock per batch instead of one per row. Rows beyond
// what the buffer takes are dropped and counted. It returns how many rows
// it took.
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
	if w.nq.Load() >= int64(w.cfg.Buffer) {
		w.dropped.Add(int64(n))
		return 0
	}
	w.qmu.Lock()
	take := max(0, min(n, w.cfg.Buffer-len(w.queued)))
	w.queued = append(w.queued, rows[:take]...)
	q := len(w.queued)
	w.nq.Store(int64(q))
	w.qmu.Unlock()
	if take < n {
		w.dropped.Add(int64(n - take))
	}
	w.waiting(q)
	return take
}

// waiting kicks the goroutine once a batch is waiting. It never waits on
// the queue itself: a goroutine woken by every Offer would cost the
// producers a scheduler (often a thread) wake-up per row — at tens of
// thousands of rows a second, more than the rows themselves.
func (w *Writer[T]) waiting(queued int) {
	if queued >= w.cfg.BatchSize {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// Stats returns the counters.
func (w *Writer[T]) Stats() WriterStats {
	s := WriterStats{
		// Read Produced last so that Stored + Spooled + Dropped <=
		// Produced holds in the snapshot too.
		Stored:   w.stored.Load(),
		Spooled:  w.spooled.Load(),
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
// ends, whichever is first; rows still unstored then go to the spool (or
// are dropped without one). After Close, Stored + Spooled + Dropped ==
// Produced and the goroutine has ended. The
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
		err := fmt.Errorf("%w: %d of %d rows (stored %d, spooled %d)", ErrDropped, s.Dropped, s.Produced, s.Stored, s.Spooled)
		if s.LastError != nil {
			err = fmt.Errorf("%w; last store error: %v", err, s.LastError)
		}
		return err
	}
	return nil
}

func (w *Writer[T]) run() {
	defer close(w.done)
	tick := time.NewTicker(w.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-w.kick:
			w.storeQueued(false)
		case <-tick.C:
			w.storeQueued(true)
		case <-w.closing:
			// closed is set under mu, so nothing is queued any more: store
			// what is.
			w.storeQueued(true)
			return
		}
	}
}

// storeQueued takes the queued rows and stores them in batches of up to
// BatchSize: every row when all is set (a tick of FlushInterval, Close),
// else (a kick: a batch is waiting) only whole batches, the rest staying
// queued for the next. Each batch costs the store a transaction (and a
// round trip or more) whatever its size, so the odd rows of a kick are
// not sent as a batch of their own: at 100k captured executions a
// second, flushing the whole queue at every kick averaged ~800 rows a
// batch against the 2000 allowed, twice the transactions. Once an outage
// has lasted SpoolAfter, a batch that fails its one attempt goes to the
// spool, and so does the rest of the take without an attempt: the next
// take probes the store again.
func (w *Writer[T]) storeQueued(all bool) {
	w.qmu.Lock()
	rows := w.queued
	n := len(rows)
	if !all {
		n -= n % w.cfg.BatchSize
	}
	if n == 0 {
		w.qmu.Unlock()
		return
	}
	w.queued = append(w.spare[:0], rows[n:]...)
	w.nq.Store(int64(len(w.queued)))
	w.qmu.Unlock()
	clear(rows[n:])
	rows = rows[:n]
	skip := false
	for i := 0; i < len(rows); i += w.cfg.BatchSize {
		batch := rows[i:min(i+w.cfg.BatchSize, len(rows))]
		w.seq++
		id := w.idBase + strconv.FormatInt(w.seq, 10)
		if skip || w.ctx.Err() != nil {
			w.spill(id, batch)
			continue
		}
		skip = !w.store(id, batch)
	}
	// Keep the slice for the next swap, unless an outage grew it large.
	clear(rows)
	w.spare = rows[:0]
	if cap(rows) > 16*w.cfg.BatchSize {
		w.spare = nil
	}
}

// spooling reports whether an outage has lasted long enough for batches
// to go to the spool after one failed attempt.
func (w *Writer[T]) spooling() bool {
	return w.spool != nil && w.cfg.SpoolAfter > 0 && !w.downSince.IsZero() && time.Since(w.downSince) >= w.cfg.SpoolAfter
}

// pressure reports whether the buffer is at least 1/div full, with a
// spool to relieve it: while the store fails (div 2), rows then go to the
// spool before an outage lasts SpoolAfter rather than fill the buffer and
// be dropped.
func (w *Writer[T]) pressure(div int) bool {
	return w.spool != nil && w.cfg.SpoolAfter > 0 && w.nq.Load() >= int64(w.cfg.Buffer-w.cfg.Buffer/div)
}

// watchFull guards the buffer during one flush attempt, which may hang
// for up to FlushTimeout on a store that does not answer: if the buffer
// is nine-tenths full meanwhile, what is queued goes to the spool (it
// would otherwise be dropped). The returned func ends the watch and waits
// for it, so the writer goroutine alone touches seq again afterwards.
func (w *Writer[T]) watchFull() (stop func()) {
	if w.spool == nil || w.cfg.SpoolAfter <= 0 {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-w.kick:
				if !w.pressure(10) {
					continue
				}
				w.qmu.Lock()
				rows := w.queued
				w.queued = nil
				w.nq.Store(0)
				w.qmu.Unlock()
				for i := 0; i < len(rows); i += w.cfg.BatchSize {
					w.seq++
					w.spill(w.idBase+strconv.FormatInt(w.seq, 10), rows[i:min(i+w.cfg.BatchSize, len(rows))])
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// spill hands batch to the spool, or drops it.
func (w *Writer[T]) spill(id string, batch []T) {
	n := int64(len(batch))
	if w.spool == nil {
		w.dropped.Add(n)
		return
	}
	if err := w.spool(id, batch); err != nil {
		err = fmt.Errorf("store: spool %d rows: %w", n, err)
		w.lastErr.Store(&err)
		w.dropped.Add(n)
		return
	}
	w.spooled.Add(n)
}

// store flushes batch until it succeeds, the writer's context ends or an
// outage has lasted SpoolAfter; in the last two cases the batch is
// spilled (spool or drop) and store returns false.
func (w *Writer[T]) store(id string, batch []T) bool {
	backoff := w.cfg.MinBackoff
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if w.ctx.Err() != nil {
			w.spill(id, batch)
			return false
		}
		ctx, cancel := context.WithTimeout(w.ctx, w.cfg.FlushTimeout)
		stopWatch := w.watchFull()
		err := w.flush(ctx, id, batch)
		stopWatch()
		cancel()
		if err == nil {
			w.stored.Add(int64(len(batch)))
			if !w.downSince.IsZero() {
				w.downSince = time.Time{}
				if w.cfg.OnOutage != nil {
					w.cfg.OnOutage(false, w.Stats(), nil)
				}
			}
			return true
		}
		w.failures.Add(1)
		w.lastErr.Store(&err)
		if w.downSince.IsZero() {
			w.downSince = time.Now()
			if w.cfg.OnOutage != nil {
				w.cfg.OnOutage(true, w.Stats(), err)
			}
		}
		if w.cfg.OnError != nil {
			w.cfg.OnError(err)
		}
		if w.spooling() || w.pressure(2) {
			w.spill(id, batch)
			return false
		}
		// Wait between backoff/2 and backoff ("equal jitter"), so the
		// workers of a run do not all retry at the same instant. A batch
		// waiting (kick) while the buffer is half full ends the wait: the
		// rows go to the spool rather than overflow the buffer.
		wait := backoff/2 + rand.N(backoff/2+1)
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
	waiting:
		for {
			select {
			case <-timer.C:
				break waiting
			case <-w.ctx.Done():
				break waiting
			case <-w.kick:
				if w.pressure(2) {
					w.spill(id, batch)
					return false
				}
			}
		}
		backoff = min(backoff*defaultBackoffMultiple, w.cfg.MaxBackoff)
	}
}
