// Package examples holds unistore's example templates (embedded, so the
// binary carries them) and the quickstart data set. Its sub-directories are
// runnable programs: embed/ embeds a run in a Go program, gotest/ runs one
// from `go test -bench`.
package examples

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"path/filepath"

	_ "modernc.org/sqlite" // the quickstart data set is SQLite
)

// Templates are the example templates, by file name.
//
//go:embed *.yaml
var Templates embed.FS

// QuickstartRows is the size of the quickstart accounts table.
const QuickstartRows = 100_000

// SetupQuickstart creates (or recreates) the quickstart tables in the SQLite
// database at path: accounts with rows rows and an empty history.
func SetupQuickstart(ctx context.Context, path string, rows int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+abs+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("quickstart: open %s: %w", abs, err)
	}
	defer tx.Rollback()
	for _, s := range []string{
		`DROP TABLE IF EXISTS history`,
		`DROP TABLE IF EXISTS accounts`,
		`CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, name TEXT NOT NULL, updated_at TEXT)`,
		`CREATE TABLE history (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, delta INTEGER NOT NULL, note TEXT, created_at TEXT NOT NULL)`,
		`CREATE INDEX history_account ON history (account_id)`,
	} {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("quickstart: %s: %w", s, err)
		}
	}
	// A recursive CTE fills the table in one statement.
	if _, err := tx.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO accounts (id, balance, name) SELECT i, (i * 7919) % 100000, 'account-' || i FROM n`, rows); err != nil {
		return fmt.Errorf("quickstart: fill accounts: %w", err)
	}
	return tx.Commit()
}
