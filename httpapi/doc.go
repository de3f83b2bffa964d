// Package httpapi is unistore's HTTP controller: a REST API over the
// run-management API of package unistore, a live WebSocket stream per run,
// Prometheus /metrics, and a web UI embedded in the binary. `unistore
// serve` runs it; a program can mount Server.Handler in its own server.
//
//	srv, err := httpapi.New(httpapi.Config{Store: st, Token: token})
//	…
//	hs := &http.Server{Addr: "127.0.0.1:8080", Handler: srv.Handler()}
//	go hs.ListenAndServe()
//	<-ctx.Done()
//	srv.Shutdown(shutdownCtx) // every run it started ends CANCELLED, with its result
//	hs.Shutdown(shutdownCtx)
//
// # Decisions
//
// A consumer of the root API, like the CLI. Every endpoint parses, calls
// package unistore and writes what it returns: the JSON of a run list is
// []unistore.RunInfo (`runs list --json`), of a run unistore.Result (`run
// --json`), of intervals []unistore.Interval, of templates
// []unistore.TemplateInfo; a comparison is unistore.CompareRuns' map keyed
// "a", "b", … in the order asked — for two runs, `runs compare --json`.
// Overrides of a template are unistore.Overrides and the spec is built by
// unistore.SpecFrom, the CLI's path, so a bad template is a 400 whose
// "error" is the CLI's message line for line (the file is named
// "spec_yaml" or "template NAME"), with "problems" giving line, column and
// field each. Beside the root it imports only core, and the sentinel
// and protocol types of store (ErrNotFound), driver (ErrUnknownDriver),
// workload (located problems) and control (worker ids, SET_WORKER_TARGET).
//
// Status codes: 201 for a started run, 202 for stop and scale (the request
// is in the run's control events; the run acts within a poll), 400 for
// bad input (an invalid spec, an unknown driver, a malformed body — unknown
// fields included, so a misspelt override never passes silently), 401
// without the token, 403 for a cross-origin change or (without a token) a
// non-loopback Host, 404 for an unknown run or template, 409 to stop or
// scale a finished run, 422 when the target refuses the run before load
// (unreachable, a statement that does not prepare), 503 while shutting
// down. Every error body is {"error": "…"}, the mux's own 404 and 405
// included.
//
// POST /api/v1/runs/{id}/enrich is `runs enrich`, synchronous: it answers
// 200 with the run's cost and server sections as stored afterwards, each
// with its state (PENDING, COMPLETED, SKIPPED, FAILED) and reason — a
// target that cannot be read is a FAILED state in a 200, not a 5xx: the
// request did what it could and recorded why. 409 for a run not finished,
// 404 for an unknown one. Its body may be empty or {"target": DSN}, the
// target with its secret (the stored DSN is redacted): used for the
// request only, never stored, logged or answered. GET /api/v1/runs takes
// enrichment=pending (or another state) as `runs list --enrichment`.
//
// Runs belong to the server, not to a request: they start under a context
// of the server's, so a run goes on when the browser that started it
// closes. Shutdown stops each (Handle.Stop: CANCELLED, its summary stored,
// its live clients sent the result) and waits; `unistore serve` calls it
// on SIGTERM, then stops serving. Hurry (serve: a second SIGTERM or
// Ctrl-C) makes every run end at once, spooling what the store has not
// taken; a run that ends not fully recorded is logged as a warning naming
// its spool. Workers are goroutines unless Config.RunOptions adds a
// launcher (serve: its --launcher, worker processes by default; a cluster
// launcher's Job or job service per run).
//
// The live stream. The run's observer (unistore.WithObserver) is called
// on the orchestrator's loop, so it only queues the progress (64 deep,
// the oldest dropped); one goroutine per run — its pump — reads the run's
// new SET_WORKER_TARGET events (whoever sent them, so a `unistore scale`
// shows), builds the message once, updates /metrics and publishes to the
// run's hub. The hub never blocks: each client has a bounded buffer
// (Config.ClientBuffer, 16) and a client that lags loses its oldest
// messages, counted and told to it in a {"type":"gap"} message before the
// next one; a write that takes longer than 10 s closes the client. A late
// subscriber gets the newest message at once; the result message is
// every client's last, followed by a normal close. A run this process
// does not drive (finished, or driven by another orchestrator) streams
// its status from the store each second, then its result.
//
// Worker health in the stream: HEALTHY while heartbeating; STALE once its
// heartbeat is older than the run's heartbeat timeout (the orchestrator is
// about to declare it lost); LOST when a relaunch replaced it or it has
// been silent for twice the timeout; STOPPED after its last heartbeat. A
// worker's target connections are the spec's, then the newest
// SET_WORKER_TARGET for its group; its QPS is over the same snapshots as
// the run's (rollup.Progress.WorkerQPS).
//
// /metrics is a collector of its own over the progress of the runs this
// process drives, not instruments on the hot path: the workers already
// merge exact HDR histograms, and each progress carries the new ones
// (rollup.Progress.Snapshot, never counted twice). Latency is a histogram
// per run, operation and outcome (success or error, each timed apart as
// the run measures them), in seconds, with classic buckets (100 µs to
// 10 s) and native buckets (schema 3, factor 2^(1/8)) in the same metric —
// a scraper that negotiates protobuf gets both — built from the HDR
// histogram bar by bar, so nothing is estimated from percentiles.
// unistore_operations_total counts warm-up too (the phase is its own
// gauge, unistore_run_phase, one series per phase). Counts follow the live
// rollup: rows a worker stores after the orchestrator's last poll of an
// ending run are not in them; the run's result is the exact figure. A
// finished run's series stay for Config.MetricsRetention (5 min), then go.
//
// Security. Without a token the server is for this machine only:
// CheckListen refuses a non-loopback address, and a request whose Host is
// not a loopback name is refused too (a page cannot reach the API through
// a DNS name rebound to 127.0.0.1). With a token, /api/* and /metrics need
// it: Authorization: Bearer TOKEN, or the session cookie that /?token=TOKEN
// or the login form sets — HttpOnly, SameSite=Strict, its value an HMAC of
// the token, not the token — and the WebSocket also takes ?token= (a
// browser cannot set headers on one). Tokens are compared in constant time
// (SHA-256 of both, then subtle.ConstantTimeCompare). A change (POST, PUT,
// DELETE) whose Origin is another site is refused, and the WebSocket
// accepts its own origin only. Nothing secret leaves: DSNs are redacted by
// the library, every error text is scrubbed again (URL passwords,
// password=… pairs), a template whose target DSN holds a password is saved
// without it (unistore.SaveTemplate strips it; the answer carries a
// warning: give the full DSN as a run's "target" override, whose stored
// spec is redacted), a template body is shown scrubbed all the same, and
// the token is never logged.
//
// The UI is plain HTML, CSS and JavaScript under ui/, embedded with
// go:embed: no CDN, no build step, no dependency; the charts are a small
// canvas line chart of its own (ui/chart.js). Pages are routes of the
// URL's hash (#/, #/new, #/live/ID, #/run/ID, #/compare/A,B). Every text
// from the server becomes a text node, never HTML, and a Content Security
// Policy allows scripts, styles and connections from the page's own origin
// only (so no inline style either).
package httpapi
