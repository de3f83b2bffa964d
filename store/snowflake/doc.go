// Package snowflake is the Snowflake results store, the design's
// authoritative one: database/sql over gosnowflake v1.19. It registers the
// snowflake:// scheme with package store when imported:
//
//	import _ "github.com/unistore-bench/unistore/store/snowflake"
//
//	unistore schema apply --store 'snowflake://ADMIN@ACCOUNT/UNISTORE_BENCHMARK/TEST_RESULTS?warehouse=WH&private_key_file=admin.p8'
//	unistore run hybrid-mix.yaml --target 'snowflake://…/UNISTORE_DEMO/PUBLIC?…' \
//	    --store 'snowflake://LOADER@ACCOUNT/UNISTORE_BENCHMARK/TEST_RESULTS?warehouse=WH&private_key_file=loader.p8'
//
// # DSNs and sessions
//
// The DSN is the Snowflake driver's (driver/snowflake.ParseConfig): every
// gosnowflake form, ?connection=NAME from connections.toml, the
// SNOWFLAKE_* variables, private_key_file for key-pair login, and that
// package's defaults (telemetry off, platform detection off, the quiet
// logger, maxRetryCount=-1). The *sql.DB is sql.OpenDB over a connector
// that builds a gosnowflake connector from a copy of that configuration
// per session (gosnowflake writes server parameters back into the
// config's map, so sessions must not share it); up to 8 sessions, kept
// idle between uses so a session is not a login per statement. Errors
// and anything printed show the DSN redacted (core.RedactDSN), with a
// password from connections.toml or the environment scrubbed too.
//
// The DSN's database holds the store (UNISTORE_BENCHMARK when none is
// given): tables in its schemas TEST_RESULTS and CONFIG, always named in
// full, so the DSN's schema and the session's current namespace do not
// matter. ApplySchema runs sql/schema/snowflake with that database in place
// of UNISTORE_BENCHMARK.
//
// # Schema and privileges
//
// RUN_STATUS, RUN_CONTROL_EVENTS and WORKER_HEARTBEATS are HYBRID tables
// with primary keys (small keyed reads and writes, row locks, enforced
// keys); snapshots, executions, SCHEMA_VERSION and TEST_TEMPLATES are
// standard tables. Hybrid tables reject CREATE OR ALTER, so the scripts use
// CREATE HYBRID TABLE IF NOT EXISTS and, for later versions, ALTER TABLE …
// ADD COLUMN IF NOT EXISTS; the last statement MERGEs the script's number
// into SCHEMA_VERSION. Snowflake commits each DDL statement by itself, so
// ApplySchema has no enclosing transaction: every statement is rerunnable
// and an interrupted apply is finished by applying again. Open reads
// MAX(VERSION) and refuses a store without the schema or with another
// version (store.SchemaError, telling the user what to run).
//
// At run time the store runs only DML — SELECT, INSERT, UPDATE, DELETE
// and MERGE on those tables — so the run's role needs USAGE on the
// database and both schemas and those privileges on the tables:
//
//	GRANT USAGE ON DATABASE UNISTORE_BENCHMARK TO ROLE UNISTORE_RT;
//	GRANT USAGE ON ALL SCHEMAS IN DATABASE UNISTORE_BENCHMARK TO ROLE UNISTORE_RT;
//	GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN DATABASE UNISTORE_BENCHMARK TO ROLE UNISTORE_RT;
//	GRANT USAGE ON WAREHOUSE WH TO ROLE UNISTORE_RT;
//
// ApplySchema through such a role fails on its first statement with an
// error that says which role it needs.
//
// JSON (spec, summary, event payloads, errors by class) is VARCHAR holding
// the JSON text, not VARIANT: a VALUES list cannot call PARSE_JSON, a bound
// string stored into a VARIANT is a JSON string rather than an object, and
// text keeps the spec's numbers digit for digit. Query it with
// PARSE_JSON(SUMMARY):total.qps.
//
// # Write path
//
// Snapshots and executions, the high-volume rows, go as multi-row INSERTs
// with plain positional binds: each statement at most 16,384 rows (the
// VALUES limit), 32,000 bound values (the emulator's SQLite takes 32,766)
// and about 1 MiB of bound values before the request's gzip
// compression (Snowflake keeps 1 MB of a statement, binds included,
// measured compressed), so a default 2,000-row Writer batch of executions
// is one statement and a batch of snapshots one or a few. One statement is
// atomic by itself; more go in one transaction (BEGIN … COMMIT) on one
// session, so a batch is stored whole or not at all and the Writer's retry
// after an outage cannot half-store it. A transaction that fails anywhere
// is rolled back and its session discarded, never pooled again: if the
// ROLLBACK failed too (the store unreachable), the transaction would stay
// open on that session and Snowflake, which ignores a BEGIN inside a
// transaction, would commit the half batch with the next one. Array
// binding is not used: gosnowflake moves an array bind above
// CLIENT_STAGE_ARRAY_BINDING_THRESHOLD (65,280 values) to a temporary stage
// with PUT, which the emulator does not serve, and below the threshold it
// saves nothing a multi-row bind does not.
//
// No float is ever bound: gosnowflake sends a float64 at float32
// precision. Every column the store writes is an integer (counts, µs),
// text (ids, JSON, base64 HdrHistogram encodings), a boolean or a time
// (bound as time.Time: TIMESTAMP_NTZ, nanoseconds, exact); Exec, Query
// and the bulk path refuse a float argument with ErrFloatBind, so a
// float column added later fails its first test instead of losing digits.
//
// # Upserts and event numbers
//
// Snowflake has neither INSERT … ON CONFLICT nor RETURNING. A heartbeat
// is one MERGE … USING (SELECT ? AS …) … WHEN MATCHED THEN UPDATE … WHEN
// NOT MATCHED THEN INSERT: one round trip whether the row exists or not,
// atomic, and DML (an UPDATE-then-INSERT would take two round trips for a
// new row and race a concurrent insert). A template save is the same MERGE
// (version + 1) and a read of the row, in one transaction. A control
// event reads the run's existence and MAX(SEQ)+1 in one query, then
// inserts with that number; RUN_CONTROL_EVENTS is hybrid, so its primary
// key is enforced and a concurrent append with the same number fails
// (200001) and retries. The emulator executes these MERGEs (it rewrites
// them into SQLite's UPDATE … FROM and INSERT … WHERE NOT EXISTS in one
// savepoint).
//
// # Control-plane timings
//
// A Snowflake statement costs 10–200 ms of round trip (more through a busy
// warehouse), against well under a millisecond for SQLite and PostgreSQL
// nearby. Store implements store.ControlDefaulter, so a run on this store
// whose spec leaves them zero polls every 1 s (workers read events and run
// status, the orchestrator heartbeats), heartbeats every 1 s, declares a
// worker lost after 30 s of silence and lets a worker go on for 60 s
// without seeing the run renewed — instead of core's 200 ms / 1 s / 5 s /
// 15 s. The trade: a STOP, a phase change or a scale reaches the workers
// up to a second after the orchestrator decides it, instead of 200 ms — a
// worker's measurement window starts and ends that much later, but its
// samples are cut at the moment it switches and the rollup divides by the
// span its snapshots cover, so the figures stay exact; a dead worker is
// relaunched after 30 s instead of 5 s; and an orphaned worker stops within
// a minute. In return one worker costs about three statements a second
// (two polls, one heartbeat) instead of eleven, a slow statement or a
// warehouse resume no longer looks like a dead worker, and the control
// plane's own use of hybrid-table requests stays small beside the load's
// quota. A spec that sets any of them wins.
//
// Every statement carries a query tag (per statement,
// gosnowflake.WithQueryTag: no ALTER SESSION), so the store's own traffic
// is told apart from the load in QUERY_HISTORY and in the emulator's
// request log: "unistore:store:run=RUN_ID:op=KIND" (RunTag; KIND is
// update_run, append_event, put_heartbeat, write_snapshots, events_since,
// …) for a statement about one run, so a run's control-plane statements
// can be counted and costed per kind from AGGREGATE_QUERY_HISTORY; bare
// "unistore:store" for the rest (templates, listing runs, the schema).
// The Store overrides each run-scoped method of sqlstore.Store to set the
// tag in the context its dialect reads. SampleWarehouse and
// WarehouseName give package cost the store warehouse's size and
// auto-suspend for the control plane's credits.
package snowflake
