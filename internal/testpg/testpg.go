// Package testpg gives tests the PostgreSQL server that scripts/test.sh
// (and CI) starts: its DSN comes from UNISTORE_TEST_PG_DSN. Without it a
// test skips with a one-line reason, except under CI=true, where a missing
// server is a failure.
package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the variable tests read.
const EnvDSN = "UNISTORE_TEST_PG_DSN"

// DSN returns the test server's DSN, or skips (fails under CI=true).
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set and CI=true: PostgreSQL tests must run in CI (use scripts/test.sh)", EnvDSN)
		}
		tb.Skipf("%s not set: PostgreSQL tests skipped (scripts/test.sh starts a server)", EnvDSN)
	}
	return dsn
}

// NewDatabase creates a fresh, empty database on the test server, drops it
// when the test ends, and returns its DSN. Tests that create tables use one
// so they never see each other's.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	base := DSN(tb)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "unistore_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("testpg: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testpg: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Logf("testpg: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("testpg: drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("testpg: %s is not a URL DSN: %v", EnvDSN, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Exec runs statements on dsn, failing the test on error.
func Exec(tb testing.TB, dsn string, sqls ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("testpg: connect: %v", err)
	}
	defer conn.Close(ctx)
	for _, s := range sqls {
		if _, err := conn.Exec(ctx, s); err != nil {
			tb.Fatalf("testpg: %s: %v", s, err)
		}
	}
}

// QueryInt runs a query returning one integer.
func QueryInt(tb testing.TB, dsn, sql string, args ...any) int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("testpg: connect: %v", err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		tb.Fatalf("testpg: %s: %v", sql, err)
	}
	return n
}
