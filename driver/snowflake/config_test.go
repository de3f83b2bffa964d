package snowflake_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snowflakedb/gosnowflake"
	"github.com/youmark/pkcs8"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/driver/snowflake"
)

// clearEnv unsets every variable ParseConfig reads, for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{"SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD", "SNOWFLAKE_WAREHOUSE",
		"SNOWFLAKE_DATABASE", "SNOWFLAKE_SCHEMA", "SNOWFLAKE_ROLE", snowflake.EnvPassphrase, snowflake.EnvDefaultConnection} {
		t.Setenv(v, "")
	}
	t.Setenv(snowflake.EnvHome, t.TempDir())
}

func TestParseConfig(t *testing.T) {
	clearEnv(t)
	cases := []struct {
		dsn  string
		want cfgView
	}{
		{"snowflake://alice:s3cret@myorg-acct/DB/SCH?warehouse=WH&role=R",
			cfgView{Account: "myorg-acct", User: "alice", Password: "s3cret", Database: "DB", Schema: "SCH",
				Warehouse: "WH", Role: "R", Host: "myorg-acct.snowflakecomputing.com", Port: 443, Protocol: "https"}},
		{"snowflake://u:p%40ss@127.0.0.1:8080/db/s?account=emulator&protocol=http",
			cfgView{Account: "emulator", User: "u", Password: "p@ss", Database: "db", Schema: "s",
				Host: "127.0.0.1", Port: 8080, Protocol: "http"}},
		{"u:p@acct/db", // the prefix may be omitted
			cfgView{Account: "acct", User: "u", Password: "p", Database: "db", Host: "acct.snowflakecomputing.com", Port: 443, Protocol: "https"}},
	}
	for _, tc := range cases {
		cfg, err := snowflake.ParseConfig(tc.dsn)
		if err != nil {
			t.Errorf("ParseConfig(%q): %v", tc.dsn, err)
			continue
		}
		got := cfgView{Account: cfg.Account, User: cfg.User, Password: cfg.Password, Database: cfg.Database,
			Schema: cfg.Schema, Warehouse: cfg.Warehouse, Role: cfg.Role, Host: cfg.Host, Port: cfg.Port, Protocol: cfg.Protocol}
		if got != tc.want {
			t.Errorf("ParseConfig(%q)\n got %+v\nwant %+v", tc.dsn, got, tc.want)
		}
	}
}

// cfgView is the comparable part of a gosnowflake.Config.
type cfgView struct {
	Account, User, Password, Database, Schema, Warehouse, Role, Host string
	Port                                                             int
	Protocol                                                         string
}

func TestParseConfigDefaults(t *testing.T) {
	clearEnv(t)
	cfg, err := snowflake.ParseConfig("snowflake://u:p@acct/db/s?QUERY_TAG=mine")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.DisableTelemetry || cfg.MaxRetryCount != snowflake.DefaultMaxRetryCount || cfg.LoginTimeout != snowflake.DefaultLoginTimeout {
		t.Errorf("defaults: DisableTelemetry=%v MaxRetryCount=%d LoginTimeout=%v", cfg.DisableTelemetry, cfg.MaxRetryCount, cfg.LoginTimeout)
	}
	params := map[string]string{}
	for k, v := range cfg.Params {
		params[k] = *v
	}
	for k, want := range map[string]string{"use_cached_result": "false", "client_session_keep_alive": "true", "query_tag": "mine"} {
		if params[k] != want {
			t.Errorf("session parameter %s = %q, want %q (all: %v)", k, params[k], want, params)
		}
	}

	// What the DSN sets wins.
	cfg, err = snowflake.ParseConfig("snowflake://u:p@acct/db/s?disableTelemetry=false&maxRetryCount=3&loginTimeout=5&USE_CACHED_RESULT=true")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DisableTelemetry || cfg.MaxRetryCount != 3 || cfg.LoginTimeout != 5*time.Second || *cfg.Params["use_cached_result"] != "true" {
		t.Errorf("DSN settings lost: DisableTelemetry=%v MaxRetryCount=%d LoginTimeout=%v USE_CACHED_RESULT=%s",
			cfg.DisableTelemetry, cfg.MaxRetryCount, cfg.LoginTimeout, *cfg.Params["use_cached_result"])
	}
}

func TestParseConfigEnvFill(t *testing.T) {
	clearEnv(t)
	t.Setenv("SNOWFLAKE_ACCOUNT", "envacct")
	t.Setenv("SNOWFLAKE_USER", "envuser")
	t.Setenv("SNOWFLAKE_PASSWORD", "envpw")
	t.Setenv("SNOWFLAKE_WAREHOUSE", "envwh")
	t.Setenv("SNOWFLAKE_DATABASE", "envdb")
	t.Setenv("SNOWFLAKE_SCHEMA", "envsch")
	t.Setenv("SNOWFLAKE_ROLE", "envrole")
	cfg, err := snowflake.ParseConfig("snowflake://")
	if err != nil {
		t.Fatal(err)
	}
	got := [...]string{cfg.Account, cfg.User, cfg.Password, cfg.Warehouse, cfg.Database, cfg.Schema, cfg.Role}
	want := [...]string{"envacct", "envuser", "envpw", "envwh", "envdb", "envsch", "envrole"}
	if got != want {
		t.Errorf("all from env: got %v, want %v", got, want)
	}
	// The DSN wins over the environment.
	cfg, err = snowflake.ParseConfig("snowflake://me:mine@myacct/mydb?warehouse=mywh")
	if err != nil {
		t.Fatal(err)
	}
	got = [...]string{cfg.Account, cfg.User, cfg.Password, cfg.Warehouse, cfg.Database, cfg.Schema, cfg.Role}
	want = [...]string{"myacct", "me", "mine", "mywh", "mydb", "envsch", "envrole"}
	if got != want {
		t.Errorf("DSN over env: got %v, want %v", got, want)
	}
}

func TestParseConfigConnectionsToml(t *testing.T) {
	clearEnv(t)
	home := t.TempDir()
	t.Setenv(snowflake.EnvHome, home)
	t.Setenv("SNOWFLAKE_ROLE", "envrole")
	writeFile(t, filepath.Join(home, "connections.toml"), `
[default]
account = "defacct"
user = "defuser"
password = "defpw"

[local]
host = "127.0.0.1"
port = 9999
protocol = "http"
account = "emulator"
user = "loc"
password = "locpw"
database = "ldb"
schema = "lsch"
warehouse = "lwh"
login_timeout = 7
`)
	cfg, err := snowflake.ParseConfig("snowflake://?connection=local")
	if err != nil {
		t.Fatal(err)
	}
	got := [...]any{cfg.Host, cfg.Port, cfg.Protocol, cfg.Account, cfg.User, cfg.Password, cfg.Database, cfg.Schema, cfg.Warehouse, cfg.Role, cfg.LoginTimeout}
	want := [...]any{"127.0.0.1", 9999, "http", "emulator", "loc", "locpw", "ldb", "lsch", "lwh", "envrole", 7 * time.Second}
	if got != want {
		t.Errorf("connection local:\n got %v\nwant %v", got, want)
	}
	// No name: $SNOWFLAKE_DEFAULT_CONNECTION_NAME, else "default".
	cfg, err = snowflake.ParseConfig("snowflake://?connection=")
	if err != nil || cfg.Account != "defacct" || cfg.User != "defuser" {
		t.Errorf("default connection: %+v, %v", cfg, err)
	}
	t.Setenv(snowflake.EnvDefaultConnection, "local")
	if cfg, err = snowflake.ParseConfig("snowflake://?connection="); err != nil || cfg.User != "loc" {
		t.Errorf("connection named by %s: user %q, %v", snowflake.EnvDefaultConnection, cfg.User, err)
	}
	// The DSN wins over the file.
	if cfg, err = snowflake.ParseConfig("snowflake://other:pw@?connection=local&warehouse=W2"); err != nil || cfg.User != "other" || cfg.Warehouse != "W2" || cfg.Port != 9999 {
		t.Errorf("DSN over connections.toml: %+v, %v", cfg, err)
	}
	_, err = snowflake.ParseConfig("snowflake://?connection=nosuch")
	if err == nil || !strings.Contains(err.Error(), "connections.toml has no connection [nosuch]") {
		t.Errorf("missing connection: %v", err)
	}
	writeFile(t, filepath.Join(home, "connections.toml"), "[x]\npassword = \"leakme\nuser=1")
	_, err = snowflake.ParseConfig("snowflake://?connection=x")
	if err == nil || !strings.Contains(err.Error(), "connections.toml:") || strings.Contains(err.Error(), "leakme") {
		t.Errorf("malformed connections.toml: %v", err)
	}
}

func TestParseConfigErrorsRedacted(t *testing.T) {
	clearEnv(t)
	for _, dsn := range []string{
		"snowflake://alice:hunter2@127.0.0.1:notaport/db?account=a",
		"snowflake://alice:hunter2@/db",
		"snowflake://alice:hunter2@acct/db?authenticator=NOPE",
		"postgres://alice:hunter2@host/db",
	} {
		_, err := snowflake.ParseConfig(dsn)
		if err == nil {
			t.Errorf("ParseConfig(%q) succeeded, want an error", dsn)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseConfig(%q) error shows the password: %v", dsn, err)
		}
	}
}

func TestRegistered(t *testing.T) {
	clearEnv(t)
	name, c, err := driver.Open("", "snowflake://u:p@acct/db/s?warehouse=wh")
	if err != nil || name != snowflake.Name {
		t.Fatalf("driver.Open: %q, %v", name, err)
	}
	defer c.Close()
	if os.Getenv(snowflake.EnvDisablePlatformDetection) != "true" {
		t.Errorf("%s = %q after OpenConnector, want true", snowflake.EnvDisablePlatformDetection, os.Getenv(snowflake.EnvDisablePlatformDetection))
	}
	s := c.(driver.Describer).Settings()
	for k, want := range map[string]string{"account": "acct", "user": "u", "database": "db", "schema": "s", "warehouse": "wh",
		"USE_CACHED_RESULT": "false", "driver_version": "gosnowflake " + gosnowflake.SnowflakeGoDriverVersion} {
		if s[k] != want {
			t.Errorf("Settings[%s] = %q, want %q", k, s[k], want)
		}
	}
	for k, v := range s {
		if strings.Contains(v, "p@") || v == "p" {
			t.Errorf("Settings[%s] = %q looks like the password", k, v)
		}
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReadPrivateKey(t *testing.T) {
	clearEnv(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.p8")
	writeFile(t, plain, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	const pass = "correct horse"
	encrypted := map[string]*pkcs8.Opts{
		"aes256.p8": {Cipher: pkcs8.AES256CBC, KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: 2048, HMACHash: 5 /* crypto.SHA256 */}},
		"des3.p8":   {Cipher: pkcs8.TripleDESCBC, KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 8, IterationCount: 2048, HMACHash: 3 /* crypto.SHA1 */}},
	}
	for name, opts := range encrypted {
		der, err := pkcs8.MarshalPrivateKey(key, []byte(pass), opts)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name), string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der})))
	}
	for _, tc := range []struct{ file, pass string }{{plain, ""}, {filepath.Join(dir, "aes256.p8"), pass}, {filepath.Join(dir, "des3.p8"), pass}} {
		got, err := snowflake.ReadPrivateKey(tc.file, tc.pass)
		if err != nil {
			t.Errorf("ReadPrivateKey(%s): %v", tc.file, err)
			continue
		}
		if !got.Equal(key) {
			t.Errorf("ReadPrivateKey(%s) returned another key", tc.file)
		}
	}

	// Through the DSN: the key selects JWT authentication, no password needed.
	t.Setenv(snowflake.EnvPassphrase, pass)
	cfg, err := snowflake.ParseConfig("snowflake://u@acct/db?private_key_file=" + filepath.Join(dir, "aes256.p8"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Authenticator != gosnowflake.AuthTypeJwt || cfg.PrivateKey == nil || !cfg.PrivateKey.Equal(key) {
		t.Errorf("private_key_file: authenticator %v, key set %v", cfg.Authenticator, cfg.PrivateKey != nil)
	}
	if _, ok := cfg.Params["private_key_file"]; ok {
		t.Error("private_key_file reached gosnowflake's session parameters")
	}

	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	bad := []struct{ name, content, pass, want string }{
		{"garbage.p8", "not a key at all", "", "no PEM block"},
		{"truncated.p8", pemText[:len(pemText)/2], "", "no PEM block"},
		{"corrupt.p8", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der[:100]})), "", "not a valid PKCS#8"},
		{"pkcs1.p8", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})), "", "PKCS#1"},
		{"aes256.p8", "", "", "the key is encrypted: set PRIVATE_KEY_PASSPHRASE"},
		{"aes256.p8", "", "wrong passphrase", "cannot decrypt"},
		{"missing.p8", "", "", "cannot read"},
	}
	for _, tc := range bad {
		path := filepath.Join(dir, tc.name)
		if tc.content != "" {
			writeFile(t, path, tc.content)
		}
		_, err := snowflake.ReadPrivateKey(path, tc.pass)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := err.Error()
		if !errors.Is(err, snowflake.ErrPrivateKey) || !strings.Contains(msg, path) || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error %q: want one naming the file and saying %q", tc.name, msg, tc.want)
		}
		if tc.pass != "" && strings.Contains(msg, tc.pass) || strings.Contains(msg, "MII") {
			t.Errorf("%s: error shows a secret: %q", tc.name, msg)
		}
	}
	// Through ParseConfig, the error names the file too.
	t.Setenv(snowflake.EnvPassphrase, "wrong passphrase")
	_, err = snowflake.ParseConfig("snowflake://u@acct/db?private_key_file=" + filepath.Join(dir, "aes256.p8"))
	if err == nil || !strings.Contains(err.Error(), "aes256.p8") || strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("ParseConfig with a wrong passphrase: %v", err)
	}
}

func TestQueryTag(t *testing.T) {
	l := driver.Label{Run: "20260101-000000-abcdef", Worker: "worker-3", Operation: "point_lookup", Phase: core.PhaseMeasurement}
	if got, want := snowflake.QueryTag(l), "unistore:run=20260101-000000-abcdef:worker=worker-3:phase=MEASUREMENT:op=point_lookup"; got != want {
		t.Errorf("QueryTag = %q, want %q", got, want)
	}
	l.Operation = strings.Repeat("é", 1500) // 3000 bytes
	got := snowflake.QueryTag(l)
	if len(got) > snowflake.MaxQueryTagLen || len(got) < snowflake.MaxQueryTagLen-1 {
		t.Errorf("long tag is %d bytes, want %d (or one less at a rune boundary)", len(got), snowflake.MaxQueryTagLen)
	}
	if !strings.HasPrefix(got, "unistore:run=20260101-000000-abcdef:worker=worker-3:phase=MEASUREMENT:op=éé") || !isUTF8(got) {
		t.Errorf("long tag cut badly: %q…", got[:80])
	}
}

func isUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestQuotaWarning(t *testing.T) {
	cases := []struct {
		rate                 float64
		workers, connections int
		warn                 bool
	}{
		{1000, 4, 0, false},
		{3000, 3, 0, true},
		{0, 1, 40, false},
		{0, 2, 32, true},
		{0, 1, 100, true},
	}
	for _, tc := range cases {
		got := snowflake.QuotaWarning(tc.rate, tc.workers, tc.connections)
		if (got != "") != tc.warn {
			t.Errorf("QuotaWarning(%v, %d, %d) = %q, want warning %v", tc.rate, tc.workers, tc.connections, got, tc.warn)
		}
	}
}

func TestClassify(t *testing.T) {
	se := func(n int, state string) error {
		return &gosnowflake.SnowflakeError{Number: n, SQLState: state, Message: "m"}
	}
	cases := []struct {
		err   error
		class core.ErrorClass
		code  string
	}{
		{se(2003, "42S02"), core.ErrSyntax, "002003"},
		{se(1003, "42000"), core.ErrSyntax, "001003"},
		{se(100072, "22000"), core.ErrConstraint, "100072"},
		{se(200001, "23505"), core.ErrConstraint, "200001"},
		{se(100038, "22018"), core.ErrData, "100038"},
		{se(604, "57014"), core.ErrTimeout, "000604"},
		{se(630, ""), core.ErrTimeout, "000630"},
		{se(390100, "08004"), core.ErrConnection, "390100"},
		{se(390112, ""), core.ErrConnection, "390112"},
		{se(gosnowflake.ErrCodeFailedToConnect, ""), core.ErrConnection, "260008"},
		{&gosnowflake.SnowflakeError{Number: gosnowflake.ErrFailedToPostQuery, SQLState: "08006", MessageArgs: []any{429, "u"}}, core.ErrThrottled, "HTTP 429"},
		{&gosnowflake.SnowflakeError{Number: gosnowflake.ErrFailedToPostQuery, SQLState: "08006", MessageArgs: []any{503, "u"}}, core.ErrThrottled, "HTTP 503"},
		{&gosnowflake.SnowflakeError{Number: gosnowflake.ErrFailedToPostQuery, SQLState: "08006", MessageArgs: []any{500, "u"}}, core.ErrConnection, "HTTP 500"},
		{errors.New("timeout after 0s and 1 attempts. HTTP Status: 429. Hanging?"), core.ErrThrottled, "HTTP 429"},
		{errors.New("timeout after 0s and 1 attempts. HTTP Status: 502. Hanging?"), core.ErrConnection, "HTTP 502"},
		{&gosnowflake.SnowflakeError{Number: 1234, SQLState: "P0000", Message: "Request throttled: hybrid table quota"}, core.ErrThrottled, "001234"},
		{errors.New("plain"), core.ErrOther, ""},
		{nil, core.ErrNone, ""},
	}
	for _, tc := range cases {
		class, code := snowflake.Classify(tc.err)
		if class != tc.class || code != tc.code {
			t.Errorf("Classify(%v) = %v, %q; want %v, %q", tc.err, class, code, tc.class, tc.code)
		}
	}
}

// TestAdvise: the connector's advice is QuotaWarning's, as a list.
func TestAdvise(t *testing.T) {
	c, err := snowflake.NewConnector("u:p@127.0.0.1:1/DB/S?account=a&protocol=http")
	if err != nil {
		t.Fatal(err)
	}
	a, ok := any(c).(driver.Advisor)
	if !ok {
		t.Fatal("the Snowflake connector is not a driver.Advisor")
	}
	if got := a.Advise(driver.Plan{Workers: 1, Connections: 4}); len(got) != 0 {
		t.Errorf("4 connections: %q, want no warning", got)
	}
	if got := a.Advise(driver.Plan{Workers: 3, Rate: 3000}); len(got) != 1 || !strings.Contains(got[0], "9000 ops/s") {
		t.Errorf("3 workers at 3000/s: %q, want one warning naming 9000 ops/s", got)
	}
}
