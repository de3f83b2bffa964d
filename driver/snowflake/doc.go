// Package snowflake is the unistore driver for Snowflake (Hybrid Tables
// first), on github.com/snowflakedb/gosnowflake v1.19. Importing it
// registers the driver "snowflake" for snowflake:// DSNs.
//
//	import _ "github.com/unistore-bench/unistore/driver/snowflake"
//
//	unistore run hybrid-mix.yaml --target 'snowflake://USER@ACCOUNT/DB/PUBLIC?warehouse=WH&private_key_file=rsa_key.p8'
//
// # DSNs
//
// After "snowflake://" comes gosnowflake's own DSN,
// USER[:PASSWORD]@ACCOUNT/DB/SCHEMA?warehouse=WH&role=R, or
// USER:PASSWORD@HOST:PORT/DB/SCHEMA?account=ACCT&protocol=http for a local
// endpoint such as unistore's emulator; every gosnowflake parameter passes
// through, and unknown parameters are session parameters, as in
// gosnowflake. ParseConfig reads it (pgx style: parse, then adjust, then
// NewConnectorConfig builds the connector). Two parameters are unistore's
// and never reach gosnowflake:
//
//   - connection=NAME reads [NAME] from connections.toml in $SNOWFLAKE_HOME
//     (default ~/.snowflake); an empty NAME means
//     $SNOWFLAKE_DEFAULT_CONNECTION_NAME, else "default". Keys are the
//     Snowflake CLI's (account, user, password, host, port, protocol,
//     database, schema, warehouse, role, authenticator, private_key_file,
//     private_key_file_pwd, token, timeouts…); others pass through as
//     session parameters. gosnowflake's own loader is not used: it is
//     reachable only through OpenConnector("autoConfig"), which returns a
//     connector whose Config cannot be adjusted and reads the name from the
//     environment only.
//   - private_key_file=PATH selects key-pair (JWT) authentication with a PEM
//     PKCS#8 key, encrypted ("ENCRYPTED PRIVATE KEY", PBES2, decrypted with
//     github.com/youmark/pkcs8 using $PRIVATE_KEY_PASSPHRASE) or not.
//     gosnowflake v1.19 reads only unencrypted DER, so ReadPrivateKey parses
//     the file and hands the *rsa.PrivateKey to Config.PrivateKey. A bad
//     file is one error naming the file (KeyError, matched by
//     ErrPrivateKey), never the key or the passphrase.
//
// What the DSN leaves out, connections.toml fills, and then the generic
// SNOWFLAKE_ACCOUNT, _USER, _PASSWORD, _WAREHOUSE, _DATABASE, _SCHEMA and
// _ROLE variables (the Snowflake CLI's order: explicit, then the named
// connection, then the generic environment).
//
// # Defaults unistore changes
//
// Unless the DSN sets them:
//
//   - USE_CACHED_RESULT=false and CLIENT_SESSION_KEEP_ALIVE=true are login
//     session parameters (Config.Params, no extra round trip): a
//     standard-table read must not measure the result cache, and a session
//     held for a run longer than the 4-hour master-token life stays valid.
//   - disableTelemetry=true: no telemetry requests in the measured path.
//   - maxRetryCount=-1: gosnowflake retries a failed HTTP request (any 5xx,
//     429, 408, a failed connection) up to 7 times after sleeping 1–16 s, so
//     an overload would show as a few slow successes. With retries off
//     (gosnowflake retries while attempts ≤ maxRetryCount, and 0 would mean
//     its default) each failure is one counted error. Set maxRetryCount=7
//     for the driver's own behavior.
//   - loginTimeout=60 (seconds) bounds login retries; Connect without a
//     deadline gets DefaultConnectTimeout.
//
// Session token expiry (390112) is renewed by gosnowflake itself, which
// then re-sends the statement; a loop never sees it.
//
// # Sessions
//
// A Connector holds no pool. Each Connect logs in one session through its
// own gosnowflake connector built from a copy of the Config (with its own
// session-parameter map: gosnowflake writes server parameters back into
// the map, under a process-wide lock, so sessions sharing it would share
// state) and returns a Conn that uses the gosnowflake connection at the
// database/sql/driver level (ExecerContext, QueryerContext): no
// database/sql pool, no per-statement checkout, never a login per query.
// Logins are independent and run in parallel (the worker opens up to 16 at
// a time). The first Connect also reads SHOW WAREHOUSES LIKE '<wh>' for
// Settings (size, type, cluster counts, scaling policy); Settings has no
// context, and the run's preflight connects before Settings is read.
//
// Prepare compiles the statement with gosnowflake.WithDescribeOnly (no
// execution): a missing table is "002003 (42S02): SQL compilation error:
// Object 'T' does not exist or not authorized" before load. The server's
// numberOfBinds is not readable through gosnowflake's API (NumInput returns
// -1; the response field is unexported, and reading it from the HTTP
// response would mean replacing gosnowflake's transport, which carries its
// OCSP/CRL checks), so Exec checks arguments against the "?" count that
// core.CountPlaceholders finds.
//
// Exec binds integers, text, booleans and times (UTC, TIMESTAMP_NTZ) as
// themselves and floats as text at full precision: gosnowflake formats a
// float64 bind at float32 precision. Statements whose first keyword is
// SELECT, WITH, SHOW, DESCRIBE, VALUES, LIST or EXPLAIN run as queries and
// count their rows; others report rows affected.
//
// Cancel: cancelling the context of a running Exec makes gosnowflake send
// abort-request for the statement (restful.go, postRestfulQuery), so no
// Canceler is needed.
//
// Query tags: Conn implements driver.Labeler. Label returns a context
// carrying gosnowflake.WithQueryTag(QueryTag(l)), which gosnowflake puts
// in each query request's parameters: no ALTER SESSION round trip. The tag
// is "unistore:run=<run>:worker=<worker>:phase=<WARMUP|MEASUREMENT>:op=<op>",
// at most 2,000 bytes.
//
// # Network and process state
//
// gosnowflake probes cloud metadata addresses (platform detection, at the
// first connect) unless SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true, and at
// init starts loading its "minicore", a native library it writes to a
// temporary directory and dlopens, unless SF_DISABLE_MINICORE=true.
//
//   - The first NewConnectorConfig (so OpenConnector, before any connect)
//     sets SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true unless it is set.
//   - SF_DISABLE_MINICORE must be set before gosnowflake's init, which a
//     Setenv in this package cannot do. The internal package sfenv, which
//     this package imports and which imports only os, sets it in its init
//     unless it is set. The Go specification initializes packages in
//     import-path order, repeatedly picking the first package whose imports
//     are all initialized. sfenv is ready as soon as os is; gosnowflake only
//     once net/http, golang.org/x/… and others are, and those sort after
//     github.com/unistore-bench/…, so sfenv's init always runs first:
//     GODEBUG=inittrace=1 shows it (TestMinicoreInitOrder checks it, and
//     that the login reports the minicore disabled).
//   - gosnowflake's logger is set to "fatal" once (a failed query is
//     counted by the loop, not logged 10,000 times); a DSN's tracing=
//     parameter still sets the level.
//
// These are process-wide, as gosnowflake's own state is.
//
// # Errors
//
// Classify maps gosnowflake's *SnowflakeError numbers and SQLSTATEs and
// HTTP failures onto core error classes; throttling (HTTP 429 and 503,
// hybrid-table request throttling) is core.ErrThrottled. QuotaWarning
// estimates, before load, whether a plan is likely to exceed the
// hybrid-table request quota (about 8,000 operations/s per database).
//
// For a run's cost and server figures (history.go) connections implement
// driver.WarehouseSampler (SHOW WAREHOUSES LIKE the DSN's warehouse:
// size, started_clusters, max_cluster_count, auto_suspend; tag
// "unistore:cost") and driver.ServerHistory: QueryHistory reads
// SNOWFLAKE.ACCOUNT_USAGE.AGGREGATE_QUERY_HISTORY by query-tag prefix
// (the run's "unistore:run=ID:"), reading the time objects whole and
// parsing them here — no VARIANT paths, which the emulator lacks — and
// MeteredCredits sums WAREHOUSE_METERING_HISTORY.CREDITS_USED of the
// hours a run overlapped, with the newest hour the view holds (a view
// that has not reached the run's end is PENDING, not zero). No time
// literal is bound: the tag selects the run, times are compared here.
package snowflake
