package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// Name is the name the driver registers under; it also claims the
// "postgresql" DSN scheme.
const Name = "postgres"

// Mode is how statements run on the server.
type Mode string

// The statement modes, chosen with the DSN parameter statement_mode.
const (
	// ModePrepared prepares a named server-side statement once per
	// connection and executes it at the pgconn level with text parameters
	// encoded into reused buffers. The default.
	ModePrepared Mode = "prepared"
	// ModeExtended runs every execution through pgx with
	// QueryExecModeExec: extended protocol, unnamed statement, no cache.
	ModeExtended Mode = "extended"
	// ModeSimple runs every execution through pgx with
	// QueryExecModeSimpleProtocol: parameters interpolated client-side.
	ModeSimple Mode = "simple"
	// ModeRaw prepares like ModePrepared but executes with its own wire
	// code on the connection's socket: Bind/Execute/Sync written in one
	// blocking write, the answer read with blocking reads and framed
	// without allocating. Linux only; a TLS connection falls back to the
	// ModePrepared path.
	ModeRaw Mode = "raw"
)

// DefaultMode is the statement mode when the DSN names none.
const DefaultMode = ModePrepared

// ModeParam is the DSN parameter that selects the statement mode. It is
// removed from the DSN before pgx parses it.
const ModeParam = "statement_mode"

func init() { driver.Register(Name, Driver{}) }

// Driver is the PostgreSQL driver. The zero value is ready to use.
type Driver struct{}

var (
	_ driver.Driver     = Driver{}
	_ driver.Schemer    = Driver{}
	_ driver.Classifier = Driver{}
)

// OpenConnector implements driver.Driver; it calls NewConnector.
func (Driver) OpenConnector(dsn string) (driver.Connector, error) { return NewConnector(dsn) }

// Schemes implements driver.Schemer.
func (Driver) Schemes() []string { return []string{"postgresql"} }

// Classify implements driver.Classifier; see the package function Classify.
func (Driver) Classify(err error) (core.ErrorClass, string) { return Classify(err) }

// Connector makes PostgreSQL connections for one DSN. It holds no pool:
// each Connect dials one connection that its loop keeps for the whole run.
type Connector struct {
	cfg      *pgx.ConnConfig
	mode     Mode
	engine   Engine // EngineEpoll or EngineGoroutine
	eopts    engineOpts
	redacted string
	baseDial pgconn.DialFunc // pgconn's own dialer, before sockDialer
	planOnce sync.Once       // Plan
	// rawIO: the goroutine engine runs prepared statements with the raw
	// mode's wire code (rawConn), as auto's fallback does (Plan).
	rawIO bool
}

var (
	_ driver.Connector  = (*Connector)(nil)
	_ driver.Describer  = (*Connector)(nil)
	_ driver.Classifier = (*Connector)(nil)
)

// NewConnector parses dsn (URL or keyword/value form, everything pgx
// accepts, plus statement_mode) without connecting. Errors show the DSN
// redacted, never its password.
func NewConnector(dsn string) (*Connector, error) {
	rest, modeStr, err := stripOption(dsn, ModeParam)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad DSN %s: %v", core.RedactDSN(dsn), err)
	}
	mode := DefaultMode
	if modeStr != "" {
		switch m := Mode(strings.ToLower(modeStr)); m {
		case ModePrepared, ModeExtended, ModeSimple:
			mode = m
		case ModeRaw:
			if !rawSupported {
				return nil, fmt.Errorf("postgres: bad DSN %s: %s=raw is only available on Linux", core.RedactDSN(dsn), ModeParam)
			}
			mode = m
		default:
			return nil, fmt.Errorf("postgres: bad DSN %s: %s=%q: want prepared, raw, extended or simple", core.RedactDSN(dsn), ModeParam, modeStr)
		}
	}
	rest, eopts, err := engineOptions(rest)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad DSN %s: %v", core.RedactDSN(dsn), err)
	}
	cfg, err := pgx.ParseConfig(rest)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad DSN %s: %w", core.RedactDSN(dsn), parseError(err))
	}
	eng, err := resolveEngine(cfg, mode, eopts.want)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad DSN %s: %v", core.RedactDSN(dsn), err)
	}
	// Adjust: no statement cache or description cache in any mode. The
	// prepared mode manages its own statements at the pgconn level; the
	// extended and simple modes exist to measure the uncached paths.
	cfg.StatementCacheCapacity = 0
	cfg.DescriptionCacheCapacity = 0
	switch mode {
	case ModeSimple:
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	default:
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	c := &Connector{cfg: cfg, mode: mode, engine: eng, eopts: eopts, redacted: core.RedactDSN(dsn), baseDial: cfg.DialFunc}
	if eng == EngineEpoll {
		cfg.DialFunc = sockDialer(cfg.DialFunc)
	}
	return c, nil
}

// Mode returns the connector's statement mode.
func (c *Connector) Mode() Mode { return c.mode }

// Settings implements driver.Describer.
func (c *Connector) Settings() map[string]string {
	s := map[string]string{ModeParam: string(c.mode), EngineParam: string(c.engine)}
	if c.engine == EngineEpoll {
		s[EngineLoopsParam] = strconv.Itoa(c.engineLoops())
		s[EngineProcsParam] = string(c.eopts.procs)
		s[EngineAffinityParam] = string(c.eopts.affinity)
	}
	if c.rawIO {
		s[EngineIOParam] = "raw"
	}
	return s
}

// Classify implements driver.Classifier; see the package function Classify.
func (c *Connector) Classify(err error) (core.ErrorClass, string) { return Classify(err) }

// Close implements driver.Connector. A Connector shares nothing between its
// connections, so Close does nothing and may be called any number of times.
func (c *Connector) Close() error { return nil }

// Connect dials one connection.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	cfg := c.cfg
	// The worker's name for its connections, unless the DSN gives one; a
	// connection that is not the load's (driver.WithAuxiliary) always
	// takes its own.
	if name := driver.ClientName(ctx); name != "" && (cfg.RuntimeParams["application_name"] == "" || driver.Auxiliary(ctx)) {
		cfg = cfg.Copy()
		cfg.RuntimeParams["application_name"] = name
	}
	pc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, &redactedError{
			msg: fmt.Sprintf("postgres: connect to host=%s port=%d user=%s database=%s: %s",
				c.cfg.Host, c.cfg.Port, c.cfg.User, c.cfg.Database, scrub(connectDetail(err), c.cfg.Password)),
			err: err,
		}
	}
	return newConn(c, pc), nil
}

// connectDetail drops pgx's "failed to connect to `user=… database=…`:"
// prefix, which our own message repeats.
func connectDetail(err error) string {
	s := err.Error()
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		if i := strings.Index(s, "`:"); i >= 0 {
			s = strings.TrimSpace(s[i+2:])
		}
	}
	return s
}

// parseError keeps pgx's reason but not its copy of the connection string.
func parseError(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		s := err.Error()
		if i := strings.Index(s, "`: "); i >= 0 {
			s = s[i+3:]
		}
		return &redactedError{msg: s, err: err}
	}
	return err
}

// redactedError carries a scrubbed message but unwraps to the original
// error, so errors.As still finds *pgconn.PgError and friends.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// scrub replaces any verbatim occurrence of the password in s.
func scrub(s, password string) string {
	if password == "" {
		return s
	}
	return strings.ReplaceAll(s, password, "xxxxx")
}
