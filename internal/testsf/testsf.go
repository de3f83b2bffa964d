// Package testsf gives tests a Snowflake results store on the project's
// emulator (package emulator): a server with an administrator and a
// DML-only user (emulator.User.ReadWrite: any DDL is refused with 003001),
// the store schema applied by the administrator in UNISTORE_BENCHMARK, and
// the DSNs to reach it. It needs no network beyond loopback and no
// account, so these tests always run.
package testsf

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/emulator"
	"github.com/unistore-bench/unistore/store"
	_ "github.com/unistore-bench/unistore/store/snowflake" // the snowflake:// store
)

// The emulator's users. Passwords are the test's secrets: a test may look
// for them in what was stored or printed.
const (
	AdminUser     = "STORE_ADMIN"
	AdminPassword = "Adm1n-sf-secret"
	RunUser       = "STORE_RW"
	RunPassword   = "Rw-sf-secret-42"
)

// Database and Schema are where the store lives, as the design puts it.
const (
	Database = "UNISTORE_BENCHMARK"
	Schema   = "TEST_RESULTS"
)

// Config is the emulator configuration Start uses: the two users and no
// request-log limit. Tests that need more (Init scripts, other users)
// start from it.
func Config() emulator.Config {
	// Before the first connect: no cloud-metadata probes, no native
	// library (driver/snowflake sets both too; a test may connect first).
	os.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	return emulator.Config{Users: []emulator.User{
		{Name: AdminUser, Password: AdminPassword},
		{Name: RunUser, Password: RunPassword, ReadWrite: true},
	}}
}

// Server is a running emulator holding a store.
type Server struct {
	*emulator.Server
}

// Start runs an emulator with cfg (Config() plus whatever the test adds),
// closed when the test ends, and applies the store schema as AdminUser.
func Start(tb testing.TB, cfg emulator.Config) *Server {
	tb.Helper()
	s, err := emulator.Start(cfg, "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testsf: start emulator: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	srv := &Server{s}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := store.ApplySchema(ctx, srv.AdminDSN()); err != nil {
		tb.Fatalf("testsf: apply schema: %v", err)
	}
	return srv
}

// AdminDSN is the store DSN of the user that may run DDL.
func (s *Server) AdminDSN() string {
	return "snowflake://" + s.DSN(AdminUser, AdminPassword, Database, Schema)
}

// RunDSN is the store DSN of the DML-only user: what a run needs.
func (s *Server) RunDSN() string {
	return "snowflake://" + s.DSN(RunUser, RunPassword, Database, Schema)
}

// StoreDSN starts an emulator (Config()) with the schema applied and
// returns the DML-only user's store DSN.
func StoreDSN(tb testing.TB) string {
	tb.Helper()
	return Start(tb, Config()).RunDSN()
}
