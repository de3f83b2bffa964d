package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/httpapi"
)

// liveMsg is any message of the live stream.
type liveMsg struct {
	httpapi.ProgressMessage
	Result *unistore.Result `json:"result"`
	Error  string           `json:"error"`
}

// dial opens a run's live stream.
func (e *env) dial(ctx context.Context, id, query string) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/api/v1/runs/" + id + "/live" + query
	return websocket.Dial(ctx, u, nil)
}

// readAll reads a stream to its end: every message, then the close.
func readAll(ctx context.Context, t *testing.T, c *websocket.Conn) ([]liveMsg, error) {
	t.Helper()
	var out []liveMsg
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return out, err
		}
		var m liveMsg
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("message %s: %v", b, err)
		}
		out = append(out, m)
	}
}

// TestLiveStream: a client sees progress each interval, then the result
// (the shape of `run --json`), then a normal close; a client joining late
// gets the current state at once; a finished run's stream is its result.
func TestLiveStream(t *testing.T) {
	e := newEnv(t, "")
	id := e.startRun(map[string]any{"duration": "5s"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _, err := e.dial(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// The first progress with operations in it; then a late client.
	var first liveMsg
	for first.Count == 0 {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &first); err != nil {
			t.Fatal(err)
		}
		if first.Type != "progress" {
			t.Fatalf("first message %s, want progress", b)
		}
	}
	lateCtx, lateCancel := context.WithTimeout(ctx, 800*time.Millisecond) // under one interval
	late, _, err := e.dial(lateCtx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	defer late.CloseNow()
	if _, b, err := late.Read(lateCtx); err != nil || !strings.Contains(string(b), `"type":"progress"`) {
		t.Errorf("late subscriber: %s %v, want the current progress at once", b, err)
	}
	lateCancel()

	rest, err := readAll(ctx, t, c)
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("stream ended with %v, want a normal close", err)
	}
	msgs := append([]liveMsg{first}, rest...)
	var progress int
	for i, m := range msgs {
		switch m.Type {
		case "progress":
			progress++
			if m.RunID != id || m.Status != core.StatusRunning || m.Phase == "" || m.QPS <= 0 || m.Latency.P50 <= 0 ||
				m.Latency.P99 < m.Latency.P50 || m.Latency.P999 < m.Latency.P99 {
				t.Errorf("progress %d: %+v", i, m.ProgressMessage)
			}
			if _, ok := m.Operations["lookup"]; !ok {
				t.Errorf("progress %d: operations %v, want lookup", i, m.Operations)
			}
			if m.Workers.Live != 1 || len(m.Workers.PerWorker) != 1 {
				t.Errorf("progress %d: workers %+v", i, m.Workers)
				continue
			}
			w := m.Workers.PerWorker[0]
			if w.ID != "worker-0" || w.Health != httpapi.HealthHealthy || w.ConnectionsTarget != 2 || w.ConnectionsActive != 2 {
				t.Errorf("progress %d: worker %+v", i, w)
			}
		case "result":
			if i != len(msgs)-1 {
				t.Errorf("result is message %d of %d, want the last", i, len(msgs))
			}
		default:
			t.Errorf("message %d: type %q", i, m.Type)
		}
	}
	// One a second, give or take the polls of a loaded machine.
	if progress < 2 {
		t.Errorf("%d progress messages over a 5 s run, want about one per interval", progress)
	}
	last := msgs[len(msgs)-1]
	if last.Type != "result" || last.Result == nil || last.Result.Status != core.StatusCompleted || last.Result.RunID != id {
		t.Fatalf("last message %+v, want the completed result", last)
	}
	want, err := unistore.Show(ctx, e.st, id)
	if err != nil {
		t.Fatal(err)
	}
	if last.Result.Total.Count != want.Total.Count || len(last.Result.Operations) != len(want.Operations) {
		t.Errorf("result total %d over %d operations, stored %d over %d", last.Result.Total.Count,
			len(last.Result.Operations), want.Total.Count, len(want.Operations))
	}

	// After the end: the result at once, then the close.
	after, _, err := e.dial(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	defer after.CloseNow()
	got, err := readAll(ctx, t, after)
	if len(got) != 1 || got[0].Type != "result" || got[0].Result.Status != core.StatusCompleted ||
		websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("stream of a finished run: %+v, %v", got, err)
	}
}

// TestLiveSlowClient: a client that reads nothing does not hold the run
// back, nor a client that reads.
func TestLiveSlowClient(t *testing.T) {
	e := newEnv(t, "", func(c *httpapi.Config) { c.ClientBuffer = 1 })
	id := e.startRun(map[string]any{"duration": "3s"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	slow, _, err := e.dial(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	fast, _, err := e.dial(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	defer fast.CloseNow()
	msgs, _ := readAll(ctx, t, fast)
	if len(msgs) < 2 || msgs[0].Type != "progress" || msgs[len(msgs)-1].Type != "result" || msgs[len(msgs)-1].Result.Status != core.StatusCompleted {
		t.Fatalf("reading client got %d messages, last %+v", len(msgs), msgs[len(msgs)-1])
	}
	r := msgs[len(msgs)-1].Result
	if d := r.EndedAt.Sub(r.StartedAt); d > 10*time.Second {
		t.Errorf("a 3 s run took %s with a client that reads nothing", d)
	}
	// The slow one, read now, still ends with the result.
	got, _ := readAll(ctx, t, slow)
	if len(got) == 0 || got[len(got)-1].Type != "result" {
		t.Errorf("slow client's last message: %+v", got)
	}
}

// TestLiveAuth: with a token the stream needs it — ?token= for a browser —
// and a page of another origin cannot open it.
func TestLiveAuth(t *testing.T) {
	const token = "ws-t0ken"
	e := newEnv(t, token)
	id := e.startRun(map[string]any{"duration": "1s"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, resp, err := e.dial(ctx, id, "")
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the token: %v %v, want 401", resp, err)
	}
	_, resp, err = e.dial(ctx, id, "?token=wrong")
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token: %v %v, want 401", resp, err)
	}
	u := "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/api/v1/runs/" + id + "/live?token=" + token
	_, resp, err = websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example.com"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin: %v %v, want 403", resp, err)
	}
	c, _, err := e.dial(ctx, id, "?token="+token)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	msgs, err := readAll(ctx, t, c)
	var ce websocket.CloseError
	if len(msgs) == 0 || msgs[len(msgs)-1].Type != "result" || !errors.As(err, &ce) {
		t.Errorf("with ?token=: %d messages, %v", len(msgs), err)
	}
}

// TestRunOutlivesClient: a run started from the API goes on to its end
// when the client that watched it goes away mid-stream (a browser closed).
func TestRunOutlivesClient(t *testing.T) {
	e := newEnv(t, "")
	id := e.startRun(map[string]any{"duration": "3s"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _, err := e.dial(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	c.CloseNow() // gone without a close handshake
	r := e.waitRun(id, 30*time.Second, terminal)
	if r.Status != core.StatusCompleted || r.MeasuredSeconds < 2.5 {
		t.Errorf("run after its client left: %s over %.1f s, want COMPLETED over its 3 s", r.Status, r.MeasuredSeconds)
	}
}
