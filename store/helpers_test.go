package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/unistore-bench/unistore/store/postgres"
	_ "github.com/unistore-bench/unistore/store/sqlite"

	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/store"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sqliteDSN returns the DSN of a new SQLite store file with the schema applied.
func sqliteDSN(t testing.TB) string {
	t.Helper()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "unistore.db")
	if err := store.ApplySchema(ctxT(t), dsn); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// pgDSN returns the DSN of a new PostgreSQL database with the schema applied.
func pgDSN(t testing.TB) string {
	t.Helper()
	dsn := testpg.NewDatabase(t)
	if err := store.ApplySchema(ctxT(t), dsn); err != nil {
		t.Fatal(err)
	}
	return dsn
}

func open(t testing.TB, dsn string) store.Store {
	t.Helper()
	st, err := store.Open(ctxT(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
