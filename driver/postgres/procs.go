package postgres

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// dedicated counts the event loops of the process's ProcsDedicated
// engines and holds GOMAXPROCS at one more than their number while any
// run (never below the value they found).
var dedicated struct {
	mu    sync.Mutex
	loops int // running dedicated loops
	base  int // GOMAXPROCS when the first of them started
	set   int // the GOMAXPROCS last set here; 0: none
}

// baseProcs is GOMAXPROCS as it was before any running dedicated loop
// raised it: the number of loops a ProcsDedicated engine runs by default,
// the same for every engine of the process.
func baseProcs() int {
	dedicated.mu.Lock()
	defer dedicated.mu.Unlock()
	if dedicated.loops > 0 {
		return dedicated.base
	}
	return runtime.GOMAXPROCS(0)
}

// dedicateLoops counts n more dedicated loops (fewer when n < 0) and sets
// GOMAXPROCS to max(base, loops+1), then back to base when none is left.
// A GOMAXPROCS changed since by someone else is theirs: it is raised when
// the loops need more, never lowered. It returns GOMAXPROCS as it leaves
// it.
func dedicateLoops(n int) int {
	dedicated.mu.Lock()
	defer dedicated.mu.Unlock()
	cur := runtime.GOMAXPROCS(0)
	if dedicated.loops == 0 {
		dedicated.base, dedicated.set = cur, 0
	}
	dedicated.loops += n
	want := max(dedicated.base, dedicated.loops+1)
	if dedicated.loops <= 0 {
		dedicated.loops, want = 0, dedicated.base
	}
	ours := dedicated.set != 0 && cur == dedicated.set
	if want > cur || (want < cur && ours) {
		runtime.GOMAXPROCS(want)
		dedicated.set, cur = want, want
	}
	storeRawLimit(cur)
	return cur
}

// rawLimit is how many event loops of the process may wait in a raw
// epoll_pwait at once (engine_linux.go): GOMAXPROCS−1, so one P is always
// free for the rest of the process however many engines it runs (an
// in-process run of several workers has one each), and 0 when the runtime
// does not preempt with signals (rawWaitOK). Engines refresh it as they
// start, and dedicateLoops as it changes GOMAXPROCS, both under
// dedicated.mu, so it follows GOMAXPROCS's changes in order.
var rawLimit atomic.Int32

// refreshRawLimit sets rawLimit from GOMAXPROCS as it is now.
func refreshRawLimit() {
	dedicated.mu.Lock()
	defer dedicated.mu.Unlock()
	storeRawLimit(runtime.GOMAXPROCS(0))
}

// storeRawLimit sets rawLimit for procs Ps; the caller holds dedicated.mu.
func storeRawLimit(procs int) {
	if !rawWaitOK() {
		procs = 1
	}
	rawLimit.Store(int32(procs - 1))
}

// rawWaitOK reports whether the runtime preempts with signals, which end a
// raw wait: not under GODEBUG asyncpreemptoff=1.
func rawWaitOK() bool {
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if strings.TrimSpace(kv) == "asyncpreemptoff=1" {
			return false
		}
	}
	return true
}
