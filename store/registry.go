package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/sql/schema"
)

// DefaultDSN returns the default results store: the per-user SQLite file
// DefaultPath names (its backend is store/sqlite, which must be imported).
func DefaultDSN() string { return "sqlite://" + DefaultPath() }

// DefaultPath is the default results store's file:
// $XDG_DATA_HOME/unistore/unistore.db, else
// ~/.local/share/unistore/unistore.db (the XDG default), else, with no
// home directory, ./unistore.db. One file per user, wherever a command
// runs, so `runs list` shows every run the user made.
func DefaultPath() string {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "unistore", "unistore.db")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "unistore", "unistore.db")
	}
	return filepath.Join(".", "unistore.db")
}

// Backend opens the stores of one or more DSN schemes and applies their
// schema. Backends register themselves (Register) from an init function,
// as database/sql drivers do: store/sqlite, store/postgres.
type Backend interface {
	// Open connects to the store dsn names, checks that it answers and
	// that its schema version is this binary's (CheckVersion), and returns
	// it. Errors show the DSN redacted.
	Open(ctx context.Context, dsn string) (Store, error)
	// ApplySchema creates or upgrades the store's schema to this binary's
	// version; it is idempotent.
	ApplySchema(ctx context.Context, dsn string) error
}

// ErrUnknownStore is matched by the error of Open and ApplySchema for a
// DSN whose scheme no imported backend registered.
var ErrUnknownStore = errors.New("store: unknown store")

var (
	backendsMu sync.RWMutex
	backends   = map[string]Backend{}
)

// Register makes a backend available under scheme (lowercase, without
// "://"). It panics if b is nil, the scheme is empty or already
// registered: those are programming errors, found at init.
func Register(scheme string, b Backend) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	if b == nil {
		panic("store: Register backend is nil")
	}
	if scheme == "" || scheme != strings.ToLower(scheme) {
		panic(fmt.Sprintf("store: Register scheme %q: want a non-empty lowercase scheme", scheme))
	}
	if _, dup := backends[scheme]; dup {
		panic("store: Register called twice for scheme " + scheme)
	}
	backends[scheme] = b
}

// Schemes returns the registered schemes, sorted.
func Schemes() []string {
	backendsMu.RLock()
	defer backendsMu.RUnlock()
	out := make([]string, 0, len(backends))
	for s := range backends {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Open connects to the store the DSN names, through the backend
// registered for its scheme — "sqlite://PATH" (store/sqlite),
// "postgres://…" or "postgresql://…" (store/postgres) — checks that it
// answers and that its schema version is this binary's (schema.Version),
// and returns it. A store without the schema, or with another version, is
// a *SchemaError (errors.Is(err, ErrSchema)) telling the user to run
// `unistore schema apply --store DSN`. An unregistered scheme is
// ErrUnknownStore. Errors show the DSN redacted.
func Open(ctx context.Context, dsn string) (Store, error) {
	b, err := backendOf(dsn)
	if err != nil {
		return nil, err
	}
	return b.Open(ctx, dsn)
}

// ApplySchema creates or upgrades the store's schema to this binary's
// version, running the embedded scripts of the DSN's dialect in order, in
// one transaction. It is the only code that runs DDL, and it is
// idempotent: applying twice changes nothing. A SQLite file is created if
// missing.
func ApplySchema(ctx context.Context, dsn string) error {
	b, err := backendOf(dsn)
	if err != nil {
		return err
	}
	return b.ApplySchema(ctx, dsn)
}

func backendOf(dsn string) (Backend, error) {
	scheme, _, ok := strings.Cut(dsn, "://")
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a store DSN: want SCHEME://…, one of %s", ErrUnknownStore,
			core.RedactDSN(dsn), strings.Join(Schemes(), ", "))
	}
	scheme = strings.ToLower(scheme)
	backendsMu.RLock()
	b, found := backends[scheme]
	backendsMu.RUnlock()
	if !found {
		return nil, &unknownStoreError{scheme: scheme}
	}
	return b, nil
}

type unknownStoreError struct{ scheme string }

func (e *unknownStoreError) Error() string {
	return fmt.Sprintf("store: unknown store %q (forgotten import?); registered: %s", e.scheme, strings.Join(Schemes(), ", "))
}

func (e *unknownStoreError) Is(target error) bool { return target == ErrUnknownStore }

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

// CheckVersion turns a store's schema version (0 for none) into nil or a
// *SchemaError naming the store by its redacted DSN. Backends call it.
func CheckVersion(dialect, dsn string, have int) error {
	if have == schema.Version {
		return nil
	}
	return &SchemaError{Dialect: dialect, DSN: core.RedactDSN(dsn), Have: have, Want: schema.Version}
}

// UTC is the store's form of a time: UTC, truncated to microseconds; the
// zero time stays zero.
func UTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}
