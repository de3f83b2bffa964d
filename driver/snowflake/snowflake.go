package snowflake

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/driver/snowflake/internal/sfenv"
)

// Name is the name the driver registers under and the DSN scheme it reads.
const Name = "snowflake"

// EnvDisablePlatformDetection is the variable with which gosnowflake skips
// probing cloud metadata addresses at its first connect.
const EnvDisablePlatformDetection = "SNOWFLAKE_DISABLE_PLATFORM_DETECTION"

// EnvDisableMinicore is the variable with which gosnowflake skips loading
// its native minicore library; this package sets it before gosnowflake's
// init runs (see the package documentation).
const EnvDisableMinicore = sfenv.DisableMinicore

// DefaultConnectTimeout bounds Connect when its context has no deadline.
const DefaultConnectTimeout = 2 * time.Minute

func init() { driver.Register(Name, Driver{}) }

// Driver is the Snowflake driver. The zero value is ready to use.
type Driver struct{}

var (
	_ driver.Driver     = Driver{}
	_ driver.Classifier = Driver{}
)

// OpenConnector implements driver.Driver; it calls NewConnector.
func (Driver) OpenConnector(dsn string) (driver.Connector, error) { return NewConnector(dsn) }

// Classify implements driver.Classifier; see the package function Classify.
func (Driver) Classify(err error) (core.ErrorClass, string) { return Classify(err) }

var setupOnce sync.Once

// setup does, once per process and before any connect, what keeps
// gosnowflake off the network and quiet: platform detection off unless the
// user set the variable, and its logger at "fatal" (a failed query is
// counted, not logged at every occurrence). A DSN's tracing= parameter
// still sets the level at its connects.
func setup() {
	setupOnce.Do(func() {
		if _, ok := os.LookupEnv(EnvDisablePlatformDetection); !ok {
			os.Setenv(EnvDisablePlatformDetection, "true")
		}
		_ = gosnowflake.GetLogger().SetLogLevel("fatal")
	})
}

// Connector makes Snowflake sessions for one configuration. It holds no
// pool: each Connect logs in one session that its loop keeps for the run.
type Connector struct {
	cfg      gosnowflake.Config
	redacted string

	whOnce sync.Once
	mu     sync.Mutex
	wh     map[string]string // warehouse settings read at the first Connect
}

var (
	_ driver.Connector  = (*Connector)(nil)
	_ driver.Describer  = (*Connector)(nil)
	_ driver.Advisor    = (*Connector)(nil)
	_ driver.Classifier = (*Connector)(nil)
)

// NewConnector parses dsn with ParseConfig, without connecting.
func NewConnector(dsn string) (*Connector, error) {
	cfg, err := ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	c := NewConnectorConfig(cfg)
	c.redacted = core.RedactDSN(dsn)
	return c, nil
}

// NewConnectorConfig returns a Connector for cfg, used as given (embedders
// parse with ParseConfig or gosnowflake.ParseDSN, adjust, and pass it in).
// It copies cfg.
func NewConnectorConfig(cfg *gosnowflake.Config) *Connector {
	setup()
	c := &Connector{cfg: *cfg}
	c.cfg.Params = maps.Clone(cfg.Params)
	return c
}

// Config returns a copy of the connector's gosnowflake configuration.
func (c *Connector) Config() gosnowflake.Config {
	cfg := c.cfg
	cfg.Params = maps.Clone(c.cfg.Params)
	return cfg
}

// Classify implements driver.Classifier; see the package function Classify.
func (c *Connector) Classify(err error) (core.ErrorClass, string) { return Classify(err) }

// Close implements driver.Connector. A Connector shares nothing between its
// sessions, so Close does nothing and may be called any number of times.
func (c *Connector) Close() error { return nil }

// Advise implements driver.Advisor with QuotaWarning.
func (c *Connector) Advise(p driver.Plan) []string {
	if w := QuotaWarning(p.Rate, p.Workers, p.Connections); w != "" {
		return []string{w}
	}
	return nil
}

// Connect logs in one Snowflake session. Each call builds its own
// gosnowflake connector from a copy of the configuration with its own
// session-parameter map: gosnowflake writes the server's parameters into
// that map after queries, so sessions sharing it would share their state
// (and contend on gosnowflake's global lock). Logins run in parallel.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultConnectTimeout)
		defer cancel()
	}
	cfg := c.cfg
	cfg.Params = maps.Clone(c.cfg.Params)
	sc, err := gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, cfg).Connect(ctx)
	if err != nil {
		return nil, c.connectError(err)
	}
	cn, err := newConn(c, sc)
	if err != nil {
		sc.Close()
		return nil, err
	}
	c.whOnce.Do(func() { c.readWarehouse(ctx, cn) })
	return cn, nil
}

func (c *Connector) connectError(err error) error {
	msg := fmt.Sprintf("snowflake: connect to account=%s host=%s:%d user=%s database=%s: %s",
		c.cfg.Account, c.cfg.Host, c.cfg.Port, c.cfg.User, c.cfg.Database, err)
	if c.cfg.Password != "" {
		msg = strings.ReplaceAll(msg, c.cfg.Password, "xxxxx")
	}
	return &redactedError{msg: msg, err: err}
}

// Settings implements driver.Describer: the session's identity and
// configuration, and the warehouse's size and cluster counts when SHOW
// WAREHOUSES could read them at the first Connect. No secrets.
func (c *Connector) Settings() map[string]string {
	s := map[string]string{
		"account":        c.cfg.Account,
		"user":           c.cfg.User,
		"role":           c.cfg.Role,
		"warehouse":      c.cfg.Warehouse,
		"database":       c.cfg.Database,
		"schema":         c.cfg.Schema,
		"authenticator":  c.cfg.Authenticator.String(),
		"driver_version": "gosnowflake " + gosnowflake.SnowflakeGoDriverVersion,
	}
	if v, ok := sessionParam(&c.cfg, "USE_CACHED_RESULT"); ok {
		s["USE_CACHED_RESULT"] = v
	}
	c.mu.Lock()
	maps.Copy(s, c.wh)
	c.mu.Unlock()
	for k, v := range s {
		if v == "" {
			delete(s, k)
		}
	}
	return s
}

// warehouseColumns are the SHOW WAREHOUSES columns Settings reports.
var warehouseColumns = map[string]string{
	"size": "warehouse_size", "type": "warehouse_type",
	"min_cluster_count": "warehouse_min_cluster_count", "max_cluster_count": "warehouse_max_cluster_count",
	"scaling_policy": "warehouse_scaling_policy",
}

// readWarehouse reads the configured warehouse's size and cluster counts;
// a role that cannot see it, or an endpoint without SHOW, leaves them out.
func (c *Connector) readWarehouse(ctx context.Context, cn *conn) {
	if c.cfg.Warehouse == "" {
		return
	}
	q := "SHOW WAREHOUSES LIKE '" + strings.ReplaceAll(c.cfg.Warehouse, "'", "''") + "'"
	rows, err := cn.q.QueryContext(gosnowflake.WithQueryTag(ctx, "unistore:settings"), q, nil)
	if err != nil {
		return
	}
	defer rows.Close()
	cols := rows.Columns()
	dest := make([]sqldriver.Value, len(cols))
	if err := rows.Next(dest); err != nil {
		return
	}
	wh := make(map[string]string)
	for i, col := range cols {
		if name, ok := warehouseColumns[strings.ToLower(col)]; ok && dest[i] != nil {
			wh[name] = fmt.Sprint(dest[i])
		}
	}
	c.mu.Lock()
	c.wh = wh
	c.mu.Unlock()
}

// Label implements driver.Labeler's tag format for callers without a
// connection: see QueryTag.
var _ driver.Labeler = (*conn)(nil)

// MaxQueryTagLen is the longest query tag Snowflake accepts.
const MaxQueryTagLen = 2000

// QueryTag returns the query tag for l:
// "unistore:run=<run>:worker=<worker>:phase=<phase>:op=<operation>",
// cut to at most MaxQueryTagLen bytes at a UTF-8 boundary (the operation
// name, last, is what a long tag loses).
func QueryTag(l driver.Label) string {
	var b strings.Builder
	b.Grow(40 + len(l.Run) + len(l.Worker) + len(l.Operation))
	b.WriteString("unistore:run=")
	b.WriteString(l.Run)
	b.WriteString(":worker=")
	b.WriteString(l.Worker)
	b.WriteString(":phase=")
	b.WriteString(string(l.Phase))
	b.WriteString(":op=")
	b.WriteString(l.Operation)
	s := b.String()
	if len(s) <= MaxQueryTagLen {
		return s
	}
	cut := MaxQueryTagLen
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// errClosed is returned by a closed connection's methods.
var errClosed = errors.New("snowflake: connection closed")

// drain reads and discards rows, returning how many there were.
func drain(rows sqldriver.Rows, dest []sqldriver.Value) (int64, []sqldriver.Value, error) {
	if n := len(rows.Columns()); cap(dest) < n {
		dest = make([]sqldriver.Value, n)
	} else {
		dest = dest[:n]
	}
	var n int64
	for {
		err := rows.Next(dest)
		if err == io.EOF {
			break
		}
		if err != nil {
			rows.Close()
			return n, dest, err
		}
		n++
	}
	clear(dest)
	return n, dest, rows.Close()
}

// formatFloat binds a float as text at full precision: gosnowflake binds a
// float64 at float32 precision (1.2345678901234 goes out as "1.2345679").
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
