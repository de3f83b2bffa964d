//go:build linux

package postgres

import (
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The affinity balancer (engine_affinity=rx, AffinityRX) moves each
// connection to the event loop that runs on the CPU receiving its packets.
//
// Why: a loop wakes a connection's server backend with every request, and
// the backend wakes the loop with every answer. On one machine the
// scheduler places the backends, and where a backend settles decides what
// each of those wake-ups costs: on the waker's own core, a context switch;
// on the other, an inter-processor interrupt too (a VM exit under
// virtualisation). On 2 cores at 4 connections, 2 loops of 2 connections
// (and pgbench -j 2 likewise) settled either with each loop's two backends
// on its own core (125–145k QPS) or with one on each (75–90k), and stayed
// there for the run. One swap of two connections between the loops turns
// the second state into the first.
//
// How: every affinityPeriod the balancer reads each loop's CPU (published
// by the loop, getcpu(2) every cpuEvery executions) and each connection's
// SO_INCOMING_CPU, the CPU that processed the last packet it received —
// on loopback, the CPU the backend ran on when it sent its answer; over a
// network, the CPU serving the NIC queue the connection hashes to. A
// connection on another loop's CPU wants that loop. When two connections
// have each wanted the other's loop (or one wants a loop where the other
// is away from home too) for affinityStreak looks in a row, they swap; a
// swap keeps every loop's number of connections. The move itself happens
// on the loop, between two executions (evloop.handoff), so an execution
// never straddles two loops. A connection that moved sits out
// affinityRest looks: backends and loops drift, and a swap must not chase
// every drift.
//
// Cost: per look, one getsockopt(2) per connection (64 connections: 640
// system calls a second, on the balancer's goroutine, not the loops').

const (
	affinityPeriod = 100 * time.Millisecond
	affinityStreak = 3
	affinityRest   = 10
)

// placement is the balancer's view of one connection.
type placement struct {
	loop   int   // the loop serving it (index in the engine's loops)
	rx     int32 // its SO_INCOMING_CPU; -1 unknown
	want   int   // the loop it wanted at the last look; -1 none
	streak int   // consecutive looks wanting want
	away   int   // consecutive looks not on its loop's CPU
	rest   int   // looks to sit out after a move
}

// planSwaps updates each connection's wishes from the loops' CPUs
// (loopCPU[i], -1 unknown) and the connections' loop and rx, and returns
// the swaps to make as pairs of indices into ps. A CPU shared by two loops
// (or unknown) is nobody's home: connections on it want nothing.
func planSwaps(loopCPU []int32, ps []*placement) [][2]int {
	home := make(map[int32]int, len(loopCPU)) // CPU → its loop; -1: shared
	for i, c := range loopCPU {
		if c < 0 {
			continue
		}
		if _, dup := home[c]; dup {
			home[c] = -1
		} else {
			home[c] = i
		}
	}
	for _, p := range ps {
		if p.rest > 0 {
			p.rest--
			p.want, p.streak, p.away = -1, 0, 0
			continue
		}
		w, ok := home[p.rx]
		if !ok {
			w = -1
		}
		if w == p.loop || p.rx < 0 { // home, or nothing known: no wish
			p.want, p.streak, p.away = -1, 0, 0
			continue
		}
		p.away++
		if w != p.want {
			p.want, p.streak = w, 0
		}
		if w >= 0 {
			p.streak++
		}
	}
	var swaps [][2]int
	used := make([]bool, len(ps))
	for i, p := range ps {
		if used[i] || p.want < 0 || p.streak < affinityStreak {
			continue
		}
		// A partner on the loop p wants: one that wants p's loop back
		// first, else one that is away from its own CPU as long.
		best := -1
		for j, q := range ps {
			if used[j] || j == i || q.loop != p.want || q.away < affinityStreak {
				continue
			}
			if q.want == p.loop && q.streak >= affinityStreak {
				best = j
				break
			}
			if best < 0 {
				best = j
			}
		}
		if best < 0 {
			continue
		}
		used[i], used[best] = true, true
		for _, x := range []*placement{p, ps[best]} {
			x.want, x.streak, x.away, x.rest = -1, 0, 0, affinityRest
		}
		swaps = append(swaps, [2]int{i, best})
	}
	return swaps
}

// balance is the balancer's goroutine: it runs from the engine's second
// loop's start until Close.
func (e *epollEngine) balance() {
	defer e.wg.Done()
	t := time.NewTicker(affinityPeriod)
	defer t.Stop()
	var (
		cpus []int32
		ps   []*placement
	)
	for {
		select {
		case <-e.quit:
			return
		case <-t.C:
		}
		e.mu.Lock()
		cpus = cpus[:0]
		for _, l := range e.loops {
			cpus = append(cpus, l.cpu.Load())
		}
		ps = ps[:0]
		for _, s := range e.served {
			s.place.loop = e.loopIndex(s.loop.Load())
			s.place.rx = incomingCPU(s.sock)
			if s.moveTo.Load() != nil || s.place.loop < 0 {
				s.place.rx = -1 // a move not made yet: wait for it
			}
			ps = append(ps, &s.place)
		}
		for _, sw := range planSwaps(cpus, ps) {
			a, b := e.served[sw[0]], e.served[sw[1]]
			la, lb := e.loops[a.place.loop], e.loops[b.place.loop]
			// Each moves at its next execution (evloop.next); an idle one
			// when its loop next wakes.
			a.moveTo.Store(lb)
			b.moveTo.Store(la)
		}
		e.mu.Unlock()
	}
}

// loopIndex returns l's index in e.loops, -1 if none; the caller holds
// e.mu.
func (e *epollEngine) loopIndex(l *evloop) int {
	for i, x := range e.loops {
		if x == l {
			return i
		}
	}
	return -1
}

// incomingCPU returns the socket's SO_INCOMING_CPU, -1 when it has none
// (nothing received yet) or is closed.
func incomingCPU(s *sockConn) int32 {
	if !s.acquire() {
		return -1
	}
	defer s.release()
	c, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_INCOMING_CPU)
	if err != nil || c < 0 {
		return -1
	}
	return int32(c)
}

// getcpu returns the CPU the calling thread runs on (getcpu(2); a raw
// call: it never blocks), -1 if the kernel will not say.
func getcpu() int32 {
	var c uint32
	_, _, errno := syscall.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&c)), 0, 0)
	if errno != 0 {
		return -1
	}
	return int32(c)
}
