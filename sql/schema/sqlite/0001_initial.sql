-- unistore results and config store, SQLite dialect, schema version 1.
-- Rerunnable: every statement is IF NOT EXISTS or a no-op when already applied.
-- Applied by `unistore schema apply --store sqlite://PATH`, never at run time.
-- SQLite has no schemas: the results and config tables share one file.
-- Times are TEXT in UTC, fixed width "2006-01-02T15:04:05.000000Z" (sorts
-- as it reads); JSON is TEXT; booleans are INTEGER 0/1; histograms are the
-- HdrHistogram V2 compressed encoding, base64 text.

CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER NOT NULL PRIMARY KEY,
    applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE IF NOT EXISTS run_status (
    run_id          TEXT    NOT NULL PRIMARY KEY,
    name            TEXT    NOT NULL,
    template        TEXT,
    spec            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    phase           TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    started_at      TEXT,
    warmup_ended_at TEXT,
    ended_at        TEXT,
    workers_target  INTEGER NOT NULL DEFAULT 0,
    workers_live    INTEGER NOT NULL DEFAULT 0,
    workers_lost    INTEGER NOT NULL DEFAULT 0,
    outcome         TEXT,
    summary         TEXT,
    rows_dropped    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS run_status_created_at_idx ON run_status (created_at);

CREATE TABLE IF NOT EXISTS run_control_events (
    run_id     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    payload    TEXT,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE IF NOT EXISTS worker_heartbeats (
    run_id       TEXT    NOT NULL,
    worker_id    TEXT    NOT NULL,
    worker_group INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    phase        TEXT    NOT NULL,
    last_seen    TEXT    NOT NULL,
    connections  INTEGER NOT NULL DEFAULT 0,
    host         TEXT,
    pid          INTEGER,
    rows_dropped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, worker_id)
);

CREATE TABLE IF NOT EXISTS worker_metrics_snapshots (
    run_id             TEXT    NOT NULL,
    worker_id          TEXT    NOT NULL,
    worker_group       INTEGER NOT NULL,
    interval_start     TEXT    NOT NULL,
    interval_end       TEXT    NOT NULL,
    phase              TEXT    NOT NULL,
    operation          TEXT    NOT NULL,
    op_count           INTEGER NOT NULL,
    error_count        INTEGER NOT NULL,
    errors_by_class    TEXT,
    histogram          TEXT    NOT NULL,
    response_histogram TEXT,
    error_histogram    TEXT,
    open_intended      INTEGER NOT NULL DEFAULT 0,
    open_started       INTEGER NOT NULL DEFAULT 0,
    open_late          INTEGER NOT NULL DEFAULT 0,
    open_skipped       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS worker_metrics_snapshots_run_idx
    ON worker_metrics_snapshots (run_id, interval_start);

CREATE TABLE IF NOT EXISTS query_executions (
    run_id        TEXT    NOT NULL,
    worker_id     TEXT    NOT NULL,
    worker_group  INTEGER NOT NULL,
    connection_id INTEGER NOT NULL,
    operation     TEXT    NOT NULL,
    phase         TEXT    NOT NULL,
    intended_at   TEXT,
    started_at    TEXT    NOT NULL,
    ended_at      TEXT    NOT NULL,
    ok            INTEGER NOT NULL,
    error_class   TEXT,
    sqlstate      TEXT,
    rows_affected INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS query_executions_run_idx ON query_executions (run_id);

CREATE TABLE IF NOT EXISTS test_templates (
    name       TEXT    NOT NULL PRIMARY KEY,
    version    INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

INSERT INTO schema_version (version) VALUES (1) ON CONFLICT (version) DO NOTHING;
