package sqlite

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// Name is the name the driver registers under and the DSN scheme it reads.
const Name = "sqlite"

// DefaultBusyTimeout is how long a connection waits for a lock held by
// another connection before failing with SQLITE_BUSY.
const DefaultBusyTimeout = 5 * time.Second

func init() { driver.Register(Name, Driver{}) }

// Driver is the embedded SQLite driver. The zero value is ready to use.
type Driver struct{}

var (
	_ driver.Driver     = Driver{}
	_ driver.Classifier = Driver{}
)

// OpenConnector implements driver.Driver; it calls NewConnector.
func (Driver) OpenConnector(dsn string) (driver.Connector, error) { return NewConnector(dsn) }

// Classify implements driver.Classifier; see the package function Classify.
func (Driver) Classify(err error) (core.ErrorClass, string) { return Classify(err) }

// Connector opens connections to one SQLite database file through one
// *sql.DB.
type Connector struct {
	db          *sql.DB
	path        string
	busyTimeout time.Duration
	synchronous string
}

var (
	_ driver.Connector  = (*Connector)(nil)
	_ driver.Describer  = (*Connector)(nil)
	_ driver.Classifier = (*Connector)(nil)
)

// NewConnector parses a DSN of the form sqlite://PATH[?params] without
// opening the file. PATH is relative ("sqlite://./bench.db",
// "sqlite://bench.db") or absolute ("sqlite:///abs/bench.db"). Params:
// busy_timeout (milliseconds, default 5000) and synchronous (normal, the
// default, full, off). In-memory databases are rejected: each connection
// would see its own empty database.
func NewConnector(dsn string) (*Connector, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("sqlite: bad DSN %q: %s", core.RedactDSN(dsn), fmt.Sprintf(format, a...))
	}
	if driver.Scheme(dsn) != Name {
		return nil, bad("want sqlite://PATH, like sqlite://./bench.db or sqlite:///abs/bench.db")
	}
	rest := dsn[len(Name)+3:]
	path, rawQuery, _ := strings.Cut(rest, "?")
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	switch {
	case path == "":
		return nil, bad("missing file path")
	case path == ":memory:" || strings.HasPrefix(path, "file:") || strings.Contains(rawQuery, "mode=memory"):
		return nil, bad("in-memory and file: URI databases are not supported: every connection would see its own database; give a file path")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, bad("%v", err)
	}
	c := &Connector{path: path, busyTimeout: DefaultBusyTimeout, synchronous: "normal"}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "busy_timeout":
			ms, err := strconv.Atoi(v)
			if err != nil || ms < 0 {
				return nil, bad("busy_timeout=%q: want milliseconds, like 5000", v)
			}
			c.busyTimeout = time.Duration(ms) * time.Millisecond
		case "synchronous":
			switch s := strings.ToLower(v); s {
			case "off", "normal", "full", "extra":
				c.synchronous = s
			default:
				return nil, bad("synchronous=%q: want off, normal, full or extra", v)
			}
		default:
			return nil, bad("unknown parameter %q: want busy_timeout or synchronous", k)
		}
	}
	// Pragmas run on every new connection, through modernc's _pragma
	// parameters; busy_timeout comes first so the others wait for locks.
	params := url.Values{}
	params.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", c.busyTimeout.Milliseconds()))
	params.Add("_pragma", "journal_mode(wal)")
	params.Add("_pragma", "synchronous("+c.synchronous+")")
	params.Add("_pragma", "foreign_keys(1)")
	// Times are written as "2006-01-02 15:04:05.999999999-07:00", a form
	// SQLite's date functions read (modernc's default is Go's String()).
	params.Set("_time_format", "sqlite")
	db, err := sql.Open("sqlite", "file:"+path+"?"+params.Encode())
	if err != nil {
		return nil, bad("%v", err)
	}
	c.db = db
	return c, nil
}

// Settings implements driver.Describer.
func (c *Connector) Settings() map[string]string {
	return map[string]string{
		"journal_mode":    "wal",
		"busy_timeout_ms": strconv.FormatInt(c.busyTimeout.Milliseconds(), 10),
		"synchronous":     c.synchronous,
	}
}

// Classify implements driver.Classifier; see the package function Classify.
func (c *Connector) Classify(err error) (core.ErrorClass, string) { return Classify(err) }

// Close closes the shared *sql.DB. It is safe to call more than once.
func (c *Connector) Close() error { return c.db.Close() }

// Connect takes one dedicated connection from the *sql.DB.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	sc, err := c.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", c.path, err)
	}
	// database/sql opens lazily: make the pragmas (and a bad path) fail now.
	if err := sc.PingContext(ctx); err != nil {
		sc.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", c.path, err)
	}
	return &conn{sc: sc}, nil
}

type conn struct {
	sc *sql.Conn
}

var _ driver.Conn = (*conn)(nil)

// Prepare prepares sql on the dedicated connection; SQLite reports missing
// tables and columns here. SQLite reads "?" placeholders natively.
func (c *conn) Prepare(ctx context.Context, sql string) (driver.Stmt, error) {
	st, err := c.sc.PrepareContext(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare %q: %w", sql, err)
	}
	n := core.CountPlaceholders(sql)
	return &stmt{st: st, sql: sql, rows: returnsRows(sql), nparams: n, args: make([]any, 0, n)}, nil
}

// QueryColumn returns the first column of every row. Columns declared
// BOOLEAN or BOOL read as KindBool; DATE, DATETIME and TIMESTAMP columns
// as KindTime (modernc parses them).
func (c *conn) QueryColumn(ctx context.Context, sql string) ([]core.Value, error) {
	rows, err := c.sc.QueryContext(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query %q: %w", sql, err)
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("sqlite: query %q: %w", sql, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("sqlite: query %q returns no columns", sql)
	}
	isBool := false
	switch strings.ToUpper(cols[0].DatabaseTypeName()) {
	case "BOOLEAN", "BOOL":
		isBool = true
	}
	dest := make([]any, len(cols))
	var v any
	dest[0] = &v
	for i := 1; i < len(dest); i++ {
		dest[i] = new(any)
	}
	var out []core.Value
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("sqlite: query %q: %w", sql, err)
		}
		out = append(out, toValue(v, isBool))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: query %q: %w", sql, err)
	}
	return out, nil
}

func toValue(v any, isBool bool) core.Value {
	switch v := v.(type) {
	case nil:
		return core.Value{}
	case int64:
		if isBool {
			return core.Value{Kind: core.KindBool, Int: min(max(v, 0), 1)}
		}
		return core.Int(v)
	case float64:
		return core.Value{Kind: core.KindFloat, Float: v}
	case string:
		return core.Text(v)
	case []byte:
		return core.Value{Kind: core.KindText, Text: append([]byte(nil), v...)}
	case bool:
		if v {
			return core.Value{Kind: core.KindBool, Int: 1}
		}
		return core.Value{Kind: core.KindBool}
	case time.Time:
		return core.Value{Kind: core.KindTime, Time: v}
	}
	return core.Text(fmt.Sprint(v))
}

// Close closes the connection for good rather than returning it to the
// *sql.DB's idle pool, so the next Connect never inherits its session state
// (temporary tables, pragmas set by hand). Calling it again does nothing.
func (c *conn) Close() error {
	// Reporting ErrBadConn from Raw makes database/sql discard the connection.
	_ = c.sc.Raw(func(any) error { return sqldriver.ErrBadConn })
	err := c.sc.Close()
	if errors.Is(err, sql.ErrConnDone) {
		return nil
	}
	return err
}

type stmt struct {
	st      *sql.Stmt
	sql     string
	rows    bool
	nparams int
	args    []any
}

// Exec runs the statement. Statements that return rows (see returnsRows)
// run as queries and count their rows; others report rows affected.
func (s *stmt) Exec(ctx context.Context, args []core.Value) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var err error
	if s.args, err = driver.AnyArgs(s.args, "sqlite", s.sql, s.nparams, args); err != nil {
		return 0, err
	}
	defer clear(s.args)
	if !s.rows {
		res, err := s.st.ExecContext(ctx, s.args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	rows, err := s.st.QueryContext(ctx, s.args...)
	if err != nil {
		return 0, err
	}
	var n int64
	for rows.Next() {
		n++
	}
	if err := rows.Close(); err != nil {
		return n, err
	}
	return n, rows.Err()
}

// returnsRows guesses from the SQL whether a statement returns rows: it
// starts with SELECT, WITH, VALUES, PRAGMA or EXPLAIN (after comments and
// parentheses), or has RETURNING outside literals and comments.
func returnsRows(sql string) bool {
	switch driver.LeadingKeyword(sql) {
	case "SELECT", "WITH", "VALUES", "PRAGMA", "EXPLAIN":
		return true
	}
	return hasKeyword(sql, "RETURNING")
}

// hasKeyword reports whether word (upper case) appears as a whole word
// outside quotes and comments.
func hasKeyword(s, word string) bool {
	isWord := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"' || c == '`' || c == '[':
			end := c
			if c == '[' {
				end = ']'
			}
			j := strings.IndexByte(s[i+1:], end)
			if j < 0 {
				return false
			}
			i += j + 1
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return false
			}
			i += j
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return false
			}
			i += j + 3
		case isWord(c):
			j := i
			for j < len(s) && isWord(s[j]) {
				j++
			}
			if strings.EqualFold(s[i:j], word) {
				return true
			}
			i = j - 1
		}
	}
	return false
}

// Classify maps a SQLite error to an error class; the code is SQLite's
// extended result code name, like "SQLITE_CONSTRAINT_PRIMARYKEY":
//
//	BUSY, LOCKED                         serialization
//	CONSTRAINT                           constraint
//	MISMATCH, RANGE, TOOBIG              data
//	ERROR (no such table, syntax), AUTH, PERM, READONLY   syntax
//	FULL, NOMEM, IOERR, CANTOPEN, CORRUPT, NOTADB, NOLFS  resource
//	INTERRUPT                            timeout
//
// Other errors return (ErrOther, "") so driver.Classify falls back to
// driver.ClassifyGeneric.
func Classify(err error) (core.ErrorClass, string) {
	if err == nil {
		return core.ErrNone, ""
	}
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return core.ErrOther, ""
	}
	code := se.Code()
	name := codeName(code)
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return core.ErrSerialization, name
	case sqlite3.SQLITE_CONSTRAINT:
		return core.ErrConstraint, name
	case sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_RANGE, sqlite3.SQLITE_TOOBIG:
		return core.ErrData, name
	case sqlite3.SQLITE_ERROR, sqlite3.SQLITE_AUTH, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY:
		return core.ErrSyntax, name
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_NOLFS:
		return core.ErrResource, name
	case sqlite3.SQLITE_INTERRUPT:
		return core.ErrTimeout, name
	}
	return core.ErrOther, name
}

// extendedNames names the extended result codes a load run meets most;
// modernc's ErrorCodeString covers the primary codes and the IOERR family.
var extendedNames = map[int]string{
	261: "SQLITE_BUSY_RECOVERY", 517: "SQLITE_BUSY_SNAPSHOT", 773: "SQLITE_BUSY_TIMEOUT",
	262: "SQLITE_LOCKED_SHAREDCACHE",
	275: "SQLITE_CONSTRAINT_CHECK", 787: "SQLITE_CONSTRAINT_FOREIGNKEY", 1299: "SQLITE_CONSTRAINT_NOTNULL",
	1555: "SQLITE_CONSTRAINT_PRIMARYKEY", 1811: "SQLITE_CONSTRAINT_TRIGGER", 2067: "SQLITE_CONSTRAINT_UNIQUE",
	2579: "SQLITE_CONSTRAINT_ROWID", 3091: "SQLITE_CONSTRAINT_DATATYPE",
}

// codeName returns the SQLITE_… name of a result code, or the primary
// code's name and the number for an extended code it does not know.
func codeName(code int) string {
	if n, ok := extendedNames[code]; ok {
		return n
	}
	paren := func(s string) string {
		if i := strings.LastIndex(s, "(SQLITE_"); i >= 0 && strings.HasSuffix(s, ")") {
			return s[i+1 : len(s)-1]
		}
		return ""
	}
	if n := paren(msqlite.ErrorCodeString[code]); n != "" {
		return n
	}
	if n := paren(msqlite.ErrorCodeString[code&0xff]); n != "" {
		if code > 0xff {
			return n + "/" + strconv.Itoa(code)
		}
		return n
	}
	return strconv.Itoa(code)
}
