package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/sql/schema"
)

// DefaultDSN is the default results store: an SQLite file in the working
// directory.
const DefaultDSN = "sqlite://./unistore.db"

// Open connects to the store the DSN names — "sqlite://PATH",
// "postgres://…" or "postgresql://…" — checks that it answers and that its
// schema version is this binary's (schema.Version), and returns it. A
// store without the schema, or with another version, is a *SchemaError
// (errors.Is(err, ErrSchema)) telling the user to run
// `unistore schema apply --store DSN`. Errors show the DSN redacted.
func Open(ctx context.Context, dsn string) (Store, error) {
	switch dialectOf(dsn) {
	case schema.SQLite:
		return OpenSQLite(ctx, dsn)
	case schema.Postgres:
		return OpenPostgres(ctx, dsn)
	case schema.Snowflake:
		return nil, fmt.Errorf("store: %s: the Snowflake results store is not implemented yet (its DDL is in sql/schema/snowflake); use sqlite:// or postgres://", core.RedactDSN(dsn))
	default:
		return nil, unknownScheme(dsn)
	}
}

// ApplySchema creates or upgrades the store's schema to this binary's
// version, running the embedded scripts of the DSN's dialect in order, in
// one transaction. It is the only code that runs DDL, and it is
// idempotent: applying twice changes nothing. A SQLite file is created if
// missing.
func ApplySchema(ctx context.Context, dsn string) error {
	switch dialectOf(dsn) {
	case schema.SQLite:
		return applySQLite(ctx, dsn)
	case schema.Postgres:
		return applyPostgres(ctx, dsn)
	case schema.Snowflake:
		return fmt.Errorf("store: %s: applying the Snowflake schema is not implemented yet: run the scripts in sql/schema/snowflake with SnowSQL", core.RedactDSN(dsn))
	default:
		return unknownScheme(dsn)
	}
}

func dialectOf(dsn string) string {
	scheme, _, ok := strings.Cut(dsn, "://")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		return schema.SQLite
	case "postgres", "postgresql":
		return schema.Postgres
	case "snowflake":
		return schema.Snowflake
	}
	return ""
}

func unknownScheme(dsn string) error {
	return fmt.Errorf("store: %q is not a store DSN: want sqlite://PATH or postgres://user@host/db", core.RedactDSN(dsn))
}

// SchemaError says the store's schema is missing (Have == 0) or not this
// binary's version. It names the store by its redacted DSN.
type SchemaError struct {
	Dialect string // "sqlite" or "postgres"
	DSN     string // redacted
	Have    int    // version found, 0 for none
	Want    int    // schema.Version
}

func (e *SchemaError) Error() string {
	apply := fmt.Sprintf("run `unistore schema apply --store %s`", e.DSN)
	switch {
	case e.Have == 0:
		return fmt.Sprintf("store: %s store %s has no unistore schema: %s", e.Dialect, e.DSN, apply)
	case e.Have < e.Want:
		return fmt.Sprintf("store: %s store %s has schema version %d, this unistore needs %d: %s", e.Dialect, e.DSN, e.Have, e.Want, apply)
	default:
		return fmt.Sprintf("store: %s store %s has schema version %d, newer than this unistore's %d: use a newer unistore, which can `unistore schema apply --store %s`", e.Dialect, e.DSN, e.Have, e.Want, e.DSN)
	}
}

// Is makes errors.Is(err, ErrSchema) true.
func (e *SchemaError) Is(target error) bool { return target == ErrSchema }

// secretError carries an error whose text has had the DSN's secrets
// removed. Unwrap still reaches the original for errors.Is/As.
type secretError struct {
	msg string
	err error
}

func (e *secretError) Error() string { return e.msg }
func (e *secretError) Unwrap() error { return e.err }

// wrapf returns "store: <dialect> store <redacted dsn>: <what>: <err>" with
// every secret of dsn scrubbed from err's text.
func wrapf(dialect, dsn string, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("store: %s store %s: %s: %s", dialect, core.RedactDSN(dsn), fmt.Sprintf(format, args...), err.Error())
	for _, s := range dsnSecrets(dsn) {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return &secretError{msg: msg, err: err}
}

// dsnSecrets returns the secret values in a URL DSN: the password and
// secret query parameters (those core.RedactDSN hides).
func dsnSecrets(dsn string) []string {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil
	}
	var out []string
	if p, ok := u.User.Password(); ok && p != "" {
		out = append(out, p)
	}
	red, err := url.Parse(core.RedactDSN(dsn))
	if err != nil {
		return out
	}
	q, rq := u.Query(), red.Query()
	for k, vs := range q {
		if rq.Get(k) == "xxxxx" {
			for _, v := range vs {
				if v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// checkVersion turns the store's MAX(version) into nil or a *SchemaError.
func checkVersion(dialect, dsn string, have int) error {
	if have == schema.Version {
		return nil
	}
	return &SchemaError{Dialect: dialect, DSN: core.RedactDSN(dsn), Have: have, Want: schema.Version}
}

var errNoSchema = errors.New("no schema")
