// Package sqlite is the embedded results store: one SQLite file
// (modernc.org/sqlite, pure Go, no cgo). It registers the sqlite:// and
// sqlite3:// schemes with package store when imported:
//
//	import _ "github.com/unistore-bench/unistore/store/sqlite"
//
// It serves one machine: WAL mode, a busy timeout so concurrent writers
// wait their turn, and BEGIN IMMEDIATE transactions so a writer never
// deadlocks upgrading a read lock. Times are stored as fixed-width RFC 3339
// text, which sorts as time does. Bulk rows go in multi-row INSERTs of up
// to 30000 parameters in one transaction. A missing file is a schema error
// (ApplySchema creates it), so a typo in the path leaves no empty file.
package sqlite
