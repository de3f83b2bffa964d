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
// parameters such as statement_timeout), plus statement_mode, which is
// stripped before pgx parses the DSN. The config is parsed, adjusted
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
//     read that finds nothing waits in the Go netpoller, so closing the
//     connection and CancelQuery work as in prepared. pgconn still owns
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
// config made once per connection, unless the DSN sets application_name.
// Connections implement driver.Capacity: max_connections, the superuser
// reserve (none for a superuser) and the client backends open besides the
// asking one, so the pre-flight check refuses a run that cannot connect.
package postgres
