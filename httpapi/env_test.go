package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unistore-bench/unistore"
	_ "github.com/unistore-bench/unistore/driver/postgres" // targets
	_ "github.com/unistore-bench/unistore/driver/sqlite"
	"github.com/unistore-bench/unistore/examples"
	"github.com/unistore-bench/unistore/httpapi"
	_ "github.com/unistore-bench/unistore/store/sqlite" // the store
)

// testYAML is the tests' template: a paced mix (the rate bounds every
// test run's count as its duration bounds its time) on the quickstart's
// accounts table.
const testYAML = `name: api-test
connections: 2
warmup: 0s
duration: 2s
rate: 1000
seed: 7
workload:
  operations:
    - name: lookup
      weight: 3
      sql: SELECT balance FROM accounts WHERE id = ?
      params:
        - {gen: uniform, min: 1, max: 1000}
    - name: bump
      weight: 1
      sql: UPDATE accounts SET balance = balance + 1 WHERE id = ?
      params:
        - {gen: uniform, min: 1, max: 1000}
`

// env is a server over a fresh SQLite store and target, on loopback.
type env struct {
	t      testing.TB
	ts     *httptest.Server
	srv    *httpapi.Server
	st     unistore.Store
	target string
	token  string
	log    *syncBuffer
}

// with returns e for subtest t.
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

type envOpt func(*httpapi.Config)

func newEnv(t testing.TB, token string, opts ...envOpt) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "target.db")
	if err := examples.SetupQuickstart(ctx, db, 1000); err != nil {
		t.Fatal(err)
	}
	storeDSN := "sqlite://" + filepath.Join(dir, "store.db")
	if err := unistore.ApplySchema(ctx, storeDSN); err != nil {
		t.Fatal(err)
	}
	st, err := unistore.OpenStore(ctx, storeDSN)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, target: "sqlite://" + db, token: token, log: &syncBuffer{}}
	cfg := httpapi.Config{Store: st, Token: token, Logger: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, o := range opts {
		o(&cfg)
	}
	e.srv, err = httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		e.ts.Close()
		st.Close()
	})
	return e
}

// do sends a request (body: nil, a string sent as is, or a value sent as
// JSON) with the env's token and returns the response and its body.
func (e *env) do(method, path string, body any, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

var noRedirect = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// want checks a response's status.
func (e *env) want(resp *http.Response, body []byte, code int) {
	e.t.Helper()
	if resp.StatusCode != code {
		e.t.Fatalf("%s %s: %d %s, want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body, code)
	}
}

// startRun posts testYAML with overrides and returns the run id.
func (e *env) startRun(overrides map[string]any) string {
	e.t.Helper()
	body := map[string]any{"spec_yaml": testYAML, "target": e.target}
	for k, v := range overrides {
		body[k] = v
	}
	resp, b := e.do("POST", "/api/v1/runs", body)
	e.want(resp, b, http.StatusCreated)
	var out httpapi.CreateRunResponse
	if err := json.Unmarshal(b, &out); err != nil || out.RunID == "" {
		e.t.Fatalf("create run: %s (%v)", b, err)
	}
	return out.RunID
}

// waitRun polls GET /api/v1/runs/{id} until cond holds, failing after
// the deadline.
func (e *env) waitRun(id string, d time.Duration, cond func(*unistore.Result) bool) *unistore.Result {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for {
		resp, b := e.do("GET", "/api/v1/runs/"+id, nil)
		if resp.StatusCode == http.StatusOK {
			var r unistore.Result
			if err := json.Unmarshal(b, &r); err != nil {
				e.t.Fatal(err)
			}
			if cond(&r) {
				return &r
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s: condition not met within %s (last: %d %s)", id, d, resp.StatusCode, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func terminal(r *unistore.Result) bool { return r.Status.Terminal() }

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
