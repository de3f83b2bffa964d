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
package postgres
