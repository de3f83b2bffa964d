package postgres

import (
	"runtime"
	"testing"
)

// TestDedicateLoops: GOMAXPROCS is one more than the dedicated loops
// while any run, never below what they found, and set back when the last
// ends — unless someone else set it meanwhile.
func TestDedicateLoops(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(base) })
	step := func(n, want int) {
		t.Helper()
		if got := dedicateLoops(n); got != want {
			t.Fatalf("dedicateLoops(%d) = %d, want %d", n, got, want)
		}
		if got := runtime.GOMAXPROCS(0); got != want {
			t.Fatalf("after dedicateLoops(%d): GOMAXPROCS %d, want %d", n, got, want)
		}
		if got := rawLimit.Load(); rawWaitOK() && int(got) != want-1 {
			t.Fatalf("after dedicateLoops(%d): rawLimit %d, want %d (one P left free)", n, got, want-1)
		}
	}
	step(1, max(base, 2))
	step(2, max(base, 4))
	if got := baseProcs(); got != base {
		t.Errorf("baseProcs with loops running = %d, want %d (the value they found)", got, base)
	}
	step(-1, max(base, 3))
	step(-2, base)

	// Someone else's GOMAXPROCS is raised when the loops need more, never
	// lowered by them.
	step(2, max(base, 3))
	runtime.GOMAXPROCS(base + 5)
	step(-2, base+5)
	runtime.GOMAXPROCS(1)
	step(3, 4)
	step(-3, 1)
}
