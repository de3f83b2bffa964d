// Package store is unistore's results and config store: where every run's
// state (RUN_STATUS), control events (RUN_CONTROL_EVENTS), worker
// heartbeats, metric snapshots and query executions, and the saved
// templates (TEST_TEMPLATES) live.
//
// One interface, Store, serves the three users: the worker (heartbeats,
// snapshots, executions, reading run status and control events since a
// sequence), the orchestrator (creating and updating runs, appending
// control events, listing heartbeats) and the CLI (listing and reading
// runs, snapshots and executions; templates). Open picks the backend by
// the DSN's scheme from those registered, the database/sql way:
//
//	sqlite://PATH                 store/sqlite (modernc.org/sqlite, pure Go); DefaultDSN() is a per-user file
//	postgres://… postgresql://…   store/postgres (pgx/v5, pgxpool)
//	snowflake://…                 store/snowflake (gosnowflake; the driver's DSN forms)
//
// A backend registers itself when imported (`import _
// "github.com/unistore-bench/unistore/store/postgres"`); an unregistered
// scheme is ErrUnknownStore, `unknown store "x" (forgotten import?)` with
// the registered schemes listed. This package itself links no database
// library: an embedder links only the backends it imports, and Memory
// needs none.
//
// The schema comes from package sql/schema and is applied only by
// ApplySchema (`unistore schema apply --store DSN`). Open checks the
// store's schema version against the binary's and refuses a store without
// the schema, or with another version, with a *SchemaError that tells the
// user what to run. Nothing in this package runs DDL at run time.
//
// Workers write their high-volume rows through a Writer, which never
// blocks the query loops: see Writer.
//
// Decisions recorded here:
//
//   - The interface is declared here, not by each consumer, because three
//     packages and users' tools share it; consumers that want less may
//     declare a narrower interface that Store satisfies. A new capability
//     arrives as a new optional interface, found by type assertion.
//   - The backends live in sub-packages that register themselves, so the
//     packages that only use the interfaces (worker, orchestrator, the
//     root) do not link pgx, SQLite or gosnowflake. Register panics on a
//     nil backend, an empty or duplicate scheme; Schemes is sorted.
//   - The SQL backends share one implementation, store/sqlstore: queries
//     are written once, with "?" placeholders and {table} names; a
//     sqlstore.Dialect supplies the qualified names (test_results.x,
//     config.test_templates on PostgreSQL; bare names in the SQLite file),
//     the placeholder style, how a time is bound, the bulk write (COPY,
//     multi-row INSERT through sqlstore.InsertMany) and, optionally, its
//     own upserts (HeartbeatPutter, TemplateSaver) where INSERT … ON
//     CONFLICT does not exist (Snowflake's MERGE). Dialect differences stay
//     inside the backend's package.
//   - Bulk writes are atomic per call: COPY (pgx CopyFrom) on PostgreSQL,
//     multi-row INSERTs of up to 30000 parameters in one transaction on
//     SQLite, multi-row binds (in a transaction when there are several
//     statements) on Snowflake. Through BatchWriter they are also
//     idempotent: each batch carries an id (the Writer's: worker, kind, a
//     random part, a sequence number), inserted into STORED_BATCHES
//     (schema version 2) in the same transaction as the rows. A retry
//     after a lost reply to COMMIT, or a spooled batch loaded again by
//     Recover, finds the id (ON CONFLICT DO NOTHING on PostgreSQL and
//     SQLite; the primary key of a HYBRID table, which Snowflake enforces,
//     in a transaction that also spans the standard tables) and stores
//     nothing, successfully. The id table, not a key on the rows, keeps
//     COPY and the standard tables as they are; the cost is one small
//     insert per batch (2000 rows).
//   - Times go in and come out in UTC, truncated to microseconds. SQLite
//     stores them as fixed-width RFC 3339 text ("2006-01-02T15:04:05.000000Z"),
//     which sorts as time does; zero times are NULL.
//   - The run's spec is always stored redacted: CreateRun stores
//     r.Spec.Redacted() whatever the caller passes. Summary and event
//     payloads are JSON the store does not interpret; PostgreSQL keeps them
//     as jsonb, so their text comes back normalized (same value, maybe not
//     the same bytes).
//   - Errors by class are stored as a JSON object of the non-zero classes
//     plus a total column (see sql/schema); Snapshot.Errors is the fixed
//     core.ErrorCounts array again on read.
//   - Control event numbers are MAX(seq)+1 computed inside the INSERT; two
//     concurrent appends to one run collide on the primary key and the
//     loser retries (up to 10 times). No sequence object, so the run-time
//     role needs no USAGE on one.
//   - Run-time privileges on PostgreSQL: CONNECT on the database, USAGE
//     on schemas test_results and config, and SELECT, INSERT, UPDATE,
//     DELETE on their tables — nothing else, not even TEMP (a test runs
//     every method through such a role). COPY FROM STDIN needs only
//     INSERT. See "Privileges" below.
//   - Dropped rows are reported, not hidden: each worker puts its writers'
//     dropped count in its heartbeat (Heartbeat.RowsDropped) and the
//     orchestrator, the only writer of RUN_STATUS, sums them into
//     Run.RowsDropped. With a spool (below) a row is dropped only when the
//     buffer overflows faster than the spool takes it, or the disk is full.
//   - Errors name the store by dialect and redacted DSN; any secret of the
//     DSN that a driver error might echo is scrubbed from the text (the
//     original error is still reachable with errors.Is/As). ErrNotFound,
//     ErrExists, ErrSchema and ErrDropped are the sentinels.
//   - Open on SQLite does not create a missing file (a mistyped path would
//     otherwise leave an empty store behind and then fail on the schema);
//     ApplySchema creates it. SQLite runs in WAL mode with a 10 s busy
//     timeout and BEGIN IMMEDIATE transactions, so concurrent writers in one
//     process queue instead of failing; it serves one machine.
//   - ApplySchema runs all scripts in one transaction (both PostgreSQL and
//     SQLite have transactional DDL), on PostgreSQL under an advisory lock so
//     two concurrent applies do not collide in the catalog. Snowflake
//     commits each DDL statement on its own: store/snowflake runs them one
//     by one, each rerunnable.
//   - Control-plane timings suit the store: a Store may implement
//     ControlDefaulter, whose timings fill what a run's spec leaves zero
//     before core's defaults do (the orchestrator calls ControlDefaults).
//     The Snowflake store does (poll 1 s, heartbeat 1 s, heartbeat timeout
//     30 s, lease 60 s); SQLite and PostgreSQL keep core's.
//   - Find-max step histories (FIND_MAX_STEPS) and named baseline runs
//     (CONFIG.RUN_BASELINES), schema version 4, are optional capabilities,
//     StepStore and BaselineStore, so a Store written against the older
//     interface still compiles; Memory and every sqlstore backend have
//     them. A step's value is text and its figures a JSON document
//     (DETAIL): Snowflake binds floats at float32 precision. Replacing a
//     row is DELETE then INSERT, which every dialect takes as it is.
//   - Executions pages with LIMIT/OFFSET ordered by start time, worker and
//     connection: enough for the CLI; an export of millions of rows would
//     want a keyset cursor or a streaming method, added as an optional
//     interface when needed.
//
// # Privileges
//
// A PostgreSQL role that runs benchmarks needs, after the schema is applied
// by a role that may create it:
//
//	GRANT USAGE ON SCHEMA test_results, config TO unistore_rt;
//	GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA test_results, config TO unistore_rt;
//
// # The Writer
//
// A Writer[T] sits between many producers and one flush function (e.g.
// Store.WriteExecutions). Offer (one row) and OfferBatch (a producer's
// gathered rows, copied under one lock) never block: they queue rows in a
// bounded buffer or, when it is full (or the writer is closed), drop them
// and count them. One goroutine per writer, started by NewWriter, takes
// the whole queue and flushes it in batches of up to BatchSize, when a
// batch is waiting (the producer that fills one kicks it) or every
// FlushInterval. It does not wait on the queue itself: a goroutine parked
// on a channel of rows would be woken by every Offer, a scheduler (often a
// thread) wake-up per row. The queue is a slice grown on demand, not a
// channel made with room for Buffer rows: such a buffer is live heap from
// the start, which the garbage collector scans and doubles into its heap
// goal. A failed flush is retried with exponential backoff (MinBackoff
// doubling to MaxBackoff, with equal jitter so a run's workers do not
// retry in step); meanwhile the queue keeps filling, and once it holds
// Buffer rows new rows are dropped — memory stays bounded by twice Buffer
// rows (the queue and the rows being flushed) and the query loops never
// wait for the store. The writer uses the store's own connections, never
// the target's.
//
// Counters Produced, Stored, Dropped (atomic) keep Stored+Dropped <=
// Produced at every moment and Stored+Dropped == Produced after Close.
// Close(ctx) stops accepting rows, flushes everything buffered (retrying),
// and returns when done or when ctx ends — then the flush in flight is
// cancelled and every unstored row counts as dropped. The goroutine ends
// before Close returns; a writer never closed keeps it. Close's error
// matches ErrDropped when any row was dropped.
//
// Offer costs a read-lock and a mutex (a full buffer drops without the
// mutex); the read-lock lets Close shut the queue to new rows with no
// Offer racing the final flush.
//
// # The spool
//
// A store outage must never lose a run. NewBatchWriter takes a spool
// function beside the flush: rows the store cannot take go there instead
// of being dropped — at Close, when its context ends (the worker's flush
// timeout, 5 s by default); and during the run, once an outage has lasted
// SpoolAfter or has filled half the buffer, each take of the queue gets
// one attempt (a probe: the store may be back) and goes to the spool if
// it fails. So memory stays bounded, and stored + spooled + dropped =
// produced, with dropped 0 unless the disk is full. OnOutage is called
// once when a run of failures begins and once when it ends — one log line
// each, not one per attempt.
//
// Spool is the on-disk form: DIR/RUN_ID/WORKER.snapshots.jsonl and
// WORKER.executions.jsonl, one JSON line per batch with its batch id
// (each worker writes only its own files, so worker processes never share
// one; every line is synced), and status.json, the run's final RUN_STATUS
// update when the orchestrator could not write it, with the control
// events it could not append (written whole, by rename). DIR is DefaultSpoolDir — $UNISTORE_SPOOL_DIR, else spool/
// beside the default store in the per-user data directory — one for every
// store: a run spools under its id, and Recover loads into a store only
// the runs whose RUN_STATUS row it holds (a run is created before any
// load, so its row is always there), leaving the others. Recover loads
// the rows batch by batch through BatchWriter, so loading twice — or
// loading a batch a retry had stored after all — stores each row once;
// then the status, with the summary's store.recovered_at set; then
// removes the run's directory. JSON lines, not a binary format: a spool
// is small (what an outage held back) and a user may need to read it.
package store
