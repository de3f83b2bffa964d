package metrics

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/unistore-bench/unistore/core"
)

// Snapshot is the metrics of one or more loops (or workers) over one
// interval or phase: one Op per operation, in the workload's order.
// Snapshots of one workload merge exactly.
type Snapshot struct {
	Start, End time.Time
	Phase      core.Phase
	Names      []string
	Ops        []Op
	// Open counts open-model starts (zero in the closed loop). Intended and
	// Skipped come from the pacer, Started and Late from the loops.
	Open OpenCounts
}

// OpenCounts are an open-model run's start counts.
type OpenCounts struct {
	Intended int64
	Skipped  int64
	Open
}

// NewSnapshot returns an empty snapshot for the named operations.
func NewSnapshot(names []string, open bool) *Snapshot {
	s := &Snapshot{Names: names, Ops: make([]Op, len(names))}
	for i := range s.Ops {
		s.Ops[i] = newOp(open)
	}
	return s
}

// Merge adds o into s. The two must have the same operations. Start and
// End widen to cover both.
func (s *Snapshot) Merge(o *Snapshot) error {
	if len(o.Ops) != len(s.Ops) {
		return fmt.Errorf("metrics: merge of %d operations into %d", len(o.Ops), len(s.Ops))
	}
	for i := range s.Ops {
		if err := s.Ops[i].Merge(&o.Ops[i]); err != nil {
			return err
		}
	}
	s.Open.Intended += o.Open.Intended
	s.Open.Skipped += o.Open.Skipped
	s.Open.Started += o.Open.Started
	s.Open.Late += o.Open.Late
	if s.Start.IsZero() || (!o.Start.IsZero() && o.Start.Before(s.Start)) {
		s.Start = o.Start
	}
	if o.End.After(s.End) {
		s.End = o.End
	}
	return nil
}

// Reset empties s, keeping its histograms' memory.
func (s *Snapshot) Reset() {
	for i := range s.Ops {
		s.Ops[i].reset()
	}
	s.Open = OpenCounts{}
	s.Start, s.End = time.Time{}, time.Time{}
}

// Clone returns a deep copy of s.
func (s *Snapshot) Clone() *Snapshot {
	c := &Snapshot{Start: s.Start, End: s.End, Phase: s.Phase, Names: s.Names, Ops: make([]Op, len(s.Ops)), Open: s.Open}
	for i, o := range s.Ops {
		c.Ops[i] = Op{Count: o.Count, Errors: o.Errors, Service: clone(o.Service), Response: clone(o.Response), Failed: clone(o.Failed)}
	}
	return c
}

func clone(h *hdr.Histogram) *hdr.Histogram {
	if h == nil {
		return nil
	}
	return h.Clone()
}

// Total returns every operation merged into one.
func (s *Snapshot) Total() Op {
	t := Op{Service: NewHistogram()}
	for i := range s.Ops {
		_ = t.Merge(&s.Ops[i]) // same range: cannot drop
	}
	return t
}

// Count returns the executions of every operation.
func (s *Snapshot) Count() int64 {
	var n int64
	for i := range s.Ops {
		n += s.Ops[i].Count
	}
	return n
}

// Errors returns the failed executions of every operation.
func (s *Snapshot) Errors() int64 {
	var n int64
	for i := range s.Ops {
		n += s.Ops[i].Errors.Total()
	}
	return n
}

// Stats summarises o over a phase of the given length.
func (o *Op) Stats(seconds float64) core.OpStats {
	st := core.OpStats{
		Count:         o.Count,
		Errors:        o.Errors.Total(),
		ErrorsByClass: o.Errors.Map(),
		Latency:       Latency(o.Service),
	}
	if seconds > 0 {
		st.QPS = float64(o.Count) / seconds
	}
	if o.Response != nil {
		l := Latency(o.Response)
		st.Response = &l
	}
	if o.Failed != nil && o.Failed.TotalCount() > 0 {
		l := Latency(o.Failed)
		st.ErrorLatency = &l
	}
	return st
}

// Stats summarises s: the total and each operation by name.
func (s *Snapshot) Stats(seconds float64) (core.OpStats, map[string]core.OpStats) {
	ops := make(map[string]core.OpStats, len(s.Ops))
	for i := range s.Ops {
		ops[s.Names[i]] = s.Ops[i].Stats(seconds)
	}
	t := s.Total()
	return t.Stats(seconds), ops
}

// Latency returns h's statistics in milliseconds (zero for an empty or nil
// histogram). Percentiles are HdrHistogram's: the highest value equivalent
// to the one at the percentile, within the 3 significant digits kept.
func Latency(h *hdr.Histogram) core.Latency {
	if h == nil || h.TotalCount() == 0 {
		return core.Latency{}
	}
	ms := func(us int64) float64 { return round3(float64(us) / 1000) }
	return core.Latency{
		Mean: round3(h.Mean() / 1000),
		P50:  ms(h.ValueAtQuantile(50)),
		P90:  ms(h.ValueAtQuantile(90)),
		P95:  ms(h.ValueAtQuantile(95)),
		P99:  ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)),
		Max:  ms(h.Max()),
	}
}

// round3 rounds to the microsecond (three decimals of a millisecond).
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// Encode returns h in the standard base64 V2 compressed encoding that every
// HdrHistogram implementation reads. A nil histogram encodes as "".
func Encode(h *hdr.Histogram) (string, error) {
	if h == nil {
		return "", nil
	}
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("metrics: encode histogram: %w", err)
	}
	return string(b), nil
}

// Decode is the inverse of Encode; "" decodes to nil.
func Decode(s string) (*hdr.Histogram, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("metrics: decode histogram: %w", err)
	}
	if err := checkGeometry(raw); err != nil {
		return nil, fmt.Errorf("metrics: decode histogram: %w", err)
	}
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("metrics: decode histogram: %w", err)
	}
	return h, nil
}

// checkGeometry reads the header of a V2 compressed histogram and refuses
// a range or precision wider than unistore's own (LowestMicros,
// HighestMicros, SigFigs): hdrhistogram-go allocates the counts array the
// header asks for, so a 60-byte row claiming 1..MaxInt64 at 5 digits would
// cost gigabytes. Everything unistore stores has its own geometry.
func checkGeometry(raw []byte) error {
	if len(raw) < 8 {
		return fmt.Errorf("%d bytes: too short", len(raw))
	}
	n := binary.BigEndian.Uint32(raw[4:8])
	if uint64(n) > uint64(len(raw)-8) {
		return fmt.Errorf("compressed length %d exceeds the %d bytes given", n, len(raw)-8)
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8 : 8+n]))
	if err != nil {
		return err
	}
	defer z.Close()
	var h struct {
		Cookie, PayloadLen, NormalizingOffset, SigFigs int32
		Lowest, Highest                                int64
		ConversionRatio                                float64
	}
	if err := binary.Read(z, binary.BigEndian, &h); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if h.SigFigs < 1 || h.SigFigs > SigFigs || h.Lowest < LowestMicros || h.Highest > HighestMicros || h.Highest < 2*h.Lowest {
		return fmt.Errorf("range %d..%d at %d digits is not within unistore's %d..%d at %d", h.Lowest, h.Highest, h.SigFigs,
			LowestMicros, HighestMicros, SigFigs)
	}
	return nil
}
