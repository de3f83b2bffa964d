package metrics_test

import (
	"strings"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/unistore-bench/unistore/metrics"
)

// FuzzDecode feeds arbitrary text to the decoder of stored histograms (the
// HDR V2 compressed base64 form every snapshot row holds). It never
// panics; what decodes re-encodes and decodes to the same counts.
func FuzzDecode(f *testing.F) {
	h := metrics.NewHistogram()
	for v := int64(1); v < 1e6; v *= 3 {
		h.RecordValue(v)
	}
	good, err := metrics.Encode(h)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, good[:len(good)/2], "HISTFAAAAB", "", "\x00", "HISTFAAAACx4nJNpmSzMwMDAyAABMBoAFd0A6g==", "!!!"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := metrics.Decode(s)
		if err != nil || h == nil {
			return
		}
		again, err := metrics.Encode(h)
		if err != nil {
			t.Fatalf("decoded histogram does not encode: %v", err)
		}
		h2, err := metrics.Decode(again)
		if err != nil {
			t.Fatalf("re-encoded histogram does not decode: %v", err)
		}
		if h2.TotalCount() != h.TotalCount() || h2.Max() != h.Max() {
			t.Fatalf("round trip: count %d→%d, max %d→%d", h.TotalCount(), h2.TotalCount(), h.Max(), h2.Max())
		}
	})
}

// TestDecodeRefusesWideGeometry: a stored histogram whose header asks for a
// wider range or precision than unistore records is refused before
// hdrhistogram-go allocates its counts (a few bytes could ask for
// gigabytes).
func TestDecodeRefusesWideGeometry(t *testing.T) {
	for _, g := range []struct{ lo, hi, sig int64 }{{1, 1e12, 3}, {1, metrics.HighestMicros, 4}} {
		h := hdr.New(g.lo, g.hi, int(g.sig))
		h.RecordValue(5)
		b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := metrics.Decode(string(b)); err == nil || !strings.Contains(err.Error(), "not within unistore's") {
			t.Errorf("geometry %v: Decode = %v, want it refused", g, err)
		}
	}
}
