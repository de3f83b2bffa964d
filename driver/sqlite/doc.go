// Package sqlite is unistore's embedded SQLite driver, pure Go
// (modernc.org/sqlite, no cgo): the zero-setup target.
//
// Import it for its side effect to register the driver as "sqlite", or call
// NewConnector. DSNs look like sqlite://./bench.db (relative) or
// sqlite:///abs/bench.db (absolute), with optional parameters busy_timeout
// (milliseconds, default 5000) and synchronous (normal by default). The
// file is created if missing. ":memory:" and file: URIs are rejected:
// every connection of a run would see its own private database.
//
// Decisions recorded here:
//   - One *sql.DB per Connector; each Connect takes a dedicated *sql.Conn
//     that its loop keeps for the run, and statements are prepared on it
//     (*sql.Stmt bound to that connection). Closing a Conn closes the
//     SQLite connection (it is not returned to database/sql's idle pool), so
//     connections never share session state.
//   - Every connection runs, through modernc's _pragma DSN parameters,
//     busy_timeout first (so the rest wait for locks), then
//     journal_mode=WAL (readers do not block the writer), synchronous
//     (NORMAL: durable at checkpoints, the usual WAL pairing) and
//     foreign_keys=ON. Connect pings, so a bad path fails at connect time.
//     Settings reports journal_mode, busy_timeout_ms and synchronous.
//   - SQLite reads "?" placeholders natively, so SQL is passed unchanged.
//   - Exec decides at Prepare time whether a statement returns rows, from
//     its text: a leading SELECT, WITH, VALUES, PRAGMA or EXPLAIN (after
//     comments), or RETURNING outside literals and comments. Those run as
//     queries and return the rows read; the rest return RowsAffected. A
//     WITH … INSERT without RETURNING is therefore run as a query and
//     reports 0 rows.
//   - Arguments go through core.Value.Any into a reused []any (text
//     allocates a string; database/sql allocates too). Times are bound in
//     UTC and written in SQLite's own format (_time_format=sqlite), so
//     stored times sort as text and SQLite's date functions read them.
//   - Contexts are honoured by database/sql and modernc (a cancelled context
//     interrupts the running statement with sqlite3_interrupt), so no
//     driver.Canceler is needed.
//   - QueryColumn reads BOOLEAN/BOOL columns as KindBool and DATE, DATETIME
//     and TIMESTAMP columns as KindTime; other values by storage class.
//   - Classify maps result codes: BUSY and LOCKED to serialization,
//     CONSTRAINT to constraint, MISMATCH/RANGE/TOOBIG to data, ERROR (syntax,
//     no such table)/AUTH/PERM/READONLY to syntax, FULL/NOMEM/IOERR/CANTOPEN/
//     CORRUPT/NOTADB to resource, INTERRUPT to timeout; the code is the
//     extended code's name, like SQLITE_CONSTRAINT_PRIMARYKEY.
package sqlite
