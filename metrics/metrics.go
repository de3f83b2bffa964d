package metrics

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/unistore-bench/unistore/core"
)

// One range and precision for every histogram, so any two merge exactly.
const (
	LowestMicros  = 1             // 1 µs
	HighestMicros = 3_600_000_000 // 1 h
	SigFigs       = 3
)

// NewHistogram returns an empty histogram of latencies in microseconds.
func NewHistogram() *hdr.Histogram { return hdr.New(LowestMicros, HighestMicros, SigFigs) }

// Micros converts d to microseconds clamped to the histogram's range, so
// recording never fails.
func Micros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	if us < LowestMicros {
		return LowestMicros
	}
	if us > HighestMicros {
		return HighestMicros
	}
	return us
}

// Op is the record of one operation over an interval (or a merge of them).
type Op struct {
	// Count is every execution, failed ones included.
	Count int64
	// Errors counts failed executions by class.
	Errors core.ErrorCounts
	// Service holds successful executions' service time: actual start to end.
	Service *hdr.Histogram
	// Response holds successful executions' response time, from the intended
	// start (open model only; nil in the closed loop).
	Response *hdr.Histogram
	// Failed holds failed executions' service time; nil until the first failure.
	Failed *hdr.Histogram
}

func newOp(open bool) Op {
	o := Op{Service: NewHistogram()}
	if open {
		o.Response = NewHistogram()
	}
	return o
}

// Merge adds o's counts and histograms into m, exactly. It fails if a
// histogram drops a value, which cannot happen between histograms of this
// package's range.
func (m *Op) Merge(o *Op) error {
	m.Count += o.Count
	for i := range m.Errors {
		m.Errors[i] += o.Errors[i]
	}
	if err := mergeHist(&m.Service, o.Service); err != nil {
		return err
	}
	if err := mergeHist(&m.Response, o.Response); err != nil {
		return err
	}
	return mergeHist(&m.Failed, o.Failed)
}

func mergeHist(dst **hdr.Histogram, src *hdr.Histogram) error {
	if src == nil || src.TotalCount() == 0 {
		return nil
	}
	if *dst == nil {
		*dst = NewHistogram()
	}
	if dropped := (*dst).Merge(src); dropped != 0 {
		return fmt.Errorf("metrics: merge dropped %d values", dropped)
	}
	return nil
}

func (m *Op) reset() {
	m.Count = 0
	m.Errors = core.ErrorCounts{}
	for _, h := range []*hdr.Histogram{m.Service, m.Response, m.Failed} {
		if h != nil {
			h.Reset()
		}
	}
}

// Open counts an open-model loop's starts.
type Open struct {
	Started int64
	Late    int64
}

// set is what one loop records into between two drains. tag is the phase
// the collector will count the set to.
type set struct {
	ops  []Op
	open Open
	tag  core.Phase
}

func newSet(nOps int, open bool) *set {
	s := &set{ops: make([]Op, nOps)}
	for i := range s.ops {
		s.ops[i] = newOp(open)
	}
	return s
}

// Recorder is one loop's recorder. Record is called by that loop only and
// takes no lock and allocates nothing (but for the first failure of an
// operation in an interval, which allocates its error histogram once).
// Drain is called by one collector goroutine.
//
// The two sides meet through two atomics: the loop raises busy, loads the
// current set, records, and lowers busy; Drain swaps in a fresh set and
// waits (yielding) until busy is low. Go's atomics are sequentially
// consistent, so once Drain sees busy low after its swap, no loop can still
// be writing into the old set: a loop that loaded the old set raised busy
// before the swap, and lowers it only after its write.
type Recorder struct {
	busy  atomic.Uint32
	cur   atomic.Pointer[set]
	_     [48]byte // keep the loop's hot words off the collector's line
	spare *set     // the collector's
	open  bool
}

// NewRecorder returns a recorder for nOps operations; open adds response
// time histograms.
func NewRecorder(nOps int, open bool) *Recorder {
	r := &Recorder{spare: newSet(nOps, open), open: open}
	r.cur.Store(newSet(nOps, open))
	return r
}

// Record records one execution of operation op. service is the time from
// the actual start, response from the intended start (open model; ignored
// otherwise). class is core.ErrNone for a success. It returns the phase the
// record will be counted in (the tag Drain gave its set), so a loop can tag
// what else it keeps of the execution the same way.
func (r *Recorder) Record(op int, service, response time.Duration, class core.ErrorClass) core.Phase {
	r.busy.Store(1)
	s := r.cur.Load()
	o := &s.ops[op]
	o.Count++
	if class == core.ErrNone {
		_ = o.Service.RecordValue(Micros(service))
		if o.Response != nil {
			_ = o.Response.RecordValue(Micros(response))
		}
	} else {
		o.Errors[class]++
		if o.Failed == nil {
			o.Failed = NewHistogram()
		}
		_ = o.Failed.RecordValue(Micros(service))
	}
	tag := s.tag
	r.busy.Store(0)
	return tag
}

// Start counts one open-model start; late reports whether it began later
// than the late threshold after its intended time.
func (r *Recorder) Start(late bool) {
	r.busy.Store(1)
	s := r.cur.Load()
	s.open.Started++
	if late {
		s.open.Late++
	}
	r.busy.Store(0)
}

// Tag sets the phase tag of the interval in progress. Call it before the
// loop records; afterwards Drain sets the tags.
func (r *Recorder) Tag(p core.Phase) { r.cur.Load().tag = p }

// Phase returns the phase the loop's records are counted in now (its
// current set's tag). Called by the loop only: a statement labelled on the
// server with the phase it starts in (a Snowflake query tag) is then
// counted by the client in the same phase, unless a cut falls while it is
// in flight.
func (r *Recorder) Phase() core.Phase { return r.cur.Load().tag }

// Drain moves everything recorded since the last Drain into dst and starts
// a new interval whose records are tagged next. Only one goroutine may call
// Drain.
func (r *Recorder) Drain(dst *Snapshot, next core.Phase) error {
	r.spare.tag = next
	old := r.cur.Swap(r.spare)
	for r.busy.Load() != 0 {
		runtime.Gosched()
	}
	var err error
	for i := range old.ops {
		if e := dst.Ops[i].Merge(&old.ops[i]); e != nil && err == nil {
			err = e
		}
		old.ops[i].reset()
	}
	dst.Open.Started += old.open.Started
	dst.Open.Late += old.open.Late
	old.open = Open{}
	r.spare = old
	return err
}
