package snowflake

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/snowflakedb/gosnowflake"

	"github.com/unistore-bench/unistore/core"
)

// DSN parameters read by unistore and removed before gosnowflake parses the
// DSN (gosnowflake would send unknown parameters to the server as session
// parameters).
const (
	// ConnectionParam names a connection in connections.toml.
	ConnectionParam = "connection"
	// PrivateKeyFileParam is the path of a PEM PKCS#8 private key for
	// key-pair (JWT) authentication.
	PrivateKeyFileParam = "private_key_file"
)

// Environment variables read by ParseConfig.
const (
	// EnvHome is the directory of connections.toml (default ~/.snowflake).
	EnvHome = "SNOWFLAKE_HOME"
	// EnvDefaultConnection names the connection used when
	// "?connection=" gives none (default "default").
	EnvDefaultConnection = "SNOWFLAKE_DEFAULT_CONNECTION_NAME"
	// EnvPassphrase is the passphrase of an encrypted private key file.
	EnvPassphrase = "PRIVATE_KEY_PASSPHRASE"
)

// envFill maps the generic SNOWFLAKE_* variables onto DSN fields they fill
// when neither the DSN nor connections.toml gives them.
var envFill = []struct{ env, field string }{
	{"SNOWFLAKE_ACCOUNT", "account"},
	{"SNOWFLAKE_USER", "user"},
	{"SNOWFLAKE_PASSWORD", "password"},
	{"SNOWFLAKE_WAREHOUSE", "warehouse"},
	{"SNOWFLAKE_DATABASE", "database"},
	{"SNOWFLAKE_SCHEMA", "schema"},
	{"SNOWFLAKE_ROLE", "role"},
}

// Defaults unistore applies when the DSN (or connections.toml) does not set
// the parameter itself. See the package documentation for the reasons.
const (
	// DefaultLoginTimeout bounds gosnowflake's login retries.
	DefaultLoginTimeout = 60 * time.Second
	// DefaultMaxRetryCount turns gosnowflake's HTTP retries off (it compares
	// retries made > MaxRetryCount, and 0 would mean its default of 7): a
	// 5xx or 429 is then one counted error, not a hidden 1–16 s sleep.
	DefaultMaxRetryCount = -1
)

// Session parameters unistore sets at login unless the DSN sets them.
var defaultSessionParams = []struct{ name, value string }{
	{"USE_CACHED_RESULT", "false"},
	{"CLIENT_SESSION_KEEP_ALIVE", "true"},
}

// dsnParts is a gosnowflake DSN split into its pieces, each still in the
// escaped form gosnowflake's ParseDSN expects:
// [user[:password]@]account-or-host[:port][/database[/schema]][?k=v&…].
type dsnParts struct {
	user, password string
	hasPassword    bool
	host           string
	database       string
	schema         string
	params         []param
}

type param struct{ key, raw string } // raw is the escaped value

func splitDSN(s string) dsnParts {
	var p dsnParts
	at := strings.LastIndex(s, "@")
	head, query := s, ""
	if q := strings.IndexByte(s[at+1:], '?'); q >= 0 {
		head, query = s[:at+1+q], s[at+1+q+1:]
	}
	if at >= 0 {
		ui := head[:at]
		head = head[at+1:]
		p.user, p.password, p.hasPassword = strings.Cut(ui, ":")
	}
	host, path, _ := strings.Cut(head, "/")
	p.host = host
	p.database, p.schema, _ = strings.Cut(path, "/")
	for kv := range strings.SplitSeq(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		p.params = append(p.params, param{k, v})
	}
	return p
}

func (p *dsnParts) lookup(key string) (string, bool) {
	for _, kv := range p.params {
		if strings.EqualFold(kv.key, key) {
			v, err := url.QueryUnescape(kv.raw)
			if err != nil {
				v = kv.raw
			}
			return v, true
		}
	}
	return "", false
}

func (p *dsnParts) remove(key string) (string, bool) {
	v, ok := p.lookup(key)
	p.params = deleteParams(p.params, key)
	return v, ok
}

func deleteParams(ps []param, key string) []param {
	out := ps[:0]
	for _, kv := range ps {
		if !strings.EqualFold(kv.key, key) {
			out = append(out, kv)
		}
	}
	return out
}

// fill sets a field the DSN left empty; v is unescaped.
func (p *dsnParts) fill(field, v string) {
	if v == "" {
		return
	}
	e := url.QueryEscape(v)
	switch field {
	case "user":
		if p.user == "" {
			p.user = e
		}
	case "password":
		if !p.hasPassword || p.password == "" {
			p.password, p.hasPassword = e, true
		}
	case "database":
		if p.database == "" {
			if _, ok := p.lookup("database"); !ok {
				p.database = e
			}
		}
	case "schema":
		if p.schema == "" {
			if _, ok := p.lookup("schema"); !ok {
				p.schema = e
			}
		}
	case "account":
		if p.host == "" {
			p.host = v
		} else if _, ok := p.lookup("account"); !ok && !isAccountForm(p.host) {
			p.params = append(p.params, param{"account", e})
		}
	case "host":
		if p.host == "" {
			p.host = v
		}
	default:
		if _, ok := p.lookup(field); !ok {
			p.params = append(p.params, param{field, e})
		}
	}
}

// isAccountForm reports whether host is an account name rather than a
// host (no port, no top-level domain), as gosnowflake reads it.
func isAccountForm(host string) bool {
	return host != "" && !strings.Contains(host, ":") && !strings.Contains(host, ".snowflakecomputing.")
}

func (p *dsnParts) String() string {
	var b strings.Builder
	if p.user != "" || p.hasPassword {
		b.WriteString(p.user)
		if p.hasPassword {
			b.WriteByte(':')
			b.WriteString(p.password)
		}
		b.WriteByte('@')
	}
	b.WriteString(p.host)
	if p.database != "" || p.schema != "" {
		b.WriteByte('/')
		b.WriteString(p.database)
		if p.schema != "" {
			b.WriteByte('/')
			b.WriteString(p.schema)
		}
	}
	for i, kv := range p.params {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv.key))
		b.WriteByte('=')
		b.WriteString(kv.raw)
	}
	return b.String()
}

// tomlKeys maps connections.toml keys (lower case, without "_") onto DSN
// fields: user, password, host, account, database and schema are DSN
// pieces, the rest gosnowflake DSN parameters. Keys not listed pass through
// as session parameters, as unknown DSN parameters do.
var tomlKeys = map[string]string{
	"user": "user", "username": "user", "password": "password", "host": "host", "account": "account",
	"database": "database", "schema": "schema", "warehouse": "warehouse", "role": "role",
	"region": "region", "protocol": "protocol", "port": "port", "authenticator": "authenticator",
	"token": "token", "tokenfilepath": "tokenFilePath", "passcode": "passcode",
	"privatekeyfile": PrivateKeyFileParam, "privatekeypath": PrivateKeyFileParam,
	"privatekeyfilepwd": "private_key_file_pwd", "privatekeypassphrase": "private_key_file_pwd",
	"logintimeout": "loginTimeout", "requesttimeout": "requestTimeout", "clienttimeout": "clientTimeout",
	"jwtclienttimeout": "jwtClientTimeout", "jwttimeout": "jwtTimeout", "maxretrycount": "maxRetryCount",
	"disableocspchecks": "disableOCSPChecks", "ocspfailopen": "ocspFailOpen", "disabletelemetry": "disableTelemetry",
	"application": "application", "tracing": "tracing", "tmpdirpath": "tmpDirPath",
}

// connectionFile returns the path of connections.toml.
func connectionFile() (string, error) {
	dir := os.Getenv(EnvHome)
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find connections.toml: %s is unset and there is no home directory: %v", EnvHome, err)
		}
		dir = filepath.Join(home, ".snowflake")
	}
	return filepath.Join(dir, "connections.toml"), nil
}

// readConnection reads connection name from connections.toml into p, under
// what the DSN itself sets. It returns the file's path, the passphrase the
// connection gives for its private key, if any.
func readConnection(p *dsnParts, name string) (path, passphrase string, err error) {
	if name == "" {
		name = os.Getenv(EnvDefaultConnection)
	}
	if name == "" {
		name = "default"
	}
	path, err = connectionFile()
	if err != nil {
		return "", "", err
	}
	var all map[string]any
	if _, err := toml.DecodeFile(path, &all); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return path, "", fmt.Errorf("%s:%d: %s", path, pe.Position.Line, pe.Message)
		}
		return path, "", fmt.Errorf("read %s: %w", path, err)
	}
	sect, ok := all[name].(map[string]any)
	if !ok {
		return path, "", fmt.Errorf("%s has no connection [%s]", path, name)
	}
	var port, host, account string
	for k, v := range sect {
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case int64:
			s = strconv.FormatInt(v, 10)
		case bool:
			s = strconv.FormatBool(v)
		case float64:
			s = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return path, "", fmt.Errorf("%s: [%s] %s: want a string, number or boolean", path, name, k)
		}
		field, known := tomlKeys[strings.ReplaceAll(strings.ToLower(k), "_", "")]
		if !known {
			field = k
		}
		switch field {
		case "port":
			port = s
		case "host":
			host = s
		case "account":
			account = s
		case "private_key_file_pwd":
			passphrase = s
		default:
			p.fill(field, s)
		}
	}
	if host != "" {
		if port != "" {
			host += ":" + port
		}
		p.fill("host", host)
	}
	p.fill("account", account) // after the host, which it must not become
	return path, passphrase, nil
}

// ParseConfig turns a unistore Snowflake DSN into a gosnowflake Config with
// unistore's defaults applied, without connecting. dsn is
// "snowflake://" followed by a gosnowflake DSN (the prefix may be omitted).
//
// Sources, first wins: the DSN; the connections.toml connection named by
// ?connection=NAME; the SNOWFLAKE_ACCOUNT, _USER, _PASSWORD, _WAREHOUSE,
// _DATABASE, _SCHEMA and _ROLE environment variables. A private_key_file
// (from the DSN or connections.toml) is read here and selects key-pair
// authentication. Errors never hold the password, the key or its
// passphrase.
func ParseConfig(dsn string) (*gosnowflake.Config, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("snowflake: bad DSN %s: %s", core.RedactDSN(dsn), fmt.Sprintf(format, a...))
	}
	rest := dsn
	if i := strings.Index(dsn, "://"); i >= 0 {
		if !strings.EqualFold(dsn[:i], Name) {
			return nil, bad("want snowflake://USER[:PASSWORD]@ACCOUNT/DB/SCHEMA?warehouse=WH")
		}
		rest = dsn[i+3:]
	}
	p := splitDSN(rest)
	keyFile, _ := p.remove(PrivateKeyFileParam)
	var passphrase, source string
	if name, ok := p.remove(ConnectionParam); ok {
		path, pw, err := readConnection(&p, name)
		if err != nil {
			return nil, fmt.Errorf("snowflake: connection %q: %w", name, err)
		}
		source, passphrase = path, pw
		if keyFile == "" {
			keyFile, _ = p.remove(PrivateKeyFileParam)
		}
	}
	// SNOWFLAKE_HOST (and SNOWFLAKE_PORT) are what a Snowpark Container
	// Services container gets to reach its account from inside: a host,
	// never an account name, so it comes before SNOWFLAKE_ACCOUNT, which
	// then becomes a parameter.
	if h := os.Getenv("SNOWFLAKE_HOST"); p.host == "" && h != "" {
		if port := os.Getenv("SNOWFLAKE_PORT"); port != "" && !strings.Contains(h, ":") {
			h += ":" + port
		}
		p.host = h
	}
	auth, hasAuth := p.lookup("authenticator")
	for _, e := range envFill {
		if e.field == "password" && (keyFile != "" || hasAuth && !strings.EqualFold(auth, "snowflake")) {
			continue
		}
		p.fill(e.field, os.Getenv(e.env))
	}
	if keyFile != "" {
		if hasAuth && !strings.EqualFold(auth, "SNOWFLAKE_JWT") {
			return nil, bad("%s needs authenticator=SNOWFLAKE_JWT, not %s", PrivateKeyFileParam, auth)
		}
		if !hasAuth {
			p.params = append(p.params, param{"authenticator", "SNOWFLAKE_JWT"})
		}
	}
	set := make(map[string]bool, len(p.params))
	for _, kv := range p.params {
		set[strings.ToLower(kv.key)] = true
	}
	if p.host == "" && !set["account"] {
		return nil, bad("no account: give snowflake://USER@ACCOUNT/…, ?connection=NAME or SNOWFLAKE_ACCOUNT")
	}
	// gosnowflake's DSN parser reads tokenFilePath into Token once, then
	// refuses the pair; set after parsing, the file is read at every
	// login — a Snowpark Container Services token is renewed in place.
	tokenFile, _ := p.remove("tokenFilePath")
	cfg, err := gosnowflake.ParseDSN(p.String())
	if err == nil {
		cfg.TokenFilePath = tokenFile
	}
	if err != nil {
		if source != "" {
			return nil, bad("with connection from %s: %v", source, scrubErr(err, &p))
		}
		return nil, bad("%v", scrubErr(err, &p))
	}
	if keyFile != "" {
		if passphrase == "" {
			passphrase = os.Getenv(EnvPassphrase)
		}
		key, err := ReadPrivateKey(keyFile, passphrase)
		if err != nil {
			return nil, fmt.Errorf("snowflake: %w", err)
		}
		cfg.PrivateKey = key
		cfg.Authenticator = gosnowflake.AuthTypeJwt
	}
	applyDefaults(cfg, set)
	return cfg, nil
}

// scrubErr keeps gosnowflake's parse error but drops the password if the
// message happens to quote it.
func scrubErr(err error, p *dsnParts) error {
	if !p.hasPassword || p.password == "" {
		return err
	}
	s := err.Error()
	pw, _ := url.QueryUnescape(p.password)
	for _, secret := range []string{p.password, pw} {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "xxxxx")
		}
	}
	if s == err.Error() {
		return err
	}
	return &redactedError{msg: s, err: err}
}

// applyDefaults sets unistore's defaults for what the DSN (keys in set,
// lower case) left unset.
func applyDefaults(cfg *gosnowflake.Config, set map[string]bool) {
	if !set["disabletelemetry"] {
		cfg.DisableTelemetry = true
	}
	if !set["maxretrycount"] {
		cfg.MaxRetryCount = DefaultMaxRetryCount
	}
	if !set["logintimeout"] {
		cfg.LoginTimeout = DefaultLoginTimeout
	}
	// Lower-case keys: gosnowflake upper-cases them at login but looks up
	// client_session_keep_alive in lower case, and writes the server's
	// parameters back in lower case.
	params := make(map[string]*string, len(cfg.Params)+len(defaultSessionParams))
	for k, v := range cfg.Params {
		params[strings.ToLower(k)] = v
	}
	cfg.Params = params
	for _, sp := range defaultSessionParams {
		if _, ok := sessionParam(cfg, sp.name); !ok {
			v := sp.value
			cfg.Params[strings.ToLower(sp.name)] = &v
		}
	}
}

// sessionParam returns the session parameter name of cfg, matched without
// regard to case.
func sessionParam(cfg *gosnowflake.Config, name string) (string, bool) {
	for k, v := range cfg.Params {
		if strings.EqualFold(k, name) && v != nil {
			return *v, true
		}
	}
	return "", false
}

// redactedError carries a scrubbed message but unwraps to the original
// error, so errors.As still finds *gosnowflake.SnowflakeError.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
