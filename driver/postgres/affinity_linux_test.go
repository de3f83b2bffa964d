//go:build linux

package postgres

import (
	"context"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/internal/testpg"
)

// TestPlanSwaps: a connection whose packets arrive on another loop's CPU
// swaps with one there that wants its loop back (or is away from home
// too), only after affinityStreak looks in a row, never with a loop whose
// CPU another loop shares, and sits out affinityRest looks after a move.
func TestPlanSwaps(t *testing.T) {
	// place makes connections on loops with rx CPUs: pairs (loop, rx).
	place := func(lrx ...int) []*placement {
		var ps []*placement
		for i := 0; i+1 < len(lrx); i += 2 {
			ps = append(ps, &placement{loop: lrx[i], rx: int32(lrx[i+1]), want: -1})
		}
		return ps
	}
	looks := func(cpus []int32, ps []*placement, n int) (swaps [][2]int) {
		for range n {
			swaps = append(swaps, planSwaps(cpus, ps)...)
		}
		return swaps
	}

	// The split state: loop 0 (CPU 0) has connections on CPUs 0 and 1,
	// loop 1 (CPU 1) on 1 and 0. Connections 1 and 3 swap at the third look.
	ps := place(0, 0, 0, 1, 1, 1, 1, 0)
	cpus := []int32{0, 1}
	if s := looks(cpus, ps, affinityStreak-1); len(s) != 0 {
		t.Fatalf("swaps %v before %d looks", s, affinityStreak)
	}
	if s := planSwaps(cpus, ps); fmt.Sprint(s) != "[[1 3]]" {
		t.Fatalf("look %d: swaps %v, want [[1 3]]", affinityStreak, s)
	}
	// Still on their old loops (the move is the loops' to make), they sit
	// out affinityRest looks.
	if s := looks(cpus, ps, affinityRest); len(s) != 0 {
		t.Fatalf("swaps %v while resting", s)
	}

	// A wish that changes starts its streak again. Connection 1 is away
	// (on a CPU with no loop) and wants nothing; connection 0 wants loop 1.
	ps = place(0, 1, 1, 2)
	looks(cpus, ps, affinityStreak-1)
	ps[0].rx = 2 // now it wants nothing either
	if s := planSwaps(cpus, ps); len(s) != 0 {
		t.Errorf("swaps %v with no wish", s)
	}
	ps[0].rx = 1
	if s := looks(cpus, ps, affinityStreak-1); len(s) != 0 {
		t.Errorf("swaps %v: the streak did not restart", s)
	}
	if s := planSwaps(cpus, ps); fmt.Sprint(s) != "[[0 1]]" {
		t.Errorf("swaps %v, want [[0 1]] after a full streak", s)
	}

	// Home already, or nobody's home: no swaps.
	for name, tc := range map[string]struct {
		cpus []int32
		ps   []*placement
	}{
		"all home":             {[]int32{0, 1}, place(0, 0, 0, 0, 1, 1, 1, 1)},
		"loops share a CPU":    {[]int32{1, 1}, place(0, 0, 1, 1, 0, 1)},
		"loop CPUs unknown":    {[]int32{-1, -1}, place(0, 1, 1, 0)},
		"rx unknown":           {[]int32{0, 1}, place(0, -1, 1, -1)},
		"partner rx unknown":   {[]int32{0, 1}, place(0, 1, 1, -1)},
		"no partner away":      {[]int32{0, 1}, place(0, 1, 1, 1)},
		"wants its own loop":   {[]int32{0, 1}, place(1, 1, 0, 0)},
		"one loop":             {[]int32{0}, place(0, 1, 0, 1)},
		"rx on a loopless CPU": {[]int32{0, 1}, place(0, 3, 1, 3)},
	} {
		if s := looks(tc.cpus, tc.ps, 3*affinityStreak); len(s) != 0 {
			t.Errorf("%s: swaps %v, want none", name, s)
		}
	}

	// Three loops: a connection away from home swaps with one on the loop
	// it wants that is away too, even if that one wants a third loop.
	ps = place(0, 1, 1, 2, 2, 2)
	if s := looks([]int32{0, 1, 2}, ps, affinityStreak); fmt.Sprint(s) != "[[0 1]]" {
		t.Errorf("three loops: swaps %v, want [[0 1]]", s)
	}
}

// counter runs n executions of SELECT $1::int, then goes Idle until ctx
// ends, then releases. It records the OS threads (event loops: each is
// locked to its thread) it ran on.
type counter struct {
	ctx   context.Context
	st    driver.Stmt
	n     int
	sent  int
	done  int
	errs  []error
	tids  map[int]bool
	tid   int // the thread of the last Next
	first int // the thread of the first: the loop Serve handed it to
	// idle is the thread of its last Idle (0: not idle yet), changed
	// signalled when it is set (dropped when one is pending).
	idle    atomic.Int64
	changed chan struct{}
	tick    chan string // a note every 100 executions (dropped when full)
}

func (h *counter) Next() (driver.Stmt, []core.Value, driver.Step) {
	h.tid = unix.Gettid()
	h.tids[h.tid] = true
	if h.first == 0 {
		h.first = h.tid
	}
	switch {
	case h.ctx.Err() != nil:
		return nil, nil, driver.Release
	case h.sent == h.n:
		// A loop asks its idle connections again each time it wakes.
		if h.idle.Swap(int64(h.tid)) != int64(h.tid) {
			select {
			case h.changed <- struct{}{}:
			default:
			}
		}
		return nil, nil, driver.Idle
	}
	h.sent++
	return h.st, []core.Value{core.Int(int64(h.sent))}, driver.Run
}

func (h *counter) Done(rows int64, err error) {
	h.done++
	if err == nil && rows != 1 {
		err = fmt.Errorf("execution %d: %d rows, want 1", h.done, rows)
	}
	if err != nil {
		h.errs = append(h.errs, err)
	}
	if h.done%100 == 0 {
		select {
		case h.tick <- "":
		default:
		}
	}
}

// TestEngineMovesConnections: connections moved between event loops over
// and over while they run (what the balancer asks, here asked at every
// tick) keep their executions, each in order on one loop at a time; an
// idle connection moves when its loop wakes; and a run's end (its context)
// reaches the loop the connection is on now, not the one it left.
func TestEngineMovesConnections(t *testing.T) {
	u, err := url.Parse(testpg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("sslmode", "disable")
	q.Set(EngineParam, "epoll")
	u.RawQuery = q.Encode()
	c, err := NewConnector(u.String())
	if err != nil {
		t.Fatal(err)
	}
	// No balancer: the test asks for the moves.
	e, err := newEpollEngine(2, false, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const conns, execs = 4, 3000
	tick := make(chan string, 1)
	changed := make(chan struct{}, 1)
	served := make(chan error, conns)
	var (
		hs    []*counter
		stops []context.CancelFunc // each connection's Serve's context
	)
	for range conns {
		conn, err := c.Connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		st, err := conn.Prepare(ctx, "SELECT $1::int")
		if err != nil {
			t.Fatal(err)
		}
		serveCtx, stop := context.WithCancel(ctx)
		stops = append(stops, stop)
		h := &counter{ctx: serveCtx, st: st, n: execs, tids: map[int]bool{}, changed: changed, tick: tick}
		hs = append(hs, h)
		go func() { served <- e.Serve(serveCtx, conn, h) }()
	}
	// flipAll asks every connection to move to the loop it is not on (one
	// that has a move pending keeps it).
	flipAll := func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, s := range e.served {
			if s.moveTo.Load() == nil {
				s.moveTo.Store(e.loops[1-e.loopIndex(s.loop.Load())])
			}
		}
	}
	// idle returns how many connections are idle, on the thread in on
	// (by handler) when on is not nil.
	idle := func(on map[*counter]int64) int {
		n := 0
		for _, h := range hs {
			if tid := h.idle.Load(); tid != 0 && (on == nil || tid == on[h]) {
				n++
			}
		}
		return n
	}
	// While they run, move them at every tick, until all are idle.
	for n := idle(nil); n < conns; n = idle(nil) {
		select {
		case <-tick:
			flipAll()
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("%d of %d connections finished their executions", n, conns)
		}
	}
	for i, h := range hs {
		if h.done != execs || len(h.errs) > 0 {
			t.Errorf("connection %d: %d executions done, want %d; errors %v", i, h.done, execs, h.errs)
		}
		if len(h.tids) < 2 {
			t.Errorf("connection %d ran on %d loop, want both", i, len(h.tids))
		}
	}
	// Idle: each moves, when its loop wakes, to the loop Serve did not
	// hand it to, and goes idle there.
	to := map[*counter]int64{}
	e.mu.Lock()
	for _, s := range e.served {
		h := s.h.(*counter)
		target := e.loops[0]
		if int(target.tid.Load()) == h.first {
			target = e.loops[1]
		}
		s.moveTo.Store(target)
		to[h] = int64(target.tid.Load())
	}
	e.mu.Unlock()
	e.Wake()
	// Count before waiting: a connection the ticks left on its target
	// already goes idle on the same thread, which signals nothing.
	for n := idle(to); n < conns; n = idle(to) {
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("%d of %d idle connections moved when their loops woke", n, conns)
		}
	}
	// awaitServed waits for n Serve calls to return, failing with why if the
	// test's context ends first.
	awaitServed := func(n int, why string) {
		for range n {
			select {
			case err := <-served:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-ctx.Done():
				t.Fatal(why)
			}
		}
	}
	// A connection's context ends: its Serve returns, woken on the loop it
	// is on now, not the one it left (nothing else wakes that loop).
	stops[0]()
	awaitServed(1, "Serve did not return when its context ended: the wake-up went to the loop the connection left")
	// Then the others'.
	for _, stop := range stops[1:] {
		stop()
	}
	awaitServed(conns-1, "Serve did not return when its context ended")
	for i, l := range e.loops {
		if n := l.load.Load(); n != 0 {
			t.Errorf("loop %d: load %d after every Serve returned, want 0", i, n)
		}
	}
	e.mu.Lock()
	if n := len(e.served); n != 0 {
		t.Errorf("%d connections still in the balancer's list", n)
	}
	e.mu.Unlock()
}
