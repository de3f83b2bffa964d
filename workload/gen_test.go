package workload_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/workload"
)

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }
func loop(seed uint64, group, conn int) workload.Loop {
	return workload.Loop{Seed: seed, Group: group, Groups: 1, Conn: conn, Rand: workload.NewRand(seed, group, conn)}
}

// one compiles a workload of one operation "op" binding the given params.
func one(t testing.TB, params ...core.ParamSpec) *workload.Compiled {
	t.Helper()
	sql := "SELECT 1" + strings.Repeat(", ?", len(params))
	c, err := workload.Compile(core.WorkloadSpec{Operations: []core.OperationSpec{{Name: "op", SQL: sql, Params: params}}})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

// draw returns n values of operation 0's first param. Text is copied: it
// may alias a buffer the next call reuses.
func draw(s workload.Source, n int) []core.Value {
	out := make([]core.Value, 0, n)
	var dst []core.Value
	for range n {
		dst = s.Args(0, dst)
		v := dst[0]
		if v.Text != nil {
			v.Text = slices.Clone(v.Text)
		}
		out = append(out, v)
	}
	return out
}

func TestUniformChiSquare(t *testing.T) {
	const (
		lo, hi = 1, 100
		k      = hi - lo + 1
		n      = 100_000
		// The 0.999 quantile of chi-square with k-1 = 99 degrees of
		// freedom: a correct generator fails this once in a thousand seeds.
		crit = 148.23
	)
	c := one(t, core.ParamSpec{Gen: "uniform", Min: i64(lo), Max: i64(hi)})
	counts := make([]float64, k)
	for _, v := range draw(c.NewSource(loop(7, 0, 0)), n) {
		if v.Kind != core.KindInt || v.Int < lo || v.Int > hi {
			t.Fatalf("value %+v outside [%d, %d]", v, lo, hi)
		}
		counts[v.Int-lo]++
	}
	if chi := chiSquare(counts, n/float64(k)); chi > crit {
		t.Errorf("chi-square = %.1f, want <= %.2f (99 df, p = 0.001)", chi, crit)
	}
}

func chiSquare(counts []float64, expected float64) float64 {
	var chi float64
	for _, c := range counts {
		chi += (c - expected) * (c - expected) / expected
	}
	return chi
}

func TestUniformEdges(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi int64
	}{
		{"single value", 5, 5},
		{"negative", -10, -1},
		{"whole int64 range", math.MinInt64, math.MaxInt64},
		{"top of range", math.MaxInt64 - 2, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := one(t, core.ParamSpec{Gen: "uniform", Min: i64(tt.lo), Max: i64(tt.hi)})
			for _, v := range draw(c.NewSource(loop(1, 0, 0)), 1000) {
				if v.Int < tt.lo || v.Int > tt.hi {
					t.Fatalf("got %d, want in [%d, %d]", v.Int, tt.lo, tt.hi)
				}
			}
		})
	}
}

// TestZipfianDistribution checks the zipfian generator two ways:
//   - against the exact output distribution of the Gray et al. algorithm
//     (ranks 0 and 1 have the Zipf probabilities; rank k ≥ 2 has
//     (((k+1)/n)^(1-θ) − (k/n)^(1-θ))/η), every one of the top 10 ranks
//     within 5 binomial sigmas;
//   - against the true Zipf law p(k) = (k+1)^-θ / ζ(n, θ): ranks 0 and 1
//     within 5 sigmas, ranks 2..9 within 20% — the algorithm's continuous
//     approximation over-weights rank 2 by up to ~18% (as YCSB's does);
//
// and that popularity decreases: the mean count per rank over ranks
// [2^j, 2^(j+1)) falls as j grows.
func TestZipfianDistribution(t *testing.T) {
	const (
		n     = 1000
		draws = 200_000
	)
	for _, theta := range []float64{0.5, 0.99, 1.2} {
		t.Run(fmt.Sprint("theta=", theta), func(t *testing.T) {
			c := one(t, core.ParamSpec{Gen: "zipfian", Min: i64(1), Max: i64(n), Theta: theta})
			counts := make([]float64, n)
			for _, v := range draw(c.NewSource(loop(3, 0, 0)), draws) {
				if v.Int < 1 || v.Int > n {
					t.Fatalf("value %d outside [1, %d]", v.Int, n)
				}
				counts[v.Int-1]++
			}
			zetan := workload.Zeta(n, theta)
			zeta2 := 1 + math.Pow(0.5, theta)
			a := 1 - theta
			eta := (1 - math.Pow(2.0/n, a)) / (1 - zeta2/zetan)
			within := func(k int, p, sigmas float64) bool {
				sd := math.Sqrt(draws * p * (1 - p))
				return math.Abs(counts[k]-draws*p) <= sigmas*sd
			}
			for k := range 10 {
				zipf := math.Pow(float64(k+1), -theta) / zetan
				gray := zipf
				if k >= 2 {
					gray = (math.Pow(float64(k+1)/n, a) - math.Pow(float64(k)/n, a)) / eta
				}
				got := counts[k] / draws
				if !within(k, gray, 5) {
					t.Errorf("rank %d: frequency %.5f, want the algorithm's %.5f within 5 sigma", k, got, gray)
				}
				switch {
				case k < 2 && !within(k, zipf, 5):
					t.Errorf("rank %d: frequency %.5f, want Zipf's %.5f within 5 sigma", k, got, zipf)
				case k >= 2 && math.Abs(got/zipf-1) > 0.20:
					t.Errorf("rank %d: frequency %.5f, want Zipf's %.5f within 20%%", k, got, zipf)
				}
			}
			prev := math.Inf(1)
			for lo := 1; lo < n; lo *= 2 {
				hi := min(2*lo, n)
				var sum float64
				for _, c := range counts[lo:hi] {
					sum += c
				}
				mean := sum / float64(hi-lo)
				if mean >= prev {
					t.Errorf("mean count over ranks [%d, %d) = %.1f, not below the previous bucket's %.1f", lo, hi, mean, prev)
				}
				prev = mean
			}
		})
	}
}

func TestZipfianScramble(t *testing.T) {
	const n = 1000
	c := one(t, core.ParamSpec{Gen: "zipfian", Min: i64(0), Max: i64(n - 1), Scramble: true})
	counts := make(map[int64]int)
	for _, v := range draw(c.NewSource(loop(3, 0, 0)), 50_000) {
		if v.Int < 0 || v.Int >= n {
			t.Fatalf("value %d outside [0, %d)", v.Int, n)
		}
		counts[v.Int]++
	}
	// The hottest key is no longer min: rank 0 maps to fnv64(0) mod n.
	hottest := int64(-1)
	for v, c := range counts {
		if hottest < 0 || c > counts[hottest] {
			hottest = v
		}
	}
	if hottest == 0 {
		t.Errorf("hottest key is min (0): scramble did not spread the keys")
	}
	if got, want := float64(counts[hottest])/50_000, 1/workload.Zeta(n, 0.99); got < want {
		t.Errorf("hottest key frequency %.4f, want at least rank 0's %.4f", got, want)
	}
}

func TestZeta(t *testing.T) {
	for _, theta := range []float64{0.2, 0.99, 1.01, 1.5} {
		// Past 65536 terms Zeta switches to Euler–Maclaurin: compare it
		// with plain summation.
		const n = 1_000_000
		var want float64
		for i := n; i >= 1; i-- {
			want += math.Pow(float64(i), -theta)
		}
		if got := workload.Zeta(n, theta); math.Abs(got-want) > 1e-11*want {
			t.Errorf("Zeta(%d, %v) = %.15g, want %.15g", n, theta, got, want)
		}
	}
}

func TestZipfianLargeRangeCompilesFast(t *testing.T) {
	start := time.Now()
	c := one(t, core.ParamSpec{Gen: "zipfian", Min: i64(1), Max: i64(1_000_000_000)})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("compiling a zipfian over 1e9 keys took %v", d)
	}
	for _, v := range draw(c.NewSource(loop(1, 0, 0)), 1000) {
		if v.Int < 1 || v.Int > 1_000_000_000 {
			t.Fatalf("value %d out of range", v.Int)
		}
	}
	// The whole int64 range too.
	one(t, core.ParamSpec{Gen: "zipfian", Min: i64(math.MinInt64), Max: i64(math.MaxInt64)})
}

func TestStringAndChoice(t *testing.T) {
	t.Run("string", func(t *testing.T) {
		c := one(t, core.ParamSpec{Gen: "string", MinLen: 3, MaxLen: 12})
		lens := map[int]bool{}
		chars := make([]float64, 62)
		var total float64
		for _, v := range draw(c.NewSource(loop(1, 0, 0)), 20_000) {
			if v.Kind != core.KindText || len(v.Text) < 3 || len(v.Text) > 12 {
				t.Fatalf("got %+v, want text of 3..12 bytes", v)
			}
			lens[len(v.Text)] = true
			for _, b := range v.Text {
				i := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", b)
				if i < 0 {
					t.Fatalf("byte %q is not alphanumeric", b)
				}
				chars[i]++
				total++
			}
		}
		if len(lens) != 10 {
			t.Errorf("saw %d distinct lengths, want all 10", len(lens))
		}
		// 61 df, p = 0.001.
		if chi := chiSquare(chars, total/62); chi > 100.9 {
			t.Errorf("character chi-square = %.1f, want <= 100.9", chi)
		}
	})
	t.Run("choice", func(t *testing.T) {
		values := []string{"gold", "silver", "bronze"}
		c := one(t, core.ParamSpec{Gen: "choice", Values: values})
		seen := map[string]int{}
		for _, v := range draw(c.NewSource(loop(1, 0, 0)), 3000) {
			seen[string(v.Text)]++
		}
		if got := slices.Sorted(mapsKeys(seen)); !cmp.Equal(got, []string{"bronze", "gold", "silver"}) {
			t.Errorf("values seen %v", got)
		}
	})
	t.Run("now", func(t *testing.T) {
		c := one(t, core.ParamSpec{Gen: "now"})
		before := time.Now().Add(-time.Second)
		v := draw(c.NewSource(loop(1, 0, 0)), 1)[0]
		if v.Kind != core.KindTime || v.Time.Before(before) || v.Time.After(time.Now().Add(time.Second)) {
			t.Errorf("now = %+v, want the current time", v)
		}
	})
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// snapshot draws count (op, args) pairs the way a loop does: the mix and the
// params share the loop's Rand. Text is copied.
func snapshot(w workload.Workload, l workload.Loop, count int) []string {
	mix := workload.NewMix(w.Operations())
	src := w.NewSource(l)
	var dst []core.Value
	out := make([]string, 0, count)
	for range count {
		op := mix.Pick(l.Rand)
		dst = src.Args(op, dst)
		var b strings.Builder
		fmt.Fprint(&b, op)
		for _, v := range dst {
			fmt.Fprintf(&b, " %d:%v", v.Kind, v.Any())
		}
		out = append(out, b.String())
	}
	return out
}

func TestSeedReproducesSequence(t *testing.T) {
	ws := core.WorkloadSpec{Operations: []core.OperationSpec{
		{Name: "read", Weight: f64(5), SQL: "SELECT v FROM t WHERE k = ? AND z = ?", Params: []core.ParamSpec{
			{Gen: "uniform", Min: i64(1), Max: i64(1 << 40)},
			{Gen: "zipfian", Min: i64(1), Max: i64(100_000), Scramble: true},
		}},
		{Name: "write", SQL: "UPDATE t SET s = ?, c = ? WHERE k = ?", Params: []core.ParamSpec{
			{Gen: "string", MinLen: 1, MaxLen: 20},
			{Gen: "choice", Values: []string{"a", "b", "c"}},
			{Gen: "sample", Table: "t", Column: "k"},
		}},
	}}
	compile := func() *workload.Compiled {
		c, err := workload.Compile(ws)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Prepare(context.Background(), fakeQuerier{"k": ints(1, 500)}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := snapshot(compile(), loop(42, 2, 3), 2000)
	b := snapshot(compile(), loop(42, 2, 3), 2000)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different sequences (-first +second):\n%s", diff)
	}
	for _, other := range []workload.Loop{loop(43, 2, 3), loop(42, 1, 3), loop(42, 2, 4)} {
		if c := snapshot(compile(), other, 2000); cmp.Equal(a, c) {
			t.Errorf("loop (seed %d, group %d, conn %d) reproduces (42, 2, 3)", other.Seed, other.Group, other.Conn)
		}
	}
}

func TestSequenceGroupsNeverOverlap(t *testing.T) {
	const (
		groups = 8
		loops  = 4
		each   = 2000
		span   = 1_000_000
		start  = 100
	)
	c := one(t, core.ParamSpec{Gen: "sequence", Start: i64(start), Span: i64(span)})
	got := make([][][]int64, groups) // group → loop → values
	var wg sync.WaitGroup
	for g := range groups {
		got[g] = make([][]int64, loops)
		for l := range loops {
			src := c.NewSource(workload.Loop{Seed: 1, Group: g, Groups: groups, Conn: l, Rand: workload.NewRand(1, g, l)})
			wg.Go(func() {
				var dst []core.Value
				for range each {
					dst = src.Args(0, dst)
					got[g][l] = append(got[g][l], dst[0].Int)
				}
			})
		}
	}
	wg.Wait()
	all := make(map[int64]int)
	for g := range groups {
		var vals []int64
		for l := range loops {
			vals = append(vals, got[g][l]...)
		}
		slices.Sort(vals)
		// One counter per group: the group's values are exactly
		// start + g*span + 0 … loops*each-1, so unique and dense.
		base := int64(start + g*span)
		for i, v := range vals {
			if v != base+int64(i) {
				t.Fatalf("group %d: sorted value %d is %d, want %d", g, i, v, base+int64(i))
			}
			if h, dup := all[v]; dup {
				t.Fatalf("value %d emitted by groups %d and %d", v, h, g)
			}
			all[v] = g
		}
	}
}

func TestSequenceWrapsWithinGroup(t *testing.T) {
	c := one(t, core.ParamSpec{Gen: "sequence", Span: i64(3)}) // start defaults to 1
	var got []int64
	for _, v := range draw(c.NewSource(loop(1, 2, 0)), 7) {
		got = append(got, v.Int)
	}
	if diff := cmp.Diff([]int64{7, 8, 9, 7, 8, 9, 7}, got); diff != "" {
		t.Errorf("group 2 of span 3 (-want +got):\n%s", diff)
	}
}

// fakeQuerier answers the sample query for a column from a map.
type fakeQuerier map[string][]core.Value

func (f fakeQuerier) QueryColumn(_ context.Context, sql string) ([]core.Value, error) {
	for col, vals := range f {
		if strings.HasPrefix(sql, "SELECT "+col+" FROM ") {
			return vals, nil
		}
	}
	return nil, nil
}

func ints(lo, hi int64) []core.Value {
	var out []core.Value
	for v := lo; v <= hi; v++ {
		out = append(out, core.Int(v))
	}
	return out
}

// recordingQuerier records the statements it is sent.
type recordingQuerier struct {
	sqls []string
	vals []core.Value
	err  error
}

func (r *recordingQuerier) QueryColumn(_ context.Context, sql string) ([]core.Value, error) {
	r.sqls = append(r.sqls, sql)
	return r.vals, r.err
}

func TestSample(t *testing.T) {
	ws := core.WorkloadSpec{Operations: []core.OperationSpec{
		{Name: "get", SQL: "SELECT * FROM public.users WHERE name = ?", Params: []core.ParamSpec{
			{Gen: "sample", Table: "public.users", Column: "name", Limit: 50}}},
		{Name: "get2", SQL: "SELECT * FROM public.users WHERE name = ?", Params: []core.ParamSpec{
			{Gen: "sample", Table: "public.users", Column: "name", Limit: 50}}},
	}}
	c, err := workload.Compile(ws)
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("ann")
	q := &recordingQuerier{vals: []core.Value{{Kind: core.KindText, Text: buf}, core.Text("bob"), {Kind: core.KindNull}, core.Text("cy")}}
	if err := c.Prepare(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXX") // the driver reuses its buffer: the sample must not change
	want := []string{"SELECT name FROM public.users WHERE name IS NOT NULL ORDER BY RANDOM() LIMIT 50"}
	if diff := cmp.Diff(want, q.sqls); diff != "" {
		t.Errorf("statements (one per distinct sample; -want +got):\n%s", diff)
	}
	seen := map[string]int{}
	for _, v := range draw(c.NewSource(loop(1, 0, 0)), 3000) {
		seen[string(v.Text)]++
	}
	if got := slices.Sorted(mapsKeys(seen)); !cmp.Equal(got, []string{"ann", "bob", "cy"}) {
		t.Errorf("sampled %v, want ann, bob and cy (no NULL)", got)
	}
}

func TestSampleErrors(t *testing.T) {
	ws := core.WorkloadSpec{Operations: []core.OperationSpec{
		{Name: "lookup", SQL: "SELECT 1 WHERE ? > 0", Params: []core.ParamSpec{{Gen: "sample", Table: "empty_t", Column: "id"}}},
	}}
	c, err := workload.Compile(ws)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("empty table", func(t *testing.T) {
		err := c.Prepare(context.Background(), &recordingQuerier{vals: []core.Value{{Kind: core.KindNull}}})
		if !errors.Is(err, core.ErrInvalidSpec) {
			t.Fatalf("Prepare = %v, want an invalid-spec error", err)
		}
		want := `workload.operations[0].params[0].table: operation "lookup" samples empty_t.id, which has no rows (load the table first)`
		if got := err.Error(); got != want {
			t.Errorf("error\n got %s\nwant %s", got, want)
		}
	})
	t.Run("query fails", func(t *testing.T) {
		boom := errors.New("connection refused")
		err := c.Prepare(context.Background(), &recordingQuerier{err: boom})
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), `"lookup"`) {
			t.Errorf("Prepare = %v, want it to wrap %v and name the operation", err, boom)
		}
	})
	t.Run("NewSource before Prepare panics", func(t *testing.T) {
		c, _ := workload.Compile(ws)
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "Prepare") {
				t.Errorf("recover() = %v, want a panic naming Prepare", r)
			}
		}()
		c.NewSource(loop(1, 0, 0))
	})
}

// TestArgsDoNotAllocate enforces what the benchmarks show: every generator
// runs without allocating once its loop is set up.
func TestArgsDoNotAllocate(t *testing.T) {
	for _, bc := range generatorCases() {
		t.Run(bc.name, func(t *testing.T) {
			src := bc.source(t)
			dst := make([]core.Value, 0, 4)
			if n := testing.AllocsPerRun(1000, func() { dst = src.Args(0, dst) }); n != 0 {
				t.Errorf("Args allocates %v times per call, want 0", n)
			}
		})
	}
	mix := workload.NewMix([]workload.Operation{{Name: "a", Weight: 1}, {Name: "b", Weight: 3}})
	r := workload.NewRand(1, 0, 0)
	if n := testing.AllocsPerRun(1000, func() { mix.Pick(r) }); n != 0 {
		t.Errorf("Pick allocates %v times per call, want 0", n)
	}
}

type generatorCase struct {
	name   string
	source func(testing.TB) workload.Source
}

func generatorCases() []generatorCase {
	simple := func(name string, ps core.ParamSpec) generatorCase {
		return generatorCase{name, func(tb testing.TB) workload.Source { return one(tb, ps).NewSource(loop(1, 0, 0)) }}
	}
	return []generatorCase{
		simple("uniform", core.ParamSpec{Gen: "uniform", Min: i64(1), Max: i64(1_000_000)}),
		simple("zipfian", core.ParamSpec{Gen: "zipfian", Min: i64(1), Max: i64(1_000_000)}),
		simple("zipfian-scrambled", core.ParamSpec{Gen: "zipfian", Min: i64(1), Max: i64(1_000_000), Scramble: true}),
		simple("sequence", core.ParamSpec{Gen: "sequence"}),
		simple("string", core.ParamSpec{Gen: "string", MinLen: 8, MaxLen: 64}),
		simple("choice", core.ParamSpec{Gen: "choice", Values: []string{"a", "b", "c"}}),
		simple("now", core.ParamSpec{Gen: "now"}),
		{"sample", func(tb testing.TB) workload.Source {
			c := one(tb, core.ParamSpec{Gen: "sample", Table: "t", Column: "k"})
			if err := c.Prepare(context.Background(), fakeQuerier{"k": ints(1, 1000)}); err != nil {
				tb.Fatal(err)
			}
			return c.NewSource(loop(1, 0, 0))
		}},
	}
}

func BenchmarkSourceArgs(b *testing.B) {
	for _, bc := range generatorCases() {
		b.Run(bc.name, func(b *testing.B) {
			src := bc.source(b)
			dst := make([]core.Value, 0, 4)
			b.ReportAllocs()
			for b.Loop() {
				dst = src.Args(0, dst)
			}
		})
	}
}

// TestSequenceRelaunchDisjoint: a relaunched worker (attempt 1) of a group
// issues values no earlier attempt of that group — nor another group —
// issues, inside the group's shard.
func TestSequenceRelaunchDisjoint(t *testing.T) {
	const span = 1_600_000
	c := one(t, core.ParamSpec{Gen: "sequence", Start: i64(1), Span: i64(span)})
	seen := map[int64]string{}
	for _, g := range []int{0, 1} {
		for attempt := range 3 {
			l := loop(1, g, 0)
			l.Attempt = attempt
			who := fmt.Sprintf("group %d attempt %d", g, attempt)
			for _, v := range draw(c.NewSource(l), 1000) {
				if lo, hi := int64(1+g*span), int64(1+(g+1)*span); v.Int < lo || v.Int >= hi {
					t.Fatalf("%s: %d outside its group's shard [%d, %d)", who, v.Int, lo, hi)
				}
				if prev, dup := seen[v.Int]; dup {
					t.Fatalf("%s reissued %d, issued by %s", who, v.Int, prev)
				}
				seen[v.Int] = who
			}
		}
	}
}
