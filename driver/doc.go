// Package driver is the small interface between unistore's loops and a
// target database, with a registry shaped like database/sql's.
//
// A driver registers itself from init (import _ ".../driver/postgres");
// Resolve picks one by name or by the DSN's scheme, and an unknown name
// reports `unknown driver "x" (forgotten import?)`. Embedders that want no
// registry build a Connector themselves (postgres.NewConnector, say) and
// pass it to unistore.Run with unistore.WithConnector.
//
// The interface is deliberately narrow: connect, prepare a statement, execute
// it with parameters into a row count, and read one column for key sampling.
// It fits a pgx connection as well as a database/sql one (SQLite, Snowflake).
// Optional capabilities — extra schemes, reported settings, error
// classification, out-of-band query cancel — are extra interfaces found by
// type assertion, each with a fallback. Those for a run's cost and the
// server's own figures (server.go) — WarehouseSampler, StatementStatser,
// ServerHistory — are asked of a connection the run's meter opens under
// WithAuxiliary, never of a load loop's; a driver without them has no
// warehouse to bill and no server counters (cost source "none", no server
// section).
//
// Statements arrive with "?" placeholders; each driver rewrites them to its
// own style with core.RewritePlaceholders.
package driver
