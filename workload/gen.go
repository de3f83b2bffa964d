package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/unistore-bench/unistore/core"
)

// Generator defaults and limits.
const (
	// DefaultZipfTheta is the zipfian skew when theta is omitted (YCSB's).
	DefaultZipfTheta = 0.99
	// DefaultSequenceStart and DefaultSequenceSpan are the sequence
	// generator's defaults: group g emits start + g*span + k.
	DefaultSequenceStart = 1
	DefaultSequenceSpan  = 1_000_000_000_000
	// MaxSequenceGroups bounds the worker groups a sequence serves: Compile
	// checks that start + span*MaxSequenceGroups fits in an int64, and a
	// Source for a group at or beyond it panics.
	MaxSequenceGroups = 1 << 16
	// DefaultSampleLimit is how many keys the sample generator reads.
	DefaultSampleLimit = 10_000
	// MaxStringLen bounds the string generator's max_len (the per-loop
	// buffer is max_len bytes).
	MaxStringLen = 1 << 20
)

// param is the compiled, immutable part of one parameter generator, shared
// by every loop.
type param interface {
	// forLoop returns the generator of one loop. Stateless generators
	// return themselves.
	forLoop(l Loop) loopParam
}

// loopParam generates one loop's values. next must not allocate.
type loopParam interface {
	next(r *rand.Rand) core.Value
}

// uniform: min + [0, span); span 0 means the whole int64 range.
type uniformGen struct {
	min  int64
	span uint64
}

func newUniform(lo, hi int64) *uniformGen {
	return &uniformGen{min: lo, span: uint64(hi-lo) + 1}
}

func (g *uniformGen) forLoop(Loop) loopParam { return g }

func (g *uniformGen) next(r *rand.Rand) core.Value {
	if g.span == 0 {
		return core.Int(int64(r.Uint64()))
	}
	return core.Int(g.min + int64(r.Uint64N(g.span)))
}

// zipfian: rank k (0 most popular) → min + k, or min + fnv64(k) mod n.
type zipfGen struct {
	min      int64
	z        zipf
	scramble bool
}

func (g *zipfGen) forLoop(Loop) loopParam { return g }

func (g *zipfGen) next(r *rand.Rand) core.Value {
	k := g.z.rank(r.Float64())
	if g.scramble {
		k = fnv64(k) % g.z.n
	}
	return core.Int(g.min + int64(k))
}

// sequence: one counter per worker group, shared by that group's loops.
type seqGen struct {
	start, span int64

	mu     sync.Mutex
	groups map[int]*seqCounter
}

// seqCounter sits alone on its cache line: the loops of a group hit it.
type seqCounter struct {
	n atomic.Int64
	_ [56]byte
}

func (g *seqGen) forLoop(l Loop) loopParam {
	if l.Group < 0 || l.Group >= MaxSequenceGroups {
		panic(fmt.Sprintf("workload: sequence generator: worker group %d outside [0, %d)", l.Group, MaxSequenceGroups))
	}
	g.mu.Lock()
	c := g.groups[l.Group]
	if c == nil {
		c = new(seqCounter)
		g.groups[l.Group] = c
	}
	g.mu.Unlock()
	// The group's shard is cut into SequenceAttempts sub-ranges, one per
	// launch attempt, so a relaunched worker never reissues a value an
	// earlier attempt of its group may have inserted.
	sub := g.span / SequenceAttempts
	if sub == 0 {
		sub = g.span
	}
	att := int64(l.Attempt % SequenceAttempts)
	if sub == g.span {
		att = 0
	}
	return &seqLoop{base: g.start + int64(l.Group)*g.span + att*sub, span: sub, c: c}
}

// SequenceAttempts is how many launch attempts of one group get disjoint
// sub-ranges of the group's sequence shard (attempt k uses sub-range
// k mod SequenceAttempts).
const SequenceAttempts = 16

type seqLoop struct {
	base, span int64
	c          *seqCounter
}

func (s *seqLoop) next(*rand.Rand) core.Value {
	k := s.c.n.Add(1) - 1
	if k >= s.span { // wrap inside the group's own range, never into another's
		k %= s.span
	}
	return core.Int(s.base + k)
}

// sample: values read by Prepare, picked uniformly.
type sampleGen struct {
	op, path string // for messages
	table    string
	column   string
	limit    int
	query    string
	values   []core.Value // set by Prepare; read-only afterwards
}

func (g *sampleGen) forLoop(Loop) loopParam {
	if g.values == nil {
		panic(fmt.Sprintf("workload: operation %q samples %s.%s but Prepare was not called before NewSource", g.op, g.table, g.column))
	}
	return g
}

func (g *sampleGen) next(r *rand.Rand) core.Value {
	return g.values[r.IntN(len(g.values))]
}

// string: random alphanumeric text in a per-loop buffer.
type stringGen struct{ minLen, maxLen int }

func (g *stringGen) forLoop(Loop) loopParam {
	return &stringLoop{minLen: g.minLen, maxLen: g.maxLen, buf: make([]byte, g.maxLen)}
}

type stringLoop struct {
	minLen, maxLen int
	buf            []byte
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (s *stringLoop) next(r *rand.Rand) core.Value {
	n := s.minLen
	if s.maxLen > s.minLen {
		n += r.IntN(s.maxLen - s.minLen + 1)
	}
	b := s.buf[:n:n]
	// Ten 6-bit draws per Uint64; 62 and 63 are rejected, so every
	// character is exactly uniform.
	for i := 0; i < n; {
		x := r.Uint64()
		for j := 0; j < 10 && i < n; j++ {
			if c := x & 63; c < 62 {
				b[i] = alnum[c]
				i++
			}
			x >>= 6
		}
	}
	return core.Value{Kind: core.KindText, Text: b}
}

// choice: a uniform pick among fixed strings, converted once.
type choiceGen struct{ values [][]byte }

func (g *choiceGen) forLoop(Loop) loopParam { return g }

func (g *choiceGen) next(r *rand.Rand) core.Value {
	return core.Value{Kind: core.KindText, Text: g.values[r.IntN(len(g.values))]}
}

// now: the current time, in UTC.
type nowGen struct{}

func (nowGen) forLoop(Loop) loopParam { return &nowLoop{t0: time.Now()} }

// nowLoop reads the current time as the loop's start plus the monotonic
// time since: one clock read instead of time.Now's two. It drifts from the
// wall clock only as far as the wall clock is stepped during the run.
type nowLoop struct{ t0 time.Time }

func (n *nowLoop) next(*rand.Rand) core.Value {
	return core.Value{Kind: core.KindTime, Time: n.t0.Add(time.Since(n.t0)).UTC()}
}

// generators lists the generators by name: the fields each takes (a field
// set that the generator does not take is an error, so a typo is not
// silently ignored) and its builder. A builder reports problems into errs
// under path (the param's path) and returns nil when there are any.
var generators = map[string]struct {
	fields []string
	build  func(ps core.ParamSpec, path string, errs *core.FieldErrors) param
}{
	"uniform":  {[]string{"min", "max"}, buildUniform},
	"zipfian":  {[]string{"min", "max", "theta", "scramble"}, buildZipfian},
	"sequence": {[]string{"start", "span"}, buildSequence},
	"sample":   {[]string{"table", "column", "limit"}, buildSample},
	"string":   {[]string{"min_len", "max_len"}, buildString},
	"choice":   {[]string{"values"}, buildChoice},
	"now":      {nil, func(core.ParamSpec, string, *core.FieldErrors) param { return nowGen{} }},
}

// generatorNames is the sorted list of generator names, for messages.
const generatorNames = "choice, now, sample, sequence, string, uniform, zipfian"

// setFields lists the generator-specific fields ps sets, in ParamSpec order.
func setFields(ps core.ParamSpec) []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"min", ps.Min != nil}, {"max", ps.Max != nil}, {"theta", ps.Theta != 0}, {"scramble", ps.Scramble},
		{"start", ps.Start != nil}, {"span", ps.Span != nil},
		{"table", ps.Table != ""}, {"column", ps.Column != ""}, {"limit", ps.Limit != 0},
		{"min_len", ps.MinLen != 0}, {"max_len", ps.MaxLen != 0},
		{"values", ps.Values != nil},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// minMax checks the min and max of uniform and zipfian.
func minMax(gen string, ps core.ParamSpec, path string, errs *core.FieldErrors) (lo, hi int64, ok bool) {
	if ps.Min == nil {
		errs.Add(path+".min", "missing: "+gen+" needs min and max")
	}
	if ps.Max == nil {
		errs.Add(path+".max", "missing: "+gen+" needs min and max")
	}
	if ps.Min == nil || ps.Max == nil {
		return 0, 0, false
	}
	if *ps.Min > *ps.Max {
		errs.Add(path+".min", fmt.Sprintf("min (%d) is greater than max (%d)", *ps.Min, *ps.Max))
		return 0, 0, false
	}
	return *ps.Min, *ps.Max, true
}

func buildUniform(ps core.ParamSpec, path string, errs *core.FieldErrors) param {
	lo, hi, ok := minMax("uniform", ps, path, errs)
	if !ok {
		return nil
	}
	return newUniform(lo, hi)
}

func buildZipfian(ps core.ParamSpec, path string, errs *core.FieldErrors) param {
	lo, hi, ok := minMax("zipfian", ps, path, errs)
	theta := ps.Theta
	if theta == 0 {
		theta = DefaultZipfTheta
	}
	if !(theta > 0) || theta == 1 || math.IsInf(theta, 0) {
		errs.Add(path+".theta", fmt.Sprintf("must be greater than 0 and not 1, got %v", ps.Theta))
		ok = false
	}
	if !ok {
		return nil
	}
	n := uint64(hi-lo) + 1
	if n == 0 { // the whole int64 range
		n = math.MaxUint64
	}
	return &zipfGen{min: lo, z: newZipf(n, theta), scramble: ps.Scramble}
}

func buildSequence(ps core.ParamSpec, path string, errs *core.FieldErrors) param {
	start, span := int64(DefaultSequenceStart), int64(DefaultSequenceSpan)
	if ps.Start != nil {
		start = *ps.Start
	}
	if ps.Span != nil {
		span = *ps.Span
	}
	if span <= 0 {
		errs.Add(path+".span", fmt.Sprintf("must be positive, got %d", span))
		return nil
	}
	if span > math.MaxInt64/MaxSequenceGroups || start > 0 && span*MaxSequenceGroups > math.MaxInt64-start {
		errs.Add(path+".span", fmt.Sprintf("start + span × %d groups overflows int64: use a span of at most %d", MaxSequenceGroups, (math.MaxInt64-max(start, 0))/MaxSequenceGroups))
		return nil
	}
	return &seqGen{start: start, span: span, groups: map[int]*seqCounter{}}
}

func buildSample(ps core.ParamSpec, path string, errs *core.FieldErrors) param {
	ok := true
	switch {
	case ps.Table == "":
		errs.Add(path+".table", "missing: sample needs the table (and column) to read keys from")
		ok = false
	case !validTable(ps.Table):
		errs.Add(path+".table", fmt.Sprintf("%q is not a table name: want name, schema.name or db.schema.name, each part [A-Za-z_][A-Za-z0-9_$]* or \"double quoted\"", ps.Table))
		ok = false
	}
	switch {
	case ps.Column == "":
		errs.Add(path+".column", "missing: sample needs the column to read keys from")
		ok = false
	case !validColumn(ps.Column):
		errs.Add(path+".column", fmt.Sprintf("%q is not a column name: want [A-Za-z_][A-Za-z0-9_$]* or \"double quoted\"", ps.Column))
		ok = false
	}
	limit := ps.Limit
	if limit == 0 {
		limit = DefaultSampleLimit
	}
	if limit < 0 {
		errs.Add(path+".limit", fmt.Sprintf("must be positive, got %d", limit))
		ok = false
	}
	if !ok {
		return nil
	}
	return &sampleGen{
		table: ps.Table, column: ps.Column, limit: limit, path: path,
		query: fmt.Sprintf("SELECT %s FROM %s WHERE %s IS NOT NULL ORDER BY RANDOM() LIMIT %d", ps.Column, ps.Table, ps.Column, limit),
	}
}

func buildString(ps core.ParamSpec, path string, errs *core.FieldErrors) param {
	ok := true
	if ps.MinLen < 0 {
		errs.Add(path+".min_len", fmt.Sprintf("must not be negative, got %d", ps.MinLen))
		ok = false
	}
	switch {
	case ps.MaxLen <= 0:
		errs.Add(path+".max_len", fmt.Sprintf("must be positive (the longest string), got %d", ps.MaxLen))
		ok = false
	case ps.MaxLen > MaxStringLen:
		errs.Add(path+".max_len", fmt.Sprintf("must be at most %d, got %d", MaxStringLen, ps.MaxLen))
		ok = false
	case ps.MinLen > ps.MaxLen:
		errs.Add(path+".min_len", fmt.Sprintf("min_len (%d) is greater than max_len (%d)", ps.MinLen, ps.MaxLen))
		ok = false
	}
	if !ok {
		return nil
	}
	return &stringGen{minLen: ps.MinLen, maxLen: ps.MaxLen}
}

func buildChoice(ps core.ParamSpec, path string, errs *core.FieldErrors) param {
	if len(ps.Values) == 0 {
		errs.Add(path+".values", "choice needs at least one value")
		return nil
	}
	g := &choiceGen{values: make([][]byte, len(ps.Values))}
	for i, v := range ps.Values {
		b := []byte(v)
		g.values[i] = b[:len(b):len(b)]
	}
	return g
}

// validTable reports whether s is a table name of one to three parts.
func validTable(s string) bool {
	for part := 0; ; part++ {
		n := identLen(s)
		if n == 0 || part == 3 {
			return false
		}
		if n == len(s) {
			return true
		}
		if s[n] != '.' {
			return false
		}
		s = s[n+1:]
	}
}

// validColumn reports whether s is one identifier.
func validColumn(s string) bool { n := identLen(s); return n > 0 && n == len(s) }

// identLen returns the length of the identifier at the start of s — plain
// [A-Za-z_][A-Za-z0-9_$]*, or double quoted with no quote, NUL or newline
// inside — or 0 if there is none. No identifier admits a character that
// could end the statement or start another.
func identLen(s string) int {
	if s == "" {
		return 0
	}
	if s[0] == '"' {
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '"':
				if i == 1 {
					return 0
				}
				return i + 1
			case 0, '\n', '\r':
				return 0
			}
		}
		return 0
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && ('0' <= c && c <= '9' || c == '$') {
			continue
		}
		return i
	}
	return len(s)
}
