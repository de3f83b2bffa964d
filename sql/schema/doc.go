// Package schema embeds the results and config store's DDL, one directory
// per dialect (postgres, sqlite, snowflake), and hands it to whoever applies
// it — store.ApplySchema, called by `unistore schema apply --store DSN`.
// Nothing else runs DDL: at run time the store only reads and writes rows.
//
// Decisions recorded here:
//   - Scripts are numbered (0001_initial.sql, 0002_….sql); a script is
//     never edited once released, a change is a new script. Every
//     statement is rerunnable: CREATE … IF NOT EXISTS, ALTER TABLE … ADD
//     COLUMN IF NOT EXISTS, and an insert of the script's own number into
//     SCHEMA_VERSION that does nothing when the row is there. Applying twice
//     changes nothing.
//   - The binary's schema version (Version) is the highest script number.
//     Each dialect has the same numbers, and a test checks the three
//     dialects declare the same tables and columns, so they stay in step.
//     A store records the versions applied in SCHEMA_VERSION; a store whose
//     MAX(version) differs from Version is refused on open.
//   - Tables: RUN_STATUS, RUN_CONTROL_EVENTS, WORKER_HEARTBEATS,
//     WORKER_METRICS_SNAPSHOTS, QUERY_EXECUTIONS, SCHEMA_VERSION (schema
//     TEST_RESULTS) and TEST_TEMPLATES (schema CONFIG). PostgreSQL uses the
//     schemas test_results and config in the DSN's database, lower case;
//     SQLite has no schemas, so all tables share one file; Snowflake uses
//     database UNISTORE_BENCHMARK, or the store DSN's database, which
//     store/snowflake puts in its place.
//   - On Snowflake the three control tables are HYBRID tables with primary
//     keys (CREATE HYBRID TABLE IF NOT EXISTS — hybrid tables reject CREATE
//     OR ALTER); the high-volume snapshot and execution tables are standard
//     tables. JSON is VARCHAR there, not VARIANT (see store/snowflake).
//   - Column choices: "group" is reserved, so WORKER_GROUP; counts are
//     OP_COUNT and ERROR_COUNT; errors by class are one JSON object
//     (ERRORS_BY_CLASS, class name → count, zero classes left out) next to
//     the total ERROR_COUNT, so adding an error class needs no DDL and sums
//     need no JSON. Histograms (HISTOGRAM service time, RESPONSE_HISTOGRAM
//     open-model response time, ERROR_HISTOGRAM latency of failed queries)
//     are base64 text in the HdrHistogram V2 compressed encoding, opaque to
//     the store. WORKER_HEARTBEATS.ROWS_DROPPED carries each worker's
//     dropped store rows so the orchestrator can sum them into
//     RUN_STATUS.ROWS_DROPPED.
//   - No sequences, no foreign keys, no triggers: event numbers are
//     computed as MAX+1 inside the insert, so a run-time role needs only
//     USAGE on the schemas and SELECT, INSERT, UPDATE, DELETE on the tables.
//   - Statement splitting (Statements) knows quotes and comments but not
//     dollar quoting; the scripts do not use it.
package schema
