// Package emulator is a Snowflake REST endpoint over embedded SQLite
// (modernc.org/sqlite, pure Go) that the real gosnowflake driver (v1.19.1)
// talks to with protocol=http. Tests, CI and users without an account run
// the Snowflake path against it; `unistore emulate snowflake` calls Main.
//
//	s, err := emulator.Start(emulator.Config{Init: []string{"examples/hybrid-setup.sql"}}, "127.0.0.1:0")
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//	db, err := sql.Open("snowflake", s.DSN("user", "password", "APP", "PUBLIC"))
//
// # Protocol (checked against gosnowflake v1.19.1's restful.go, auth.go, connection.go)
//
//   - POST /session/v1/login-request: password (AUTHENTICATOR "" or
//     SNOWFLAKE) and key-pair (SNOWFLAKE_JWT: RS256 signature verified with
//     User.PublicKey; iss must be ACCOUNT.USER.SHA256:<base64 sha256 of the
//     PKIX key>, sub ACCOUNT.USER, ACCOUNT the login's account without
//     region; exp in the future). A wrong password is 390100 "Incorrect
//     username or password was specified.", a bad JWT 390144 "JWT token is
//     invalid.", both HTTP 200 with success:false as Snowflake answers. The
//     query string's databaseName, schemaName, warehouse and roleName are
//     honoured; SESSION_PARAMETERS (USE_CACHED_RESULT, QUERY_TAG, …) are
//     stored per session and readable with SHOW PARAMETERS. Other
//     authenticators are refused.
//   - POST /queries/v1/query-request: sqlText, positional bindings ("1",
//     "2", … with FIXED/REAL/TEXT/BOOLEAN/TIMESTAMP_*/DATE/TIME/BINARY
//     values as gosnowflake encodes them), array bindings (the statement
//     runs once per element, row counts summed), describeOnly (compiled, not
//     run: rowtype and numberOfBinds), parameters.QUERY_TAG (what
//     gosnowflake.WithQueryTag sends; the session's QUERY_TAG otherwise).
//     Answers are inline JSON: rowtype (lower-case Snowflake types fixed,
//     real, text, boolean, timestamp_ntz/ltz/tz, date, time, variant,
//     object, array, binary with precision/scale/length), rowset of strings
//     in Snowflake's JSON encodings (booleans "1"/"0", timestamps
//     "seconds.nanoseconds", dates as days, binary as hex),
//     queryResultFormat "json", statementTypeId (SELECT 0x1000, INSERT
//     0x3100, UPDATE 0x3200, DELETE 0x3300, ALTER SESSION 0x4100, USE
//     0x4300, SHOW 0x4400, BEGIN/COMMIT 0x5000, DDL 0x6000) and the DML
//     row-count columns the driver sums for RowsAffected ("number of rows
//     inserted", "number of rows updated" + "number of multi-joined rows
//     updated", "number of rows deleted"). Several statements in one
//     request are refused with 000008, as without MULTI_STATEMENT_COUNT.
//   - POST /queries/v1/abort-request {requestId}: cancels that in-flight
//     request of the session (SQLite is interrupted; a HangUntilAbort
//     request is released) and the request answers 000604 "SQL execution
//     canceled"; a request not executing answers 000605, which gosnowflake
//     retries five times and then takes as done.
//   - POST /session/token-request (master token, requestType RENEW): a new
//     session token; the old one answers 390112 from then on.
//   - POST /session?delete=true ends the session; its tokens answer 390112
//     and a renewal with its master token 390114.
//   - POST /telemetry/send and /session/heartbeat are accepted and counted.
//   - A request with no known token answers 390104 "User must login again
//     to access the service."; with a token that was valid once, 390112.
//
// # Errors
//
// SQLite errors map onto Snowflake's: a missing table is 002003/42S02
// "SQL compilation error:\nObject 'X' does not exist or not authorized.",
// a missing column 000904/42000 "invalid identifier 'X'", a missing
// database 002003, a syntax error 001003, an existing object 002002, a
// NOT NULL violation 100072, an unknown function 002140. A duplicate
// primary or unique key is 200001/22000 "Duplicate key value violates
// unique constraint "SYS_INDEX_T_PRIMARY"" — the hybrid-table error (our
// choice of code and wording from Snowflake's hybrid-table messages; a
// standard Snowflake table enforces no keys). A DDL statement from a
// User.ReadWrite user is 003001/42501 "SQL access control error:
// Insufficient privileges to operate on …". Anything else is 000603
// "SQL execution internal error" carrying SQLite's message.
//
// # Faults
//
// Inject queues faults on query-requests (Match: a substring of the SQL;
// Count 0 = until ClearFaults). What gosnowflake v1.19.1 does with each:
//
//   - Latency: the statement runs after the delay; the client just waits.
//   - HTTPError (5xx) and Throttle (429): the driver retries both (retry.go
//     treats 5xx, 429 and 408 alike) with a jittered backoff of 1–3 s at
//     first, capped at 16 s, resending the same requestId with retryCount
//     and retryReason in the URL (Request.Retry records it). A fault with
//     Count 1 is invisible to the caller except for the delay; a lasting one
//     fails after maxRetryCount retries (default 7) with "timeout after … and
//     N attempts. HTTP Status: 503. Hanging?" — a plain error, not a
//     SnowflakeError. The statement is not run on a faulted attempt.
//   - ExpireSession: the session token is retired and the request answers
//     390112; the driver renews (/session/token-request) and resends the
//     query, which then runs. The caller sees success; Stats.Renewals counts.
//   - HangUntilAbort: the request waits for abort-request (or Close). A
//     cancelled context makes the driver drop the HTTP request, send
//     abort-request and return context.Canceled at once.
//
// # SQL: Snowflake dialect on SQLite
//
// A small tokenizer (literals, quoted identifiers, $$…$$, comments) lets
// the emulator rewrite what our schema and examples use, outside literals:
// CREATE [OR REPLACE] [HYBRID|TRANSIENT|TEMPORARY] TABLE [IF NOT EXISTS]
// (a TEMPORARY table, unqualified, lives in its session's SQLite temp
// schema: seen by that session only, gone with it) with INDEX name (cols)
// turned into CREATE INDEX (named TABLE$INDEX) and
// table options dropped; CREATE TABLE … AS SELECT; column types kept as
// declared so the rowtype follows them (NUMBER(p,s), VARCHAR(n), INT,
// FLOAT, BOOLEAN, TIMESTAMP_*, DATE, TIME, BINARY), except STRING →
// VARCHAR and VARIANT/OBJECT/ARRAY → VARIANT_TEXT etc. so SQLite gives them
// text affinity; AUTOINCREMENT/IDENTITY, COMMENT and COLLATE clauses
// dropped; ALTER TABLE … ADD [COLUMN] [IF NOT EXISTS]; TRUNCATE →
// DELETE; CREATE/DROP DATABASE/SCHEMA [IF [NOT] EXISTS] (CREATE makes
// it current, as Snowflake does); USE [DATABASE|SCHEMA|WAREHOUSE|ROLE];
// ALTER SESSION SET/UNSET (recorded); EXECUTE JOB SERVICE IN COMPUTE
// POOL … FROM SPECIFICATION $$…$$ [NAME =] [ASYNC =] [REPLICAS =] (its
// parameters in Snowflake's order; recorded, nothing runs: JobServices),
// DESCRIBE SERVICE (status RUNNING until SetJobServiceStatus changes it),
// SHOW SERVICE INSTANCES IN SERVICE (a row per replica, its status set by
// SetJobServiceInstanceStatus or following the service's) and DROP
// SERVICE [IF EXISTS] (services.go); SHOW WAREHOUSES (one row: the
// session's warehouse, STARTED, STANDARD, X-Small, min/max_cluster_count
// 1, columns named as Snowflake names them); SHOW PARAMETERS;
// CURRENT_TIMESTAMP()/SYSDATE()/CURRENT_DATE(); CURRENT_DATABASE(),
// CURRENT_SCHEMA(), CURRENT_WAREHOUSE(), CURRENT_ROLE(), CURRENT_USER(),
// CURRENT_ACCOUNT(), CURRENT_REGION(), CURRENT_SESSION(),
// CURRENT_VERSION() (literals, named like Snowflake's columns in a SELECT
// list); IFF, NVL, LEN, CHARINDEX, ILIKE; LIMIT NULL (no limit, before an
// OFFSET: SQLite's LIMIT -1); PARSE_JSON/TO_VARIANT (identity:
// VARIANT is JSON text); and INSERT … SELECT SEQ4(), UNIFORM(lo, hi,
// RANDOM()), RANDSTR(n, RANDOM()) FROM TABLE(GENERATOR(ROWCOUNT => n))
// (a recursive CTE; UNIFORM and RANDSTR are SQLite functions registered
// process-wide under those names). GRANT, REVOKE, COMMENT and CREATE/ALTER
// WAREHOUSE/ROLE/USER are accepted and do nothing. BEGIN/COMMIT/ROLLBACK
// pass to SQLite. Result column names are upper-cased unless written
// quoted, as Snowflake folds unquoted identifiers.
//
// MERGE INTO t [[AS] a] USING (subquery)|table [[AS] b] ON cond, with at
// most one WHEN MATCHED [AND c] THEN UPDATE SET … and at most one WHEN NOT
// MATCHED [AND c] THEN INSERT [(cols)] VALUES (…) — the upsert form, which
// the Snowflake results store sends for heartbeats and templates and the
// store schema for its version row — becomes an UPDATE … FROM and then an
// INSERT … SELECT … WHERE NOT EXISTS, in one SAVEPOINT (atomic), each "?"
// keeping its position in both (renumbered ?N). The answer is a MERGE's
// (statementTypeId 0x3400, "number of rows inserted"/"updated" columns,
// summed by gosnowflake into RowsAffected). The UPDATE runs first, so the
// result is Snowflake's as long as it does not change the ON columns (an
// upsert's key never changes). WHEN MATCHED THEN DELETE and several
// clauses of one kind answer 000002 (unsupported feature).
//
// # ACCOUNT_USAGE
//
// A statement naming ACCOUNT_USAGE first (re)builds two tables of
// database SNOWFLAKE, schema ACCOUNT_USAGE, from the request log:
// AGGREGATE_QUERY_HISTORY — executed query-requests by minute, query tag,
// statement text, user and warehouse: CALLS, TOTAL_ELAPSED_TIME and
// EXECUTION_TIME as Snowflake's time objects ({"sum", "avg", "stddev",
// "min", "median", "p90", "p99", "p99.9", "max"} in ms, JSON text: the
// emulator's VARIANT) from each statement's time in the emulator,
// COMPILATION_TIME and QUEUED_OVERLOAD_TIME zero, and
// HYBRID_TABLE_REQUESTS_THROTTLED_COUNT the requests a Throttle fault
// answered 429 — and WAREHOUSE_METERING_HISTORY — per warehouse and hour,
// the CREDITS_USED of an X-Small cluster running from the hour's first
// statement to its last (60 s minimum). Config.AccountUsageLag (and
// SetAccountUsageLag) hides the buckets that ended less than that long
// ago, as Snowflake's views lag, so PENDING is testable. Only the columns
// unistore reads are there; the log's size bounds what they cover
// (Config.LogLimit).
//
// # Databases and schemas
//
// Each DATABASE.SCHEMA is its own SQLite file, DIR/DB.SCHEMA.sqlite
// (Config.DB "sqlite://DIR"; names escaped so '.' never appears inside a
// part). Each session has its own SQLite connection (WAL, busy_timeout
// 10 s) whose main database is its current DB.SCHEMA; USE reopens it.
// DB.SCHEMA.T (DB an existing database) and SCHEMA.T (SCHEMA an existing
// schema of the current database) are rewritten to ATTACHed names, so one
// emulator serves a target database and a results store apart. A login's
// database and schema are created if missing (Snowflake would refuse an
// unknown one only with validateDefaultParameters; here they simply start
// empty). A session's statements run one at a time; sessions run in
// parallel.
//
// Writers of one DB.SCHEMA take turns: SQLite locks the whole file for
// writing where Snowflake locks rows of a hybrid table and lets INSERTs
// run side by side. So a transaction left open after a write (its client
// killed between INSERT and COMMIT) would stop every other writer of that
// schema for good; Snowflake aborts such a detached transaction once it
// has blocked another for 5 minutes. The emulator rolls back any explicit
// transaction idle for Config.IdleTxAbort (5 s by default); the session's
// statements then fail with 000625 until its COMMIT (which fails too) or
// ROLLBACK.
//
// # Secrets
//
// The request log (Requests) and Logf never hold passwords, session or
// master tokens, JWTs or keys: SQL text, query tag, bind values, user,
// session id, HTTP status and Snowflake code only. Passwords are compared
// in constant time. The server listens only on the address given and makes
// no outbound connection.
//
// # Shortcuts (what is not emulated)
//
//   - Results are always inline JSON: no Arrow, no result chunks, no
//     asynchronous queries (gosnowflake.WithAsyncMode is not supported:
//     asyncExec is ignored and the answer is synchronous), no query-status
//     or result-by-id endpoints, no 333333 "in progress" ping-pong.
//   - Describe-only SELECT infers types from declared columns; an
//     expression column with no rows to look at is described as text.
//     Describe-only DML is validated with SQLite's EXPLAIN.
//   - Expression types come from SQLite values (integer → fixed(38,0),
//     real → real, text → text); NUMBER precision is not enforced; VARCHAR
//     lengths are not enforced; VARIANT paths (v:a.b), :: casts, FLATTEN,
//     QUALIFY, stored procedures, stages, PUT/GET and multi-statement
//     requests are not translated; MERGE only as above.
//   - GENERATOR supports ROWCOUNT only; UNIFORM and RANDOM ignore their
//     generator/seed argument.
//   - Session tokens never expire on their own (validity 3600 s is
//     advertised); expiry happens only through the ExpireSession fault.
//   - OAuth logins (AUTHENTICATOR OAUTH, a Snowpark Container Services
//     container's) take any non-empty token, or one of Config.OAuthTokens,
//     as user OAuthUser; a refused token is 390303. No PAT, SAML, MFA or
//     external-browser logins; any account name
//     is accepted; roles are labels, not privileges (only ReadWrite
//     restricts). No result cache, no warehouses to suspend, no
//     QUERY_HISTORY (ACCOUNT_USAGE has the two views above only).
//   - DROP DATABASE/SCHEMA drops the namespace's tables; the file stays.
//   - Statement type ids other than SELECT and DML follow the JDBC driver's
//     SFStatementType values as far as known; gosnowflake only distinguishes
//     SELECT, DML and multi-statement.
package emulator
