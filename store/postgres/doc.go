// Package postgres is the PostgreSQL results store (pgx/v5, pgxpool). It
// registers the postgres:// and postgresql:// schemes with package store
// when imported:
//
//	import _ "github.com/unistore-bench/unistore/store/postgres"
//
// Tables live in the schemas test_results and config of the DSN's
// database; snapshots and executions are written with COPY, so a batch is
// stored whole or not at all. At run time it needs USAGE on both schemas
// and SELECT, INSERT, UPDATE, DELETE on their tables, nothing more: DDL
// runs only in ApplySchema, under an advisory lock so two appliers do not
// collide in the catalog. It is the shared store that workers on other
// machines can reach.
//
// A batch written with an id (store.BatchWriter) runs in a transaction
// that first inserts the id into test_results.stored_batches, ON CONFLICT
// DO NOTHING: a batch already there is not copied again.
//
// A store on this machine (127.0.0.1, ::1, localhost or a socket
// directory) whose DSN names no sslmode — nor PGSSLMODE — is reached
// without TLS: pgx's default, "prefer", tries TLS first and then plain
// text, so each connection attempt to a store that is down failed twice
// and said so twice. An explicit sslmode is kept, and so is pgx's default
// for any other host.
package postgres
