package emulator

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
)

// namespaces is the set of DATABASE.SCHEMA namespaces, one SQLite file each.
type namespaces struct {
	dir string
	mu  sync.Mutex
	set map[[2]string]bool
}

const nsSuffix = ".sqlite"

func loadNamespaces(dir string) (*namespaces, error) {
	n := &namespaces{dir: dir, set: map[[2]string]bool{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), nsSuffix)
		if !ok {
			continue
		}
		db, schema, ok := strings.Cut(name, ".")
		if !ok {
			continue
		}
		n.set[[2]string{unescapeName(db), unescapeName(schema)}] = true
	}
	return n, nil
}

// escapeName makes a name safe as a file name part: anything outside
// [A-Za-z0-9_$-] becomes ~XX (so '.' never appears and names stay apart).
func escapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "~%02X", c)
		}
	}
	return b.String()
}

func unescapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '~' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (n *namespaces) stem(db, schema string) string { return escapeName(db) + "." + escapeName(schema) }

func (n *namespaces) path(db, schema string) string {
	return filepath.Join(n.dir, n.stem(db, schema)+nsSuffix)
}

func (n *namespaces) add(db, schema string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.set[[2]string{db, schema}] = true
}

func (n *namespaces) has(db, schema string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.set[[2]string{db, schema}]
}

func (n *namespaces) hasDB(db string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k := range n.set {
		if k[0] == db {
			return true
		}
	}
	return false
}

// session is one Snowflake session: its tokens, its context (database,
// schema, warehouse, role, parameters) and its own SQLite connection whose
// main database is the current DATABASE.SCHEMA.
type session struct {
	srv       *Server
	id        int64
	user      string
	role      string
	readWrite bool

	token, master string // guarded by srv.mu

	// mu serialises statements: one SQLite connection per session.
	mu                    sync.Mutex
	db, schema, warehouse string
	params                map[string]string
	sqlDB                 *sql.DB
	conn                  *sql.Conn
	attached              map[[2]string]string
	closed                bool

	// inTx: an explicit transaction (BEGIN) is open. idle rolls it back
	// once it has been idle for Config.IdleTxAbort; txAborted then fails
	// the session's statements until COMMIT or ROLLBACK. idleGen tells a
	// timer that fired late from the current one.
	inTx, txAborted bool
	idle            *time.Timer
	idleGen         uint64
}

// busy is called with ss.mu held as a statement starts: the session is
// no longer idle.
func (ss *session) busy() {
	ss.idleGen++
	if ss.idle != nil {
		ss.idle.Stop()
		ss.idle = nil
	}
}

// rest is called with ss.mu held as a statement ends: an open
// transaction starts its idle clock.
func (ss *session) rest() {
	d := ss.srv.cfg.idleTxAbort()
	if !ss.inTx || d < 0 || ss.closed {
		return
	}
	gen := ss.idleGen
	ss.idle = time.AfterFunc(d, func() { ss.abortIdle(gen, d) })
}

// abortIdle rolls back the transaction left idle since generation gen.
func (ss *session) abortIdle(gen uint64, d time.Duration) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed || !ss.inTx || gen != ss.idleGen || ss.conn == nil {
		return
	}
	ss.idle = nil
	ss.inTx = false
	if _, err := ss.conn.ExecContext(context.Background(), "ROLLBACK"); err != nil && !strings.Contains(err.Error(), "no transaction is active") {
		ss.srv.logf("emulator: session %d: rolling back its idle transaction: %v", ss.id, err)
		return
	}
	ss.txAborted = true
	ss.srv.logf("emulator: session %d: transaction idle for %s rolled back (Config.IdleTxAbort)", ss.id, d)
}

// errTxAborted answers a statement of a transaction abortIdle rolled back.
func (ss *session) errTxAborted() *Error {
	return &Error{Code: "000625", SQLState: "57014", Message: fmt.Sprintf(
		"Statement was aborted because its transaction on %s.%s was rolled back after being idle for %s: the emulator locks a whole schema for writing, so it does not let a transaction sit idle (Config.IdleTxAbort; Snowflake aborts a detached transaction once it blocks another).",
		ss.db, ss.schema, ss.srv.cfg.idleTxAbort())}
}

func (s *Server) newSession(user, role string, readWrite bool, db, schema, warehouse string, params map[string]string) (*session, error) {
	ss := &session{srv: s, user: user, role: role, readWrite: readWrite, warehouse: warehouse, params: map[string]string{}}
	for k, v := range params {
		ss.params[strings.ToUpper(k)] = v
	}
	if err := ss.use(db, schema); err != nil {
		return nil, err
	}
	return ss, nil
}

// use makes DB.SCHEMA the session's namespace, creating it if new, on a
// fresh SQLite connection. The caller holds ss.mu (or owns ss alone).
func (ss *session) use(db, schema string) error {
	if ss.conn != nil && ss.db == db && ss.schema == schema {
		return nil
	}
	ns := ss.srv.ns
	ns.add(db, schema)
	sdb, err := sql.Open("sqlite", ns.path(db, schema)+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	sdb.SetMaxOpenConns(1)
	conn, err := sdb.Conn(context.Background())
	if err != nil {
		sdb.Close()
		return fmt.Errorf("emulator: open %s.%s: %w", db, schema, err)
	}
	ss.closeConn()
	ss.inTx = false // a new connection: any transaction ended with the old
	ss.sqlDB, ss.conn = sdb, conn
	ss.db, ss.schema = db, schema
	ss.attached = map[[2]string]string{}
	return nil
}

func (ss *session) closeConn() {
	if ss.conn != nil {
		ss.conn.Close()
		ss.sqlDB.Close()
		ss.conn, ss.sqlDB = nil, nil
	}
}

// close ends the session's connection once any running statement ends.
func (ss *session) close() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	ss.busy()
	ss.closeConn()
}

// nsAlias implements resolver.
func (ss *session) nsAlias(db, schema string) (string, error) {
	if db == "" {
		db = ss.db
	}
	if db == ss.db && schema == ss.schema {
		return "main", nil
	}
	key := [2]string{db, schema}
	if a, ok := ss.attached[key]; ok {
		return a, nil
	}
	if !ss.srv.ns.has(db, schema) {
		return "", &Error{Code: "002003", SQLState: "02000", Message: fmt.Sprintf("SQL compilation error:\nSchema '%s.%s' does not exist or not authorized.", db, schema)}
	}
	alias := "ns_" + ss.srv.ns.stem(db, schema)
	if _, err := ss.conn.ExecContext(context.Background(), "ATTACH DATABASE ? AS "+identQuote(alias), ss.srv.ns.path(db, schema)); err != nil {
		return "", fmt.Errorf("emulator: attach %s.%s: %w", db, schema, err)
	}
	ss.attached[key] = alias
	return alias, nil
}

// nsName maps an SQLite schema alias back to DB.SCHEMA for messages.
func (ss *session) nsName(alias string) string {
	for k, a := range ss.attached {
		if strings.EqualFold(a, alias) {
			return k[0] + "." + k[1]
		}
	}
	return ""
}

func (ss *session) hasDatabase(db string) bool { return ss.srv.ns.hasDB(db) }
func (ss *session) hasSchema(schema string) bool {
	return ss.srv.ns.has(ss.db, schema)
}

// contextFunction implements resolver.
func (ss *session) contextFunction(name string) (string, bool) {
	switch name {
	case "CURRENT_DATABASE":
		return ss.db, true
	case "CURRENT_SCHEMA":
		return ss.schema, true
	case "CURRENT_WAREHOUSE":
		return ss.warehouse, true
	case "CURRENT_ROLE":
		return ss.role, true
	case "CURRENT_USER":
		return ss.user, true
	case "CURRENT_ACCOUNT", "CURRENT_ACCOUNT_NAME":
		return strings.ToUpper(Account), true
	case "CURRENT_REGION":
		return "EMULATOR", true
	case "CURRENT_VERSION":
		return ServerVersion, true
	case "CURRENT_SESSION":
		return strconv.FormatInt(ss.id, 10), true
	case "CURRENT_CLIENT":
		return "Go", true
	}
	return "", false
}

// newToken returns a random opaque token.
func newToken(prefix string) string {
	b := make([]byte, 24)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

var registerOnce sync.Once

// registerFunctions adds Snowflake functions SQLite lacks. modernc's
// registry is process-wide; the names are Snowflake's own, so a SQLite
// user elsewhere in the process only gains functions it did not have.
func registerFunctions() {
	registerOnce.Do(func() {
		// UNIFORM(lo, hi, gen): gen (usually RANDOM()) is ignored, the
		// draw is Go's; integers if lo and hi are, floats otherwise.
		sqlite.RegisterScalarFunction("UNIFORM", 3, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			lo, hi := args[0], args[1]
			li, lok := lo.(int64)
			hiI, hok := hi.(int64)
			if lok && hok {
				if hiI < li {
					li, hiI = hiI, li
				}
				return li + mrand.Int64N(hiI-li+1), nil
			}
			lf, hf := toFloat(lo), toFloat(hi)
			return lf + mrand.Float64()*(hf-lf), nil
		})
		// RANDSTR(n, gen): n random alphanumerics.
		sqlite.RegisterScalarFunction("RANDSTR", 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			n, _ := args[0].(int64)
			const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			b := make([]byte, max(n, 0))
			for i := range b {
				b[i] = alnum[mrand.IntN(len(alnum))]
			}
			return string(b), nil
		})
		// RANDOM(seed): Snowflake's seeded form; the seed is ignored.
		sqlite.RegisterScalarFunction("RANDOM", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			return mrand.Int64(), nil
		})
		// PARSE_JSON(s) and TO_VARIANT(x): VARIANT is stored as JSON text.
		for _, name := range []string{"PARSE_JSON", "TO_VARIANT", "TO_JSON"} {
			sqlite.RegisterDeterministicScalarFunction(name, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
				return args[0], nil
			})
		}
	})
}

func toFloat(v driver.Value) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}
