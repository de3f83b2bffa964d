package httpapi

import (
	"fmt"
	"testing"
)

// TestHubLateSubscriber: a client that subscribes after messages were
// published gets the newest at once, not at the next interval.
func TestHubLateSubscriber(t *testing.T) {
	h := newHub(4)
	h.publish([]byte("p1"))
	h.publish([]byte("p2"))
	c := h.subscribe()
	select {
	case b := <-c.ch:
		if string(b) != "p2" {
			t.Errorf("late subscriber got %q first, want the newest, p2", b)
		}
	default:
		t.Fatal("late subscriber got nothing at once")
	}
	h.unsubscribe(c)
	if _, ok := <-c.ch; ok {
		t.Error("channel open after unsubscribe")
	}
}

// TestHubSlowClient: a client that reads nothing never blocks publish; it
// keeps the newest messages its buffer holds and counts the rest as
// dropped, while a reading client gets every one.
func TestHubSlowClient(t *testing.T) {
	const size, n = 4, 1000
	h := newHub(size)
	slow, fast := h.subscribe(), h.subscribe()
	var got []string
	for i := range n {
		h.publish(fmt.Appendf(nil, "m%d", i)) // returns although slow reads nothing
		got = append(got, string(<-fast.ch))
	}
	if len(got) != n || got[n-1] != fmt.Sprintf("m%d", n-1) {
		t.Errorf("fast client got %d messages ending %q", len(got), got[len(got)-1])
	}
	if d := slow.dropped.Load(); d != n-size {
		t.Errorf("slow client dropped %d, want %d", d, n-size)
	}
	for i := n - size; i < n; i++ {
		if b := <-slow.ch; string(b) != fmt.Sprintf("m%d", i) {
			t.Errorf("slow client holds %q, want m%d (the newest kept, oldest dropped)", b, i)
		}
	}
	if fast.dropped.Load() != 0 {
		t.Errorf("fast client dropped %d", fast.dropped.Load())
	}
}

// TestHubFinish: the result is every client's last message, also a slow
// one's, and a subscriber after the end gets only the result.
func TestHubFinish(t *testing.T) {
	h := newHub(2)
	c := h.subscribe()
	for i := range 5 {
		h.publish(fmt.Appendf(nil, "m%d", i))
	}
	h.finish([]byte("result"))
	var last string
	for b := range c.ch {
		last = string(b)
	}
	if last != "result" {
		t.Errorf("last message %q, want the result", last)
	}
	late := h.subscribe()
	var msgs []string
	for b := range late.ch {
		msgs = append(msgs, string(b))
	}
	if len(msgs) != 1 || msgs[0] != "result" {
		t.Errorf("subscriber after the end got %q, want only the result", msgs)
	}
	h.unsubscribe(late) // harmless after the end
}

func TestScrub(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{`dial postgres://bob:hunter2@db:5432/x failed`, `dial postgres://bob:xxxxx@db:5432/x failed`},
		{`host=db password=hunter2 user=bob`, `host=db password=xxxxx user=bob`},
		{`snowflake://u:hunter2@acct/db?private_key_passphrase=pp`, `snowflake://u:xxxxx@acct/db?private_key_passphrase=xxxxx`},
		{`nothing secret here`, `nothing secret here`},
	} {
		if got := scrub(c.in); got != c.out {
			t.Errorf("scrub(%q) = %q, want %q", c.in, got, c.out)
		}
	}
}
