package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// RestrictedRole creates a role with a random password that holds only
// CONNECT on dsn's database, USAGE on its schemas test_results and config,
// and SELECT, INSERT, UPDATE, DELETE on their tables — not TEMP, not
// CREATE — and returns a DSN that logs in as it (password included). dsn
// must reach the database as a superuser, after the store's schema was
// applied. It checks the role really cannot run DDL, and drops the role
// (and its grants) when the test ends. Whatever works through the returned
// DSN runs no DDL.
func RestrictedRole(tb testing.TB, dsn string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("testpg: %v", err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	var b [8]byte
	_, _ = rand.Read(b[:])
	role := "unistore_rt_" + hex.EncodeToString(b[:4])
	password := "rt-" + hex.EncodeToString(b[4:]) + "-pw"
	Exec(tb, dsn,
		fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s' NOSUPERUSER NOCREATEDB NOCREATEROLE`, role, password),
		fmt.Sprintf(`REVOKE ALL ON DATABASE %s FROM PUBLIC`, pgx.Identifier{db}.Sanitize()),
		fmt.Sprintf(`GRANT CONNECT ON DATABASE %s TO %s`, pgx.Identifier{db}.Sanitize(), role),
		`REVOKE ALL ON SCHEMA public FROM PUBLIC`,
		fmt.Sprintf(`GRANT USAGE ON SCHEMA test_results, config TO %s`, role),
		fmt.Sprintf(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA test_results, config TO %s`, role),
	)
	// Cleanups run last-registered first, so this one runs before the
	// database's own: DROP OWNED revokes the role's grants here (database
	// privileges included), after which the role can go.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Logf("testpg: drop role %s: %v", role, err)
			return
		}
		defer c.Close(ctx)
		for _, s := range []string{`DROP OWNED BY ` + role, `DROP ROLE IF EXISTS ` + role} {
			if _, err := c.Exec(ctx, s); err != nil {
				tb.Logf("testpg: %s: %v", s, err)
				return
			}
		}
	})
	u.User = url.UserPassword(role, password)
	rdsn := u.String()

	// The role really cannot run DDL.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, rdsn)
	if err != nil {
		tb.Fatalf("testpg: connect as %s: %v", role, err)
	}
	defer c.Close(ctx)
	for _, ddl := range []string{
		`CREATE TABLE test_results.x (a int)`,
		`CREATE TABLE public.x (a int)`,
		`CREATE TEMP TABLE x (a int)`,
		`ALTER TABLE test_results.run_status ADD COLUMN x int`,
	} {
		var pgErr *pgconn.PgError
		if _, err := c.Exec(ctx, ddl); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			tb.Fatalf("testpg: restricted role ran %q: got %v, want insufficient privilege (42501)", ddl, err)
		}
	}
	return rdsn
}
