package emulator

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the emulated account.
const (
	// Account is the account name the emulator answers for; any account
	// name in a login is accepted, this one is what DSN writes.
	Account = "emulator"
	// DefaultDatabase and DefaultSchema are a session's namespace when its
	// login names none, and the namespace Exec and Config.Init start in.
	DefaultDatabase = "EMULATOR"
	DefaultSchema   = "PUBLIC"
	// DefaultWarehouse is the warehouse a session has when its login names
	// none; SHOW WAREHOUSES describes it as an X-Small single cluster.
	DefaultWarehouse = "EMULATOR_WH"
	// DefaultRole is a session's role when neither the login nor the User
	// names one.
	DefaultRole = "PUBLIC"
	// ServerVersion is what CURRENT_VERSION() and the login answer.
	ServerVersion = "9.0.0"
	// DefaultPassword is the password DSN writes when none is given and
	// Config.Users is empty (any non-empty password logs in then).
	DefaultPassword = "emulator"
	// DefaultUser is the user DSN writes when none is given.
	DefaultUser = "EMULATOR"
)

// Config configures a Server.
type Config struct {
	// DB is "sqlite://DIR": the directory holding one SQLite file per
	// DATABASE.SCHEMA (created if missing, kept after Close). "" means a
	// fresh temporary directory removed by Close.
	DB string
	// Init lists Snowflake-dialect SQL script files run at start, in order,
	// each starting in DefaultDatabase.DefaultSchema. Statements are split
	// on ';' outside literals, identifiers and comments; an error names
	// file:line.
	Init []string
	// Users are the accounts allowed to log in. Empty means any user name
	// with any non-empty password (key-pair login then always fails: there
	// is no key to check against).
	Users []User
	// Logf receives diagnostics (logins, faults, failed statements). It
	// never receives a password, token, JWT or key. Nil discards them.
	Logf func(format string, args ...any)
	// OAuthTokens are the tokens an OAUTH login may give; empty means
	// any non-empty token.
	OAuthTokens []string
	// LogLimit caps the request log kept for Requests: when it is exceeded
	// the oldest half is dropped. 0 keeps every request.
	LogLimit int
	// AccountUsageLag hides the ACCOUNT_USAGE views' buckets that ended
	// less than this long ago, as Snowflake's views lag by hours; 0 shows
	// everything at once.
	AccountUsageLag time.Duration
	// IdleTxAbort rolls back an explicit transaction that has been idle
	// (no statement running in its session) this long; the session's next
	// statement then fails with 000625 until COMMIT or ROLLBACK ends the
	// aborted transaction. 0 means DefaultIdleTxAbort; negative never.
	//
	// Snowflake leaves a detached transaction (its client gone) open and
	// aborts it once it has blocked another for 5 minutes; but Snowflake
	// locks rows of a hybrid table and lets INSERTs run side by side,
	// where the emulator's SQLite locks the whole DATABASE.SCHEMA file for
	// writing. A client killed mid-transaction would otherwise stop every
	// writer of that schema for good.
	IdleTxAbort time.Duration
}

// DefaultIdleTxAbort is Config.IdleTxAbort's default.
const DefaultIdleTxAbort = 5 * time.Second

func (c Config) idleTxAbort() time.Duration {
	if c.IdleTxAbort == 0 {
		return DefaultIdleTxAbort
	}
	return c.IdleTxAbort
}

// User is an account of the emulator.
type User struct {
	// Name is the login name, matched case-insensitively as in Snowflake.
	Name string
	// Password is for password logins; "" disables them for this user.
	Password string
	// PublicKey is for key-pair (SNOWFLAKE_JWT) logins: the JWT's RS256
	// signature is checked with it, and its iss/sub must read
	// ACCOUNT.USER.SHA256:fingerprint / ACCOUNT.USER with this key's
	// fingerprint. Only *rsa.PublicKey is supported.
	PublicKey crypto.PublicKey
	// Role is the session's role unless the login names one.
	Role string
	// ReadWrite makes the user DML-only: any DDL (CREATE, ALTER other than
	// ALTER SESSION, DROP, TRUNCATE, GRANT, REVOKE) fails with Snowflake's
	// insufficient-privileges error 003001.
	ReadWrite bool
}

// Request is one entry of the request log. Secrets never appear in it.
type Request struct {
	Time         time.Time
	Kind         string // "login", "query", "abort", "delete", "renew", "telemetry", "heartbeat"
	SessionID    int64
	User         string
	SQL          string
	QueryTag     string
	Binds        []string
	DescribeOnly bool
	Status       int    // HTTP status answered
	Code         string // Snowflake error code, or "" on success
	RequestID    string // the driver's requestId (the key abort-request names)
	Retry        int    // the driver's retryCount for a retried query-request
	// Warehouse is the session's warehouse; Elapsed how long the statement
	// ran (ACCOUNT_USAGE's figures come from them).
	Warehouse string
	Elapsed   time.Duration
}

// Stats counts what the emulator has served.
type Stats struct {
	Logins         int64 // successful logins
	LoginFailures  int64 // refused logins
	Queries        int64 // statements executed (successfully or not), excluding describe-only
	DescribeOnly   int64 // describe-only requests
	Aborts         int64 // abort-requests received
	SessionDeletes int64 // sessions ended by the client
	Renewals       int64 // session tokens renewed
	Telemetry      int64 // telemetry batches received
	Heartbeats     int64 // session heartbeats received
	Faults         int64 // requests a fault was applied to
}

// Server is a Snowflake REST endpoint over embedded SQLite.
type Server struct {
	cfg   Config
	users map[string]User // by upper-cased name
	ns    *namespaces
	dir   string
	temp  bool
	logf  func(string, ...any)

	// done closes when Close starts; everything waiting ends then.
	done      chan struct{}
	baseCtx   context.Context // cancelled by Close: running statements stop
	stopBase  context.CancelFunc
	closeOnce sync.Once
	closeErr  error

	mu         sync.Mutex
	sessions   map[int64]*session
	tokens     map[string]*session // live session tokens
	masters    map[string]*session // live master tokens
	retired    map[string]bool     // session tokens no longer valid (renewed, deleted)
	retiredMT  map[string]bool     // master tokens of ended sessions
	inflight   map[string]*inflight
	faults     []*faultState
	log        []Request
	nextID     int64
	listener   net.Listener
	httpServer *http.Server
	serving    chan struct{} // closed when Serve returns

	admin *session // runs Config.Init and Exec

	jobServices map[string]*JobService // EXECUTE JOB SERVICE, by name (services.go)

	stats struct {
		logins, loginFailures, queries, describeOnly, aborts, deletes, renewals, telemetry, heartbeats, faults atomic.Int64
	}
}

// New opens the SQLite namespaces and runs Config.Init. It does not listen.
func New(cfg Config) (*Server, error) {
	s := &Server{
		cfg:       cfg,
		users:     map[string]User{},
		done:      make(chan struct{}),
		sessions:  map[int64]*session{},
		tokens:    map[string]*session{},
		masters:   map[string]*session{},
		retired:   map[string]bool{},
		retiredMT: map[string]bool{},
		inflight:  map[string]*inflight{},
		logf:      cfg.Logf,
		nextID:    1000,
	}
	s.baseCtx, s.stopBase = context.WithCancel(context.Background())
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	for _, u := range cfg.Users {
		if u.Name == "" {
			return nil, errors.New("emulator: a user without a name")
		}
		s.users[strings.ToUpper(u.Name)] = u
	}
	registerFunctions()
	switch {
	case cfg.DB == "":
		dir, err := os.MkdirTemp("", "unistore-emulator-")
		if err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
		s.dir, s.temp = dir, true
	case strings.HasPrefix(cfg.DB, "sqlite://"):
		s.dir = strings.TrimPrefix(cfg.DB, "sqlite://")
		if s.dir == "" {
			return nil, fmt.Errorf("emulator: DB %q names no directory", cfg.DB)
		}
		if fi, err := os.Stat(s.dir); err == nil && !fi.IsDir() {
			return nil, fmt.Errorf("emulator: DB %q is a file; it must name a directory (one SQLite file per DATABASE.SCHEMA goes there)", cfg.DB)
		}
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
	default:
		return nil, fmt.Errorf("emulator: DB %q: want sqlite://DIR or empty", cfg.DB)
	}
	fail := func(err error) (*Server, error) {
		s.stopBase()
		s.shutdownSessions()
		if s.temp {
			os.RemoveAll(s.dir)
		}
		return nil, err
	}
	ns, err := loadNamespaces(s.dir)
	if err != nil {
		return fail(err)
	}
	s.ns = ns
	admin, err := s.newSession("", DefaultRole, false, DefaultDatabase, DefaultSchema, DefaultWarehouse, nil)
	if err != nil {
		return fail(err)
	}
	s.admin = admin
	for _, file := range cfg.Init {
		b, err := os.ReadFile(file)
		if err != nil {
			return fail(fmt.Errorf("emulator: init: %w", err))
		}
		if err := s.runScript(file, string(b)); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

// Start is New, then Serve on a listener at addr (such as "127.0.0.1:0")
// in a goroutine that ends with Close.
func Start(cfg Config, addr string) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("emulator: %w", err)
	}
	s.setListener(l)
	go s.Serve(l)
	return s, nil
}

func (s *Server) setListener(l net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		s.listener = l
		s.serving = make(chan struct{})
		s.httpServer = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	}
}

// Serve answers Snowflake REST requests on l until Close. It returns nil
// after Close.
func (s *Server) Serve(l net.Listener) error {
	s.setListener(l)
	s.mu.Lock()
	hs, serving := s.httpServer, s.serving
	mine := s.listener == l
	s.mu.Unlock()
	if !mine {
		return errors.New("emulator: Serve called twice")
	}
	defer close(serving)
	select {
	case <-s.done:
		l.Close()
		return nil
	default:
	}
	if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("emulator: %w", err)
	}
	return nil
}

// Addr is the address served, "127.0.0.1:PORT", or "" before Serve.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// DSN is a gosnowflake DSN (no snowflake:// prefix) for this server:
// "user:password@127.0.0.1:PORT/DB/SCHEMA?account=emulator&protocol=http".
// An empty user is the only configured user, else DefaultUser; an empty
// password is that user's password, else DefaultPassword. An empty
// database leaves the path out (the session then uses DefaultDatabase).
func (s *Server) DSN(user, password, database, schema string) string {
	if user == "" {
		user = DefaultUser
		if len(s.cfg.Users) == 1 {
			user = s.cfg.Users[0].Name
		}
	}
	if password == "" {
		password = DefaultPassword
		if u, ok := s.users[strings.ToUpper(user)]; ok {
			password = u.Password
		}
	}
	auth := user
	if password != "" {
		auth += ":" + password
	}
	path := ""
	if database != "" {
		path = "/" + database
		if schema != "" {
			path += "/" + schema
		}
	}
	return fmt.Sprintf("%s@%s%s?account=%s&protocol=http", auth, s.Addr(), path, Account)
}

// Exec runs Snowflake-dialect SQL (one statement or a script) directly,
// starting in DefaultDatabase.DefaultSchema, with no user restrictions.
func (s *Server) Exec(sql string) error {
	return s.runScript("exec", sql)
}

func (s *Server) runScript(name, sql string) error {
	a := s.admin
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.use(DefaultDatabase, DefaultSchema); err != nil {
		return err
	}
	for _, st := range splitStatements(tokenize(sql)) {
		if _, err := s.execute(context.Background(), a, st.toks, nil, false); err != nil {
			return fmt.Errorf("emulator: %s:%d: %w", name, st.line, err)
		}
	}
	return nil
}

// SetAccountUsageLag changes Config.AccountUsageLag: how far behind the
// ACCOUNT_USAGE views are.
func (s *Server) SetAccountUsageLag(d time.Duration) {
	s.mu.Lock()
	s.cfg.AccountUsageLag = d
	s.mu.Unlock()
}

func (s *Server) accountUsageLag() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.AccountUsageLag
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	copy(out, s.log)
	return out
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, r)
	if lim := s.cfg.LogLimit; lim > 0 && len(s.log) > lim {
		s.log = append([]Request(nil), s.log[len(s.log)/2:]...)
	}
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Logins:         s.stats.logins.Load(),
		LoginFailures:  s.stats.loginFailures.Load(),
		Queries:        s.stats.queries.Load(),
		DescribeOnly:   s.stats.describeOnly.Load(),
		Aborts:         s.stats.aborts.Load(),
		SessionDeletes: s.stats.deletes.Load(),
		Renewals:       s.stats.renewals.Load(),
		Telemetry:      s.stats.telemetry.Load(),
		Heartbeats:     s.stats.heartbeats.Load(),
		Faults:         s.stats.faults.Load(),
	}
}

// Close stops serving, ends every session, waits for every goroutine the
// server started, and removes a temporary directory. Queries hung by a
// HangUntilAbort fault end with it.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.stopBase()
		s.mu.Lock()
		hs, serving, l := s.httpServer, s.serving, s.listener
		s.mu.Unlock()
		if hs != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := hs.Shutdown(ctx); err != nil {
				hs.Close()
			}
			cancel()
			l.Close()
			<-serving
		}
		s.shutdownSessions()
		if s.temp {
			if err := os.RemoveAll(s.dir); err != nil {
				s.closeErr = fmt.Errorf("emulator: %w", err)
			}
		}
	})
	return s.closeErr
}

func (s *Server) shutdownSessions() {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions)+1)
	for _, ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.sessions = map[int64]*session{}
	s.mu.Unlock()
	if s.admin != nil {
		sessions = append(sessions, s.admin)
	}
	for _, ss := range sessions {
		ss.close()
	}
}

// Main runs the emulator for the CLI: it listens on listen, prints one line
// naming the address and a DSN to stdout, and serves until ctx ends.
func Main(ctx context.Context, listen, db string, init []string, stdout io.Writer) error {
	s, err := Start(Config{DB: db, Init: init, LogLimit: 100000}, listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "emulator: Snowflake endpoint on %s; DSN snowflake://USER:PASSWORD@%s/%s/%s?account=%s&protocol=http\n",
		s.Addr(), s.Addr(), DefaultDatabase, DefaultSchema, Account)
	<-ctx.Done()
	return s.Close()
}
