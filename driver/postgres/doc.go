// Package postgres is unistore's PostgreSQL driver, built on pgx/v5.
//
// Import it for its side effect to register the driver as "postgres"
// (the "postgresql" scheme resolves to it too), or call NewConnector to use
// it without the registry:
//
//	c, err := postgres.NewConnector("postgres://bench@db1/bench?statement_mode=prepared")
//
// # DSN
//
// Everything pgx.ParseConfig accepts (URL or keyword/value form, PG*
// environment variables, sslmode, connect_timeout, server runtime
// parameters such as statement_timeout), plus statement_mode, engine and
// engine_loops, which are stripped before pgx parses the DSN. The config is parsed, adjusted
// (statement and description caches off, the exec mode set per
// statement_mode) and used for every Connect. Errors name host, port, user
// and database; they never hold the password: parse errors show the DSN
// through core.RedactDSN, connect errors are rebuilt from the config with
// any verbatim password scrubbed from pgx's detail text, and the original
// error stays reachable with errors.As.
//
// # Statement modes
//
// statement_mode selects how statements run; Settings reports it as
// {"statement_mode": …}.
//
//   - prepared (default): Prepare sends a named Parse/Describe
//     (pgconn.Prepare, "unistore_N"); Exec runs pgconn.ExecStatement on the
//     held connection with the statement's description, so no Describe
//     Portal round trip is added. Parameters go in text format, encoded
//     into per-statement buffers reused across calls (strconv.AppendInt,
//     AppendFloat with NaN/±Infinity spelled PostgreSQL's way, "t"/"f",
//     times as RFC 3339 in UTC; KindText bytes are sent as they are; Null
//     as a NULL). Rows are read with ResultReader.NextRow and dropped
//     without the pgx type layer. Exec returns the rows read for a
//     statement with result columns, else CommandTag.RowsAffected. The
//     steady state is 1 allocation per Exec: the 8-byte command tag string
//     pgconn builds in makeCommandTag, which no pgconn API avoids.
//   - raw (Linux only): Prepare as in prepared; Exec writes Bind (text
//     parameters, encoded as above, straight into one reused request
//     buffer), Execute and Sync with one write system call on the
//     connection's socket (its syscall.RawConn) and frames the answer up
//     to ReadyForQuery with its own reader: DataRows counted,
//     CommandComplete's count parsed, ErrorResponse turned into a
//     *pgconn.PgError, anything else skipped. 0 allocations per Exec. A
//     read that finds nothing waits in the Go netpoller (in poll(2) on
//     the epoll engine's sockets, see Engines), so closing the connection
//     and CancelQuery work as in prepared. pgconn still owns
//     the connection for everything else (connect, Prepare, QueryColumn,
//     Close); before the first raw Exec after pgconn used it, SyncConn
//     checks pgconn is idle with nothing buffered. An I/O or framing
//     error closes the socket (a connection error, so the loop
//     reconnects). A connection without a plain socket (TLS) falls back
//     to the prepared path. Not the default: the prepared path is pgx's
//     tested code, and raw skips what pgconn tracks from asynchronous
//     messages (ParameterStatus, notices). On a 2-core machine shared
//     with the server it spent about 1.5–2 µs less client CPU per point
//     select than prepared (bench/README.md).
//   - extended: pgx Query with QueryExecModeExec (extended protocol,
//     unnamed statement, no cache). For comparison.
//   - simple: pgx Query with QueryExecModeSimpleProtocol (parameters
//     interpolated client-side by pgx). For comparison, and for poolers
//     that do not support the extended protocol.
//
// In every mode Prepare has the server parse and describe the statement, so
// a missing table or a syntax error fails before load starts. The extended
// and simple modes use the unnamed statement for this, which the server
// drops at the next Parse: nothing lingers to deallocate.
//
// One Connect dials one connection, held by its loop for the whole run:
// there is no pool.
//
// # Engines
//
// The DSN parameter engine (EngineParam; auto, epoll or goroutine, removed
// before pgx parses the DSN) chooses how a runner drives the connections;
// Settings reports the one chosen as {"engine": …}, so a result records
// which ran.
//
//   - goroutine: each connection runs on its own goroutine through
//     Stmt.Exec, as described above, on pgx's own sockets. Portable, and
//     the only engine for TLS and for statement_mode extended and simple.
//   - epoll (Linux): the Connector is a driver.Multiplexer. Its engine runs
//     up to engine_loops event loops (EngineLoopsParam; default
//     GOMAXPROCS under engine_procs=dedicated, else DefaultEngineLoops,
//     GOMAXPROCS−1, at least 1), each a goroutine
//     locked to its OS thread that owns an epoll set and several
//     connections. The runner hands a connection over with Engine.Serve
//     and the loop drives it through the runner's driver.Handler: when the
//     answer to one request is read (DataRows counted, CommandComplete's
//     count parsed, ErrorResponse made a *pgconn.PgError, up to
//     ReadyForQuery — the raw mode's framing, in the loop's own buffer),
//     Done records it and Next's request (the raw mode's pre-encoded
//     Bind/Execute/Sync of a statement prepared on that connection) is
//     written at once; then the loop waits in epoll_wait for whichever of
//     its connections is ready. No goroutine parks or wakes per query: the
//     loop goroutine of each connection sleeps in Serve for the whole run.
//     Connections go to loops as they arrive: the first engine_loops get a
//     loop each, the rest the least loaded. With engine_affinity=rx
//     (EngineAffinityParam, the default) a balancer then swaps connections
//     between loops, between two executions, so that each sits on the loop
//     running on the CPU its packets arrive on (SO_INCOMING_CPU; see
//     AffinityRX and affinity_linux.go); engine_affinity=off leaves them
//     where they were placed.
//   - auto (the default): epoll where it applies — Linux, statement_mode
//     prepared or raw, and no TLS possible (sslmode=disable, or a Unix
//     socket) — and where the runner's plan (driver.Planner) has at most
//     AutoEpollConnsPerLoop connections per event loop; else goroutine
//     — and when it is the plan that was too wide for the loops,
//     statement_mode=prepared then runs with the raw mode's wire code on
//     those goroutines (the same messages; pgconn's allocations and
//     bookkeeping gone: 5.6–5.8 against 6.1–6.6 µs of client CPU per query
//     at 64 connections on 2 cores), recorded as engine_io=raw.
//     The threshold is measured, not guessed: one loop is one OS thread,
//     and past a few connections per loop it serialises what goroutines
//     spread over every core (at 64 connections on 2 cores, 0.84× against
//     1.21× pgbench's QPS; bench/README.md). engine=epoll where it does not apply is an
//     error naming why (sslmode=prefer, pgx's default, may negotiate TLS).
//
// The parameter engine_procs (EngineProcsParam) says how the event loops
// stand to GOMAXPROCS:
//
//   - shared (ProcsShared, the library's default): the loops run on the
//     process's Ps as they are. GOMAXPROCS−1 loops by default, so one P
//     stays free for the rest of the process; GOMAXPROCS is never changed.
//   - dedicated (ProcsDedicated, the unistore CLI's default through
//     SetDefaultEngineProcs): one loop per P the process had (as many as
//     pgbench -j 2 has threads on a 2-core machine), and while dedicated
//     loops run GOMAXPROCS is raised to one more than their number, never
//     below what it was, and set back when the last engine closes. Every
//     loop can then hold its P through its raw waits (below) and one P is
//     still free for the collector, the pacer, the store writers and the
//     garbage collector. The extra Ps are not extra running Go code: a
//     loop's P is idle while it sleeps in epoll_pwait. Measured on 2 cores
//     at 16 connections: 0.96–1.00× pgbench's QPS at its CPU per query,
//     against 0.83–0.88× with one shared loop, whose one thread left a CPU
//     idle 8–12 % of the time (pgbench -j 1 does the same: 16 % idle,
//     0.78× pgbench -j 2); bench/README.md, "one loop per core".
//
// GOMAXPROCS is process policy, so the library does not raise it unless a
// DSN or the main package asks: a Go program embedding a run keeps its
// GOMAXPROCS unless it opts in. The result's settings record engine_loops,
// engine_procs and engine_affinity beside the engine.
//
// Where connections sit matters as much as how many loops there are. On
// one machine, a loop wakes each of its connections' backends with every
// request and is woken by them with every answer; a wake-up across cores
// costs an inter-processor interrupt (a VM exit under virtualisation) on
// top of the context switch. pgbench -j 2 at 4 connections on 2 cores
// runs at ~80k or ~135k QPS depending on whether each thread's two
// backends settled on its core, and keeps that state for the run; the
// epoll engine with affinity off did the same. The balancer moves the
// connections instead of waiting for luck: with it, 2 loops reached
// 124–137k in every run, at 3.8 µs of client CPU per query against
// pgbench's 4.3 in its fast state (bench/README.md, "Connections on their
// packets' CPU").
//
// System calls of the epoll engine, and why each is made the way it is:
//
//   - read(2) and write(2) of requests and answers, and the eventfd's, go
//     through syscall.RawSyscall: the sockets are non-blocking, so these
//     calls never block (EAGAIN instead), and the runtime's
//     entersyscall/exitsyscall — which exist so that a thread blocked in
//     the kernel gives its P away — would be pure cost on every query.
//   - epoll_wait, the one call that sleeps, two ways. With an answer in
//     flight, and while at most GOMAXPROCS−1 loops of the whole process
//     (every engine's: an in-process run of several workers has one engine
//     each) are in such a wait, a loop waits in epoll_pwait through
//     RawSyscall6, keeping its P: the answer is usually tens of
//     microseconds away, and the runtime's bookkeeping around a blocking
//     call — sysmon taking the P from a thread asleep in a system call
//     after 20 µs, exitsyscall finding one again — costs more than that
//     wait. The raw wait has no timeout (the kernel would arm a timer per
//     wait, about 1 µs per query). A signal ends it with EINTR — the
//     runtime preempting the loop, at once for a collection, after 10 ms
//     for sysmon — and the loop yields its P (runtime.Gosched), so the
//     world still stops promptly (TestEpollLoopYieldsItsP); under GODEBUG
//     asyncpreemptoff=1 there are no such signals and the raw wait is not
//     used. With nothing in flight (an open-model loop waiting for the
//     pacer) the loop sleeps in the runtime-aware unix.EpollWait
//     (syscall.Syscall6), its P free for the rest of the process — the
//     collector, the pacer, the store writers, the garbage collector. A
//     loop over the process's limit waits the runtime-aware way too: raw
//     waits on every P would leave the rest of the process to sysmon's
//     10 ms preemptions. Measured with bench/pgbench-compare.sh
//     (one loop; raw wait against none, back to back): at 4 connections
//     0.91× against 0.85× pgbench's QPS and 0.93× against 0.98× its CPU
//     per query; at 16, 0.88× against 0.80×.
//   - The sockets are taken out of the Go netpoller (sockConn): the
//     engine's dialer duplicates the dialed descriptor and closes the
//     net.Conn, which deregisters it. A socket left registered (edge-
//     triggered, in the runtime's epoll set) would wake whichever thread
//     sleeps in the runtime's netpoll on every answer — for nothing. pgconn
//     keeps using the socket for everything but the hot path (connect,
//     Prepare, QueryColumn, cancel requests, Close) through sockConn, whose
//     calls wait in poll(2) through the runtime-aware path.
//
// What the engine keeps of the goroutine path: exactly one connection per
// loop of the runner, held for the run; cancellation (CancelQuery is the
// same cancel request; a query cut by it ends with 57014 and the
// connection stays usable); error classes (the same Classify); a broken
// connection (I/O error, an administrator's pg_terminate_backend, whose
// FATAL 57P01 is reported as the execution's error) shuts the socket down
// and is released to the runner, which reconnects. Before a connection is
// handed to a loop, SyncConn checks pgconn is idle with nothing buffered.
// The engine skips what pgconn tracks from asynchronous messages
// (ParameterStatus, notices), like the raw mode. Engine.Close abandons an
// execution still in flight and shuts its socket down; the runner closes
// it only after every loop has left it.
//
// On the 2-core machine shared with the server where bench/pgbench-compare.sh
// runs, the epoll engine spends about half the client CPU per query of the
// goroutine engine; bench/README.md has the figures and how to reproduce
// them.
//
// # Contexts and cancellation (the hot path)
//
// pgx v5.12's pgconn watches a query's context whenever it is not exactly
// context.Background(): ContextWatcher.Watch registers a context.AfterFunc
// and makes a done channel per query (older pgx versions started a
// goroutine per query instead; no goroutine in v5.12 — verified in
// pgconn/ctxwatch/context_watcher.go and pgconn.go execExtendedPrefix, and
// visible as the 2 allocations context.AfterFunc and Watch add per query in
// the extended mode's memory profile). That is 2 allocations plus lock traffic on
// the context per query, and on cancel it sets a socket deadline, which
// breaks the connection. The prepared mode therefore checks ctx.Err() on
// entry (an already-done context returns ctx.Err() without executing) and
// then calls pgconn with context.Background(), which pgconn does not watch.
// A query in flight is interrupted instead through driver.Canceler: the
// runner calls CancelQuery from another goroutine when the run is cancelled;
// it sends a PostgreSQL cancel request (pgconn.CancelRequest, bounded by 2
// s), the query fails with SQLSTATE 57014 (classified timeout) and the
// connection stays usable. If the cancel request cannot be delivered,
// CancelQuery closes the socket, which ends the blocked read. Consequences:
//
//   - A context deadline does not bound a prepared-mode Exec. Set a server
//     side limit in the DSN instead (statement_timeout=5000) when a query
//     must not run long.
//   - A cancel request is asynchronous: one sent just as a query completes
//     can cancel the next query on that connection. The runner cancels only
//     when the run ends, so at most one query is lost that way.
//
// The extended and simple modes pass ctx to pgx as usual (watched by pgconn
// with its deadline handler); they implement the same CancelQuery.
//
// # Errors
//
// Classify maps SQLSTATE classes to core.ErrorClass and returns the SQLSTATE
// as the code (the table is on Classify). Driver, Connector and the
// connections all implement driver.Classifier with it.
//
// Connect names the connection with driver.ClientName (the worker's
// "unistore/RUN_ID/WORKER_ID") as application_name, on a copy of the parsed
// config made once per connection, unless the DSN sets application_name
// — except for a connection made under driver.WithAuxiliary (the run's
// meter), which always takes its own name, so counting the load's
// connections by the DSN's application_name never counts it.
// Connections implement driver.Capacity: max_connections, the superuser
// reserve (none for a superuser) and the client backends open besides the
// asking one, so the pre-flight check refuses a run that cannot connect.
//
// Connections implement driver.StatementStatser over pg_stat_statements
// (stats.go), for the server's side of a run (package serverstats):
// entries of the connection's user in the current database whose text,
// normalized by NormalizeStatement, is a workload statement's — so the
// four statement modes, which reach the server as $n parameters or (simple)
// as literals that pg_stat_statements turns into $n, all match.
package postgres
