package postgres

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/unistore-bench/unistore/driver"
)

// Engine is how a runner drives a connector's connections: on the epoll
// engine's event loops or one goroutine per connection.
type Engine string

// The engines, chosen with the DSN parameter engine.
const (
	// EngineAuto picks EngineEpoll where it applies (Linux, statement_mode
	// prepared or raw, no TLS possible) and the run's plan has at most
	// AutoEpollConnsPerLoop connections per event loop (driver.Planner),
	// else EngineGoroutine. The default.
	EngineAuto Engine = "auto"
	// EngineEpoll runs the connections on a few OS-thread-locked event
	// loops multiplexing their sockets with epoll (driver.Multiplexer).
	EngineEpoll Engine = "epoll"
	// EngineGoroutine runs each connection on its own goroutine through
	// Stmt.Exec: the portable path, and the only one for TLS.
	EngineGoroutine Engine = "goroutine"
)

// EngineParam selects the engine; EngineLoopsParam the number of event
// loops of the epoll engine (default DefaultEngineLoops, or GOMAXPROCS
// under ProcsDedicated); EngineProcsParam whether those loops share the
// process's Ps (EngineProcs); EngineAffinityParam whether connections move
// to the loop on their packets' CPU (EngineAffinity). All four are removed
// from the DSN before pgx parses it.
const (
	EngineParam         = "engine"
	EngineLoopsParam    = "engine_loops"
	EngineProcsParam    = "engine_procs"
	EngineAffinityParam = "engine_affinity"
	// EngineIOParam is a setting only (Settings), not a DSN parameter:
	// "raw" when auto's goroutine fallback runs prepared statements with
	// the raw mode's wire code.
	EngineIOParam = "engine_io"
)

// EngineAffinity is how the epoll engine places connections on its event
// loops.
type EngineAffinity string

const (
	// AffinityRX, the default: every 100 ms the engine compares the CPU
	// each loop runs on with the CPU that received each connection's
	// last packet (SO_INCOMING_CPU: on loopback, where the server's
	// backend ran when it answered; over a network, the CPU handling the
	// NIC queue), and when two connections have each wanted the other's
	// loop for three looks in a row it swaps them, between two
	// executions. A loop and the backends it wakes then share a core, so a
	// wake-up is no inter-processor interrupt — the state pgbench reaches
	// only by chance (2 cores, 4 connections: 75k or 130k QPS run by run;
	// with swaps, 2 loops reached 124–142k in every run). Swaps keep each
	// loop's number of connections; a connection that moved waits a
	// second before it may move again.
	AffinityRX EngineAffinity = "rx"
	// AffinityOff: a connection stays on the loop it was placed on (the
	// least loaded when it arrived) until released.
	AffinityOff EngineAffinity = "off"
)

// EngineProcs is how the epoll engine's event loops stand to GOMAXPROCS.
type EngineProcs string

const (
	// ProcsShared: the loops run on the process's Ps as they are, so by
	// default GOMAXPROCS−1 loops (DefaultEngineLoops), one P left for
	// the rest of the process. GOMAXPROCS is never changed. The library's
	// default (SetDefaultEngineProcs).
	ProcsShared EngineProcs = "shared"
	// ProcsDedicated: each event loop gets a P of its own. By default an
	// engine runs GOMAXPROCS loops — as many as the machine's cores, as
	// pgbench -j does — and while dedicated loops run, the process's
	// GOMAXPROCS is raised to one more than their number (never below what
	// it was), so every loop may hold its P through its waits and one P
	// stays free for the rest of the process; it is set back when the
	// last dedicated engine closes, unless something else changed it
	// meanwhile (setting it turns off the runtime's own updates of
	// GOMAXPROCS to a changed CPU limit, for the rest of the process's
	// life). A loop asleep in epoll_wait uses no CPU, so the raised
	// GOMAXPROCS does not oversubscribe the cores with running Go code
	// beyond the loops' own turns. The unistore CLI's default: its
	// process exists to drive the load (bench/README.md, "one loop per
	// core").
	ProcsDedicated EngineProcs = "dedicated"
)

// defaultProcs is SetDefaultEngineProcs's value.
var defaultProcs atomic.Pointer[EngineProcs]

// SetDefaultEngineProcs sets the engine_procs of connectors created after
// the call whose DSN names none. It is process policy, as GOMAXPROCS is:
// a main package decides it (the unistore CLI sets ProcsDedicated), a
// library embedding a run leaves the default, ProcsShared, so its host's
// GOMAXPROCS is only touched when a DSN asks. It panics on any other
// value.
func SetDefaultEngineProcs(p EngineProcs) {
	if p != ProcsShared && p != ProcsDedicated {
		panic(fmt.Sprintf("postgres: SetDefaultEngineProcs(%q): want %q or %q", p, ProcsShared, ProcsDedicated))
	}
	defaultProcs.Store(&p)
}

// DefaultEngineProcs returns the engine_procs of a DSN that names none.
func DefaultEngineProcs() EngineProcs {
	if p := defaultProcs.Load(); p != nil {
		return *p
	}
	return ProcsShared
}

// DefaultEngineLoops is the number of event loops of an epoll engine when
// the DSN names none and engine_procs is shared: GOMAXPROCS−1, at least 1. One P stays free for the
// rest of the process (the collector, the pacer, the store writers, the
// garbage collector), and the loops' threads sleeping in epoll_wait never
// leave the scheduler without an idle P — the state in which the runtime's
// sysmon takes Ps back from threads in system calls and hands them around
// (see doc.go).
func DefaultEngineLoops() int { return max(1, runtime.GOMAXPROCS(0)-1) }

// maxEngineLoops bounds engine_loops.
const maxEngineLoops = 256

var (
	_ driver.Multiplexer = (*Connector)(nil)
	_ driver.Planner     = (*Connector)(nil)
)

// Engine returns the engine the connector's connections run on: EngineEpoll
// or EngineGoroutine (EngineAuto is resolved by NewConnector).
func (c *Connector) Engine() Engine { return c.engine }

// NewEngine implements driver.Multiplexer: an epoll engine when the
// connector's engine is EngineEpoll, else (nil, nil).
func (c *Connector) NewEngine() (driver.Engine, error) {
	if c.engine != EngineEpoll {
		return nil, nil
	}
	return newEpollEngine(c.engineLoops(), c.eopts.procs == ProcsDedicated, c.eopts.affinity == AffinityRX)
}

// engineLoops is the number of event loops of the connector's epoll
// engines: engine_loops, else DefaultEngineLoops under ProcsShared and,
// under ProcsDedicated, one per core — GOMAXPROCS as it was before any
// dedicated loop raised it.
func (c *Connector) engineLoops() int {
	switch {
	case c.eopts.loops > 0:
		return c.eopts.loops
	case c.eopts.procs == ProcsDedicated:
		return baseProcs()
	}
	return DefaultEngineLoops()
}

// engineOpts are a DSN's engine parameters.
type engineOpts struct {
	want     Engine // engine: the engine asked for, EngineAuto when none
	loops    int    // engine_loops; 0: the default (engineLoops)
	procs    EngineProcs
	affinity EngineAffinity
}

// engineOptions removes engine, engine_loops, engine_procs and
// engine_affinity from dsn and returns their values (EngineAuto, 0,
// DefaultEngineProcs and AffinityRX when absent).
func engineOptions(dsn string) (rest string, o engineOpts, err error) {
	rest = dsn
	var v [4]string
	for i, name := range []string{EngineParam, EngineLoopsParam, EngineProcsParam, EngineAffinityParam} {
		if rest, v[i], err = stripOption(rest, name); err != nil {
			return "", o, err
		}
	}
	o = engineOpts{want: EngineAuto, procs: DefaultEngineProcs(), affinity: AffinityRX}
	if e := v[0]; e != "" {
		switch m := Engine(strings.ToLower(e)); m {
		case EngineAuto, EngineEpoll, EngineGoroutine:
			o.want = m
		default:
			return "", o, fmt.Errorf("%s=%q: want auto, epoll or goroutine", EngineParam, e)
		}
	}
	if l := v[1]; l != "" {
		o.loops, err = strconv.Atoi(l)
		if err != nil || o.loops < 1 || o.loops > maxEngineLoops {
			return "", o, fmt.Errorf("%s=%q: want a number of event loops from 1 to %d", EngineLoopsParam, l, maxEngineLoops)
		}
	}
	if p := v[2]; p != "" {
		switch m := EngineProcs(strings.ToLower(p)); m {
		case ProcsShared, ProcsDedicated:
			o.procs = m
		default:
			return "", o, fmt.Errorf("%s=%q: want shared or dedicated", EngineProcsParam, p)
		}
	}
	if a := v[3]; a != "" {
		switch m := EngineAffinity(strings.ToLower(a)); m {
		case AffinityRX, AffinityOff:
			o.affinity = m
		default:
			return "", o, fmt.Errorf("%s=%q: want rx or off", EngineAffinityParam, a)
		}
	}
	return rest, o, nil
}

// resolveEngine decides the engine of a connector with config cfg and
// statement mode mode, the DSN asking for want. The caller dials the epoll
// engine's connections through sockDialer.
func resolveEngine(cfg *pgx.ConnConfig, mode Mode, want Engine) (Engine, error) {
	if want == EngineGoroutine {
		return EngineGoroutine, nil
	}
	why := ""
	switch {
	case !epollSupported:
		why = "it is only available on Linux"
	case mode != ModePrepared && mode != ModeRaw:
		why = fmt.Sprintf("it runs statement_mode prepared or raw, not %s", mode)
	case mayUseTLS(cfg):
		why = "it cannot run over TLS: set sslmode=disable (or engine=goroutine)"
	}
	if why != "" {
		if want == EngineEpoll {
			return "", errors.New(EngineParam + "=epoll: " + why)
		}
		return EngineGoroutine, nil
	}
	return EngineEpoll, nil
}

// AutoEpollConnsPerLoop is the most connections per event loop for which
// engine=auto keeps the epoll engine once a runner has told the connector
// its plan (driver.Planner); past it auto runs goroutines. Measured on this
// project's 2-core machine against pgbench (bench/README.md): with one
// loop, epoll matched or beat the goroutine engine's QPS at 4 connections
// with 30–45 % less client CPU per query, was even to slightly behind at
// 16, and fell to 0.84× pgbench against the goroutine engine's 1.21× at 64
// — one OS thread serialises every connection's reads and writes, while
// goroutines spread them over every core. With one dedicated loop per core
// (engine_procs=dedicated: 2 loops there) and the affinity balancer, the
// same rule keeps epoll up to 16 connections, where it ran at 1.26×
// pgbench's QPS and 0.65× its CPU per query (goroutines: 0.95×, 1.38×), and
// runs goroutines at 64, where they reached 1.25× pgbench against epoll's
// 0.96–1.02×.
const AutoEpollConnsPerLoop = 8

// Plan implements driver.Planner. Under engine=auto, an epoll connector
// whose plan holds more than AutoEpollConnsPerLoop connections per event
// loop (per worker: each worker has its own engine) switches to the
// goroutine engine, which then runs statement_mode=prepared with the raw
// mode's wire code (recorded as engine_io=raw in Settings). Only the first call counts, and it must come before
// the first Connect (the epoll engine dials its sockets its own way).
// engine=epoll and engine=goroutine are never overridden.
func (c *Connector) Plan(p driver.Plan) {
	c.planOnce.Do(func() {
		if c.eopts.want != EngineAuto || c.engine != EngineEpoll {
			return
		}
		if p.Connections > AutoEpollConnsPerLoop*c.engineLoops() {
			cfg := c.cfg.Copy()
			cfg.DialFunc = c.baseDial
			c.cfg, c.engine = cfg, EngineGoroutine
			// The epoll engine's wire code, on goroutines: the same
			// Bind/Execute/Sync of the same prepared statements, read
			// without pgconn's allocations (statement_mode=raw's path).
			// At 64 connections on 2 cores: 5.8–5.9 µs of client CPU per
			// query against pgconn's 6.2–6.6 (pgbench: 5.7–5.8), at the
			// same QPS.
			c.rawIO = c.mode == ModePrepared && rawSupported
		}
	})
}

// mayUseTLS reports whether a connection of cfg may end up on TLS
// (sslmode prefer, the default, as well as require and verify-*).
func mayUseTLS(cfg *pgx.ConnConfig) bool {
	if cfg.TLSConfig != nil {
		return true
	}
	for _, f := range cfg.Fallbacks {
		if f.TLSConfig != nil {
			return true
		}
	}
	return false
}

// kvOption matches each of our own DSN parameters in a keyword/value DSN
// (pgx would refuse them), so stripOption can take them out.
var kvOption = map[string]*regexp.Regexp{
	ModeParam:           regexp.MustCompile(`(?i)(^|\s)statement_mode\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`),
	EngineParam:         regexp.MustCompile(`(?i)(^|\s)engine\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`),
	EngineLoopsParam:    regexp.MustCompile(`(?i)(^|\s)engine_loops\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`),
	EngineProcsParam:    regexp.MustCompile(`(?i)(^|\s)engine_procs\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`),
	EngineAffinityParam: regexp.MustCompile(`(?i)(^|\s)engine_affinity\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`),
}

// stripOption removes parameter name (a key of kvOption) from a URL or
// keyword/value DSN and returns the DSN without it and its value.
func stripOption(dsn, name string) (rest, value string, err error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", "", errors.New("not a valid URL")
		}
		q := u.Query()
		if !q.Has(name) {
			return dsn, "", nil
		}
		value = q.Get(name)
		q.Del(name)
		u.RawQuery = q.Encode()
		return u.String(), value, nil
	}
	m := kvOption[name].FindStringSubmatchIndex(dsn)
	if m == nil {
		return dsn, "", nil
	}
	value = strings.Trim(dsn[m[4]:m[5]], "'")
	return strings.TrimSpace(dsn[:m[0]] + " " + dsn[m[1]:]), value, nil
}
