package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/unistore-bench/unistore/core"
)

// Driver opens connectors for DSNs of one kind of database.
type Driver interface {
	// OpenConnector parses and checks dsn without connecting. Errors name
	// the bad part of the DSN but never its password.
	OpenConnector(dsn string) (Connector, error)
}

// Connector makes connections to one target. It is safe for concurrent use.
type Connector interface {
	// Connect opens one connection. A loop holds it for the whole run.
	Connect(ctx context.Context) (Conn, error)
	// Close releases what the connector shares between its connections.
	Close() error
}

// Conn is one connection, used by one goroutine at a time.
type Conn interface {
	// Prepare readies sql (with "?" placeholders) for repeated execution and
	// reports a statement that cannot run (a missing table, say) now,
	// before load starts.
	Prepare(ctx context.Context, sql string) (Stmt, error)
	// QueryColumn runs sql without parameters and returns the first column
	// of every row; workloads use it to sample keys before a run.
	QueryColumn(ctx context.Context, sql string) ([]core.Value, error)
	// Close closes the connection.
	Close() error
}

// Stmt is a prepared statement of one Conn.
type Stmt interface {
	// Exec runs the statement with args, reads and discards any rows, and
	// returns the number of rows returned or affected. args is only read
	// during the call.
	Exec(ctx context.Context, args []core.Value) (rows int64, err error)
}

// Schemer is implemented by drivers that claim DSN schemes beyond their
// registered name ("postgresql" for "postgres", say).
type Schemer interface {
	Schemes() []string
}

// Describer is implemented by connectors that report their settings (the
// PostgreSQL statement mode, say) for the run's result. No secrets.
type Describer interface {
	Settings() map[string]string
}

// Plan is the load a run intends, for connectors that warn about it.
type Plan struct {
	Workers     int     // worker groups
	Connections int     // connections per worker
	Rate        float64 // open-model arrivals per second per worker; 0 = closed loop
}

// Advisor is implemented by connectors that know their target's limits
// (Snowflake's hybrid-table request quota, say). Advise returns warnings
// about plan — none when it looks fine — without connecting. The run logs
// them before load and goes on: a warning is advice, not a refusal.
type Advisor interface {
	Advise(p Plan) []string
}

// Planner is implemented by connectors that tune themselves to the load a
// run intends (the PostgreSQL driver's engine=auto picks its epoll engine
// only for a few connections per event loop). A runner calls Plan once,
// before its first Connect and before it reads Settings; later calls, and
// calls after a Connect, may be ignored. Plan never connects.
type Planner interface {
	Plan(p Plan)
}

// Slots is a target's connection capacity as its server reports it.
type Slots struct {
	Max      int // the server's connection limit (max_connections)
	Reserved int // slots kept for superusers that this user cannot take (0 for a superuser)
	InUse    int // connections open now, the asking connection excluded
}

// Free is how many more connections this user may open.
func (s Slots) Free() int { return max(s.Max-s.Reserved-s.InUse, 0) }

// Capacity is implemented by connections whose server limits its
// connections (PostgreSQL's max_connections). The pre-flight check asks
// once, on its own connection, and refuses a run that needs more
// connections than are free before anything is launched.
type Capacity interface {
	Capacity(ctx context.Context) (Slots, error)
}

type clientNameKey struct{}

// WithClientName returns ctx carrying the name that a connection opened
// under it gives the server to identify itself (application_name on
// PostgreSQL), for drivers that support one: a DBA then sees whose load a
// connection carries. The worker sets "unistore/RUN_ID/WORKER_ID". It is
// read by Connect only, never per statement; a name the DSN sets wins.
func WithClientName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, clientNameKey{}, name)
}

// ClientName returns the name WithClientName put in ctx, or "".
func ClientName(ctx context.Context) string {
	s, _ := ctx.Value(clientNameKey{}).(string)
	return s
}

// Classifier is implemented by drivers (or connectors) that know their
// database's errors. Classify returns the error's class and, when there is
// one, its SQLSTATE or vendor code.
type Classifier interface {
	Classify(err error) (class core.ErrorClass, code string)
}

// Canceler is implemented by connections whose in-flight query can be
// interrupted from another goroutine (a cancel request on PostgreSQL).
// A loop whose run is cancelled calls it so it ends promptly even when its
// Exec is not watching a context.
type Canceler interface {
	CancelQuery() error
}

// Label names a statement's execution for drivers that tag statements on
// the server (Snowflake query tags). It never holds a secret.
type Label struct {
	Run, Worker, Operation string
	Phase                  core.Phase
}

// Labeler is implemented by connections that tag statements on the server.
// Label returns a context, derived from ctx, under which Exec tags its
// statement with l. The worker calls it once per operation and phase (and
// again after a reconnect), never per query, and passes the context to Exec.
type Labeler interface {
	Label(ctx context.Context, l Label) context.Context
}

var (
	mu      sync.RWMutex
	drivers = make(map[string]Driver)
	schemes = make(map[string]string)
)

// Register makes a driver available under name, and under the schemes it
// claims if it implements Schemer. It panics if d is nil or name is empty
// or already registered, like database/sql.Register: it is called from init.
func Register(name string, d Driver) {
	mu.Lock()
	defer mu.Unlock()
	if d == nil {
		panic("driver: Register driver is nil")
	}
	if name == "" {
		panic("driver: Register called with an empty name")
	}
	if _, dup := drivers[name]; dup {
		panic("driver: Register called twice for driver " + name)
	}
	claimed := []string{name}
	if s, ok := d.(Schemer); ok {
		claimed = append(claimed, s.Schemes()...)
	}
	for _, sc := range claimed {
		if _, dup := schemes[sc]; dup {
			panic("driver: scheme " + sc + " claimed twice")
		}
	}
	drivers[name] = d
	for _, sc := range claimed {
		schemes[sc] = name
	}
}

// Drivers returns the registered driver names, sorted.
func Drivers() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Schemes returns every DSN scheme a registered driver claims (its name
// included), sorted: what an unknown-driver message lists.
func Schemes() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(schemes))
	for sc := range schemes {
		out = append(out, sc)
	}
	slices.Sort(out)
	return out
}

// ErrUnknownDriver is matched by the error of Lookup and Open for a name
// no driver registered.
var ErrUnknownDriver = errors.New("unknown driver")

type unknownDriverError struct{ name string }

func (e unknownDriverError) Error() string {
	return fmt.Sprintf("unknown driver %q (forgotten import?)", e.name)
}
func (e unknownDriverError) Is(t error) bool { return t == ErrUnknownDriver }

// Lookup returns the driver registered as name.
func Lookup(name string) (Driver, error) {
	mu.RLock()
	defer mu.RUnlock()
	d, ok := drivers[name]
	if !ok {
		return nil, unknownDriverError{name}
	}
	return d, nil
}

// Scheme returns the scheme of dsn ("postgres" for "postgres://…"), or "".
func Scheme(dsn string) string {
	i := strings.Index(dsn, "://")
	if i <= 0 {
		return ""
	}
	return strings.ToLower(dsn[:i])
}

// Resolve picks the driver for a target: the named one, or else the one
// claiming the DSN's scheme. It returns the driver's registered name.
func Resolve(name, dsn string) (string, Driver, error) {
	if name == "" {
		sc := Scheme(dsn)
		if sc == "" {
			return "", nil, fmt.Errorf("driver: cannot tell the driver from DSN %q: give a scheme such as postgres:// or sqlite://", core.RedactDSN(dsn))
		}
		mu.RLock()
		n, ok := schemes[sc]
		mu.RUnlock()
		if !ok {
			return "", nil, unknownDriverError{sc}
		}
		name = n
	}
	d, err := Lookup(name)
	return name, d, err
}

// Open resolves the driver for a target and opens a connector.
func Open(name, dsn string) (string, Connector, error) {
	n, d, err := Resolve(name, dsn)
	if err != nil {
		return "", nil, err
	}
	c, err := d.OpenConnector(dsn)
	if err != nil {
		return "", nil, err
	}
	return n, c, nil
}

// Classify returns the class of err using c if it is a Classifier, with a
// fallback that knows context and network errors.
func Classify(c any, err error) (core.ErrorClass, string) {
	if err == nil {
		return core.ErrNone, ""
	}
	if cl, ok := c.(Classifier); ok {
		if class, code := cl.Classify(err); class != core.ErrOther || code != "" {
			return class, code
		}
	}
	return ClassifyGeneric(err), ""
}

// ClassifyGeneric classifies errors every driver can meet: timeouts,
// cancellations and network failures.
func ClassifyGeneric(err error) core.ErrorClass {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return core.ErrTimeout
	case errors.Is(err, context.Canceled):
		return core.ErrTimeout
	case errors.As(err, &ne) && ne.Timeout():
		return core.ErrTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		return core.ErrConnection
	}
	return core.ErrOther
}

// AnyArgs checks that args holds the want parameters of sql and writes them
// into dst[:0] as database/sql-style values (core.Value.Any), for drivers
// that bind through database/sql or pgx's query path. name prefixes the
// error ("sqlite", "postgres").
func AnyArgs(dst []any, name, sql string, want int, args []core.Value) ([]any, error) {
	if len(args) != want {
		return dst[:0], fmt.Errorf("%s: %q takes %d parameters, got %d", name, sql, want, len(args))
	}
	dst = dst[:0]
	for i := range args {
		dst = append(dst, args[i].Any())
	}
	return dst, nil
}
