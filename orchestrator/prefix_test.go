package orchestrator

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// stallingWriter records writes; the first one then blocks until release
// is closed, as a pipe full at the wrong moment would.
type stallingWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	calls   int
	stalled chan struct{}
	release chan struct{}
}

func (w *stallingWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(b)
	w.calls++
	first := w.calls == 1
	w.mu.Unlock()
	if first {
		close(w.stalled)
		<-w.release
	}
	return len(b), nil
}

// TestPrefixWriterWholeLines: two workers' prefixed output sharing one
// writer never mixes within a line, even when one write stalls between
// another worker's.
func TestPrefixWriterWholeLines(t *testing.T) {
	w := &stallingWriter{stalled: make(chan struct{}), release: make(chan struct{})}
	a := &prefixWriter{w: w, prefix: []byte("worker-0: ")}
	b := &prefixWriter{w: w, prefix: []byte("worker-1: ")}
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Write([]byte("msg=\"worker: stopped\" a\n"))
	}()
	<-w.stalled
	b.Write([]byte("msg=\"worker: stopped\" b\nsecond ")) // a line and a half
	b.Write([]byte("half\n"))
	close(w.release)
	<-done
	got := strings.Split(strings.TrimSuffix(w.buf.String(), "\n"), "\n")
	want := map[string]bool{
		`worker-0: msg="worker: stopped" a`: true,
		`worker-1: msg="worker: stopped" b`: true,
		`worker-1: second half`:             true,
	}
	if len(got) != len(want) {
		t.Fatalf("lines %q", got)
	}
	for _, l := range got {
		if !want[l] {
			t.Errorf("mixed line %q; all: %q", l, got)
		}
	}
}
