package snowflake

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/unistore-bench/unistore/core"
	sfdriver "github.com/unistore-bench/unistore/driver/snowflake"
	"github.com/unistore-bench/unistore/sql/schema"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/store/sqlstore"
)

func init() { store.Register(Scheme, Backend{}) }

// Scheme is the DSN scheme the store registers.
const Scheme = "snowflake"

// DefaultDatabase holds the store's schemas when the DSN (and
// connections.toml, and SNOWFLAKE_DATABASE) names no database.
const DefaultDatabase = "UNISTORE_BENCHMARK"

// The store's schemas in its database: the results and control tables,
// and the templates.
const (
	ResultsSchema = "TEST_RESULTS"
	ConfigSchema  = "CONFIG"
)

// QueryTag tags every statement the store sends, so that the store's own
// traffic (the control plane and the results) is told apart from the load
// in QUERY_HISTORY and the emulator's request log.
const QueryTag = "unistore:store"

// Control-plane defaults on a Snowflake store, for the fields a spec
// leaves zero (see Store.ControlDefaults and the package documentation).
const (
	DefaultPoll             = core.Duration(time.Second)
	DefaultHeartbeat        = core.Duration(time.Second)
	DefaultHeartbeatTimeout = core.Duration(30 * time.Second)
	DefaultLease            = core.Duration(60 * time.Second)
)

// Pool sizes: sessions the store keeps open (each one a Snowflake login).
const (
	maxOpenConns = 8
	maxIdleConns = 8
)

// Backend is the store.Backend of snowflake:// DSNs.
type Backend struct{}

// Open implements store.Backend.
func (Backend) Open(ctx context.Context, dsn string) (store.Store, error) { return Open(ctx, dsn) }

// ApplySchema implements store.Backend.
func (Backend) ApplySchema(ctx context.Context, dsn string) error { return ApplySchema(ctx, dsn) }

// Store is the store.Store on Snowflake: RUN_STATUS, RUN_CONTROL_EVENTS
// and WORKER_HEARTBEATS are hybrid tables, the rest standard tables, in
// schemas TEST_RESULTS and CONFIG of the DSN's database. At run time it
// needs only SELECT, INSERT, UPDATE and DELETE on them (MERGE is DML).
type Store struct {
	*sqlstore.Store
	db        *sql.DB
	database  string
	warehouse string
}

var (
	_ store.Store            = (*Store)(nil)
	_ store.ControlDefaulter = (*Store)(nil)
)

// ControlDefaults implements store.ControlDefaulter: poll 1 s, heartbeat
// 1 s, heartbeat timeout 30 s, lease 60 s — one Snowflake round trip
// costs 10–200 ms, so the SQLite/PostgreSQL cadence (200 ms polls, 5 s
// timeout) would spend a connection's time on control and declare workers
// lost on one slow statement.
func (s *Store) ControlDefaults() core.ControlSpec {
	return core.ControlSpec{Poll: DefaultPoll, Heartbeat: DefaultHeartbeat,
		HeartbeatTimeout: DefaultHeartbeatTimeout, Lease: DefaultLease}
}

// DB returns the store's database handle, for callers that need more than
// the Store interface (tests, tools).
func (s *Store) DB() *sql.DB { return s.db }

// Database returns the database holding the store's schemas.
func (s *Store) Database() string { return s.database }

// config parses dsn the way the Snowflake driver does (DSN forms,
// connections.toml, SNOWFLAKE_* variables, private_key_file) and returns
// the configuration and the database's identifier.
func config(dsn string) (*gosnowflake.Config, string, error) {
	cfg, err := sfdriver.ParseConfig(dsn)
	if err != nil {
		return nil, "", fmt.Errorf("store: %w", err)
	}
	// Through the driver's connector, for what it sets up once per
	// process before any login: no cloud-metadata probes, a quiet logger.
	c := sfdriver.NewConnectorConfig(cfg).Config()
	db := c.Database
	if db == "" {
		db = DefaultDatabase
	}
	return &c, ident(db), nil
}

var plainIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)

// ident returns name as a Snowflake identifier: as written when it needs
// no quotes (Snowflake folds it to upper case, as it does the login's
// database), double-quoted otherwise.
func ident(name string) string {
	if plainIdent.MatchString(name) {
		return strings.ToUpper(name)
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// connector makes one gosnowflake session per Connect, each from its own
// copy of the configuration: gosnowflake writes the server's session
// parameters back into the Params map, so sessions sharing one map would
// share that state (the driver package does the same for its sessions).
type connector struct{ cfg gosnowflake.Config }

func (c connector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	cfg := c.cfg
	cfg.Params = maps.Clone(c.cfg.Params)
	return gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, cfg).Connect(ctx)
}

func (c connector) Driver() sqldriver.Driver { return gosnowflake.SnowflakeDriver{} }

func openDB(cfg *gosnowflake.Config) *sql.DB {
	db := sql.OpenDB(connector{cfg: *cfg})
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	return db
}

// Open connects to a snowflake:// DSN, checks the schema version and
// returns the store. It owns a database/sql pool of up to 8 sessions,
// closed by Close.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, database, err := config(dsn)
	if err != nil {
		return nil, err
	}
	db := openDB(cfg)
	d := &dialect{DB: &sqlstore.DB{DB: db}, dsn: dsn, password: cfg.Password,
		resultsPrefix: database + "." + ResultsSchema + "."}
	if err := db.PingContext(tagged(ctx)); err != nil {
		db.Close()
		return nil, d.Errorf(err, "connect")
	}
	have, err := readVersion(ctx, db, database)
	if err != nil {
		db.Close()
		if errors.Is(err, sqlstore.ErrNoSchema) {
			return nil, store.CheckVersion(schema.Snowflake, dsn, 0)
		}
		return nil, d.Errorf(err, "read schema version")
	}
	if err := store.CheckVersion(schema.Snowflake, dsn, have); err != nil {
		db.Close()
		return nil, err
	}
	st := sqlstore.New(d, sqlstore.Config{
		ResultsPrefix: d.resultsPrefix,
		ConfigPrefix:  database + "." + ConfigSchema + ".",
		// Snowflake takes OFFSET only after a LIMIT; LIMIT NULL is none.
		NoLimit: " LIMIT NULL",
	})
	return &Store{Store: st, db: db, database: database, warehouse: cfg.Warehouse}, nil
}

// readVersion returns MAX(VERSION) of the store's SCHEMA_VERSION, or
// sqlstore.ErrNoSchema when the table (or its schema or database) is not
// there or holds no row.
func readVersion(ctx context.Context, db *sql.DB, database string) (int, error) {
	var v sql.NullInt64
	err := db.QueryRowContext(tagged(ctx), `SELECT MAX(VERSION) FROM `+database+`.`+ResultsSchema+`.SCHEMA_VERSION`).Scan(&v)
	var se *gosnowflake.SnowflakeError
	if errors.As(err, &se) && se.Number == 2003 { // object (or database, schema) does not exist or not authorized
		return 0, sqlstore.ErrNoSchema
	}
	if err != nil {
		return 0, err
	}
	if !v.Valid {
		return 0, sqlstore.ErrNoSchema
	}
	return int(v.Int64), nil
}

// defaultDatabaseName matches the database name the scripts are written
// with, as a whole word.
var defaultDatabaseName = regexp.MustCompile(`\b` + DefaultDatabase + `\b`)

// ApplySchema creates or upgrades the store's schema (see
// store.ApplySchema): the scripts of sql/schema/snowflake, statement by
// statement, with the DSN's database in place of UNISTORE_BENCHMARK.
// Snowflake commits each DDL statement on its own, so there is no
// enclosing transaction; every statement is rerunnable (IF NOT EXISTS,
// ADD COLUMN IF NOT EXISTS, a MERGE of the version row), so a failed apply
// is finished by applying again. The role needs CREATE DATABASE (or the
// database to exist and be its own), CREATE SCHEMA and CREATE [HYBRID]
// TABLE; a role without them gets an error saying so.
func ApplySchema(ctx context.Context, dsn string) error {
	scripts, err := schema.Files(schema.Snowflake)
	if err != nil {
		return err
	}
	cfg, database, err := config(dsn)
	if err != nil {
		return err
	}
	db := openDB(cfg)
	defer db.Close()
	d := &dialect{DB: &sqlstore.DB{DB: db}, dsn: dsn, password: cfg.Password}
	conn, err := db.Conn(tagged(ctx))
	if err != nil {
		return d.Errorf(err, "apply schema: connect")
	}
	defer conn.Close()
	for _, sc := range scripts {
		for _, st := range sc.Statements() {
			q := defaultDatabaseName.ReplaceAllLiteralString(st, database)
			if _, err := conn.ExecContext(tagged(ctx), q); err != nil {
				var se *gosnowflake.SnowflakeError
				if errors.As(err, &se) && se.Number == 3001 { // insufficient privileges
					return d.Errorf(err, "apply schema: %s: %s: this role may not run the schema's DDL; apply it with a role that may create the database %s, its schemas %s and %s and their tables (runs need only DML on them)",
						sc.Name, sqlstore.FirstLine(q), database, ResultsSchema, ConfigSchema)
				}
				return d.Errorf(err, "apply schema: %s: %s", sc.Name, sqlstore.FirstLine(q))
			}
		}
	}
	return nil
}
