package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
)

// Defaults of Config.
const (
	// DefaultClientBuffer is how many messages a WebSocket client may lag
	// behind before its oldest unsent ones are dropped.
	DefaultClientBuffer = 16
	// DefaultMetricsRetention is how long a finished run's series stay on
	// /metrics, so the scrape after its end still sees its final counts.
	DefaultMetricsRetention = 5 * time.Minute
	// DefaultRunsLimit is GET /api/v1/runs' limit when none is given (the
	// CLI's `runs list` default).
	DefaultRunsLimit = 50
)

// Config configures a Server. Store is required; the rest has defaults.
type Config struct {
	// Store is the results store runs are recorded in and read from.
	Store unistore.Store
	// Token, if set, is required on every /api/* and /metrics request:
	// Authorization: Bearer TOKEN, the session cookie set by /?token= or
	// the login form, or (WebSocket only) ?token=. Empty: no token, and
	// requests must then name a loopback host (see CheckListen).
	Token string
	// Logger receives the server's log (default slog.Default()); it never
	// sees a secret.
	Logger *slog.Logger
	// RunOptions, if set, adds options to every run started through the
	// API, after the server's own: `unistore serve` passes a launcher of
	// worker processes here. Without it, workers are goroutines.
	RunOptions func(spec unistore.Spec) []unistore.Option
	// ClientBuffer is each WebSocket client's buffer, in messages
	// (default DefaultClientBuffer).
	ClientBuffer int
	// MetricsRetention is how long a finished run stays on /metrics
	// (default DefaultMetricsRetention).
	MetricsRetention time.Duration
	// Registerer and Gatherer, if set, are where /metrics registers its
	// collector and what it serves; default a new registry holding the
	// Go and process collectors too.
	Registry *prometheus.Registry
}

// Server is the HTTP controller: the REST API, the live WebSocket stream,
// /metrics and the embedded web UI, over the runs it starts and the store.
// Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	metrics *collector

	// runCtx is the parent of every run started here: not a request's,
	// so a run outlives the browser that started it.
	runCtx    context.Context
	cancelRun context.CancelFunc

	mu      sync.Mutex
	runs    map[string]*liveRun
	closing bool
	hurried bool
	wg      sync.WaitGroup // one per run goroutine
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("httpapi: Config.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientBuffer <= 0 {
		cfg.ClientBuffer = DefaultClientBuffer
	}
	if cfg.MetricsRetention <= 0 {
		cfg.MetricsRetention = DefaultMetricsRetention
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{cfg: cfg, log: cfg.Logger, runs: map[string]*liveRun{}, metrics: newCollector(cfg.MetricsRetention)}
	if err := reg.Register(s.metrics); err != nil {
		return nil, fmt.Errorf("httpapi: register metrics: %w", err)
	}
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	s.handler = s.routes(reg)
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Shutdown stops every run this server started (each ends CANCELLED, with
// its result stored and sent to its WebSocket clients) and waits for them
// to end, or for ctx: then it cancels what is left and returns ctx's
// error once those runs have ended. New runs are refused from its start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	runs := make([]*liveRun, 0, len(s.runs))
	for _, lr := range s.runs {
		runs = append(runs, lr)
	}
	s.mu.Unlock()
	for _, lr := range runs {
		lr.stop()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.cancelRun()
		return nil
	case <-ctx.Done():
		s.cancelRun()
		<-done
		return ctx.Err()
	}
}

// Hurry makes every run this server drives end at once (Handle.Hurry):
// its workers spool what the store has not taken instead of waiting out
// the flush timeout, and so does its final status. For a process about to
// exit — `unistore serve` calls it on a second SIGTERM or Ctrl-C, while
// Shutdown waits. It stops the runs too, and refuses new ones.
func (s *Server) Hurry() {
	s.mu.Lock()
	s.closing, s.hurried = true, true
	runs := make([]*liveRun, 0, len(s.runs))
	for _, lr := range s.runs {
		runs = append(runs, lr)
	}
	s.mu.Unlock()
	for _, lr := range runs {
		lr.hurry()
	}
}

// CheckListen refuses to listen on addr without a token unless addr is a
// loopback address: a controller that starts load against databases is
// not for anyone on the network to drive.
func CheckListen(addr string, haveToken bool) error {
	if haveToken {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("httpapi: listen address %q: %w", addr, err)
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("httpapi: listen address %q is not loopback: give a token (--token-file) to listen on the network", addr)
	}
	return nil
}

// isLoopbackHost reports whether host (no port) is "localhost" or a
// loopback IP; "" (every interface) is not.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// startRun starts spec as a run of this server and returns its id.
func (s *Server) startRun(spec unistore.Spec, template string) (string, error) {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return "", errClosing
	}
	lr := newLiveRun(s, spec)
	opts := []unistore.Option{unistore.WithStore(s.cfg.Store), unistore.WithTemplateName(template),
		unistore.WithLogger(s.log), unistore.WithObserver(lr.observe)}
	if s.cfg.RunOptions != nil {
		opts = append(opts, s.cfg.RunOptions(spec)...)
	}
	h, err := unistore.Start(s.runCtx, spec, opts...)
	if err != nil {
		return "", err
	}
	lr.started(h)
	s.mu.Lock()
	s.runs[h.ID()] = lr
	closing = s.closing
	hurried := s.hurried
	s.wg.Add(1)
	s.mu.Unlock()
	s.log.Info("httpapi: run started", "run_id", h.ID(), "name", spec.Name, "template", template,
		"target", core.RedactDSN(spec.Target.DSN), "connections", lr.spec.Connections, "workers", lr.spec.Workers)
	go func() {
		defer s.wg.Done()
		lr.pump()
		s.mu.Lock()
		delete(s.runs, h.ID())
		s.mu.Unlock()
	}()
	switch { // Shutdown or Hurry began while the run started: it missed them.
	case hurried:
		lr.hurry()
	case closing:
		lr.stop()
	}
	return h.ID(), nil
}

// run returns the live run id if this server drives it.
func (s *Server) run(id string) *liveRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[id]
}

var errClosing = errors.New("httpapi: the server is shutting down")
