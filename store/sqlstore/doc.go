// Package sqlstore is the one store.Store implementation over SQL that
// the results-store backends share (store/postgres, store/sqlite and
// store/snowflake). A backend supplies a Dialect — how to run a
// statement and a query, bind a time, recognise a unique violation, write
// snapshot and execution rows in bulk — and a Config (table prefixes,
// placeholder style, what OFFSET needs without LIMIT); New returns the
// Store.
//
// # Decisions
//
//   - Queries are written once, with "?" placeholders and {table} names,
//     rewritten per dialect once and cached (Store.Q).
//   - The bulk path is the dialect's: COPY on PostgreSQL, multi-row
//     INSERT on database/sql dialects (InsertMany, which a Snowflake
//     dialect can reuse for multi-row binds). Each call is atomic.
//   - Upserts default to INSERT … ON CONFLICT, event appends to INSERT …
//     SELECT MAX(seq)+1 … RETURNING; a dialect without them implements the
//     optional HeartbeatPutter, TemplateSaver and EventAppender (found by
//     type assertion, so existing dialects need not change).
//   - Errors name the store by its redacted DSN, with every secret of the
//     DSN scrubbed from the driver's text (Errorf), and still unwrap to the
//     driver's error for errors.As.
//   - DB is the database/sql half of a dialect, with a statement cache.
package sqlstore
