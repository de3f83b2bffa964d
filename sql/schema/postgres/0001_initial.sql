-- unistore results and config store, PostgreSQL dialect, schema version 1.
-- Rerunnable: every statement is IF NOT EXISTS or a no-op when already applied.
-- Applied by `unistore schema apply --store postgres://…`, never at run time.
-- Times are timestamptz (microseconds); JSON is jsonb; histograms are the
-- HdrHistogram V2 compressed encoding, base64 text.

CREATE SCHEMA IF NOT EXISTS test_results;
CREATE SCHEMA IF NOT EXISTS config;

CREATE TABLE IF NOT EXISTS test_results.schema_version (
    version    integer     NOT NULL PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS test_results.run_status (
    run_id          text        NOT NULL PRIMARY KEY,
    name            text        NOT NULL,
    template        text,
    spec            jsonb       NOT NULL,
    status          text        NOT NULL,
    phase           text        NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    started_at      timestamptz,
    warmup_ended_at timestamptz,
    ended_at        timestamptz,
    workers_target  integer     NOT NULL DEFAULT 0,
    workers_live    integer     NOT NULL DEFAULT 0,
    workers_lost    integer     NOT NULL DEFAULT 0,
    outcome         text,
    summary         jsonb,
    rows_dropped    bigint      NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS run_status_created_at_idx ON test_results.run_status (created_at);

CREATE TABLE IF NOT EXISTS test_results.run_control_events (
    run_id     text        NOT NULL,
    seq        bigint      NOT NULL,
    kind       text        NOT NULL,
    payload    jsonb,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE IF NOT EXISTS test_results.worker_heartbeats (
    run_id       text        NOT NULL,
    worker_id    text        NOT NULL,
    worker_group integer     NOT NULL,
    status       text        NOT NULL,
    phase        text        NOT NULL,
    last_seen    timestamptz NOT NULL,
    connections  integer     NOT NULL DEFAULT 0,
    host         text,
    pid          integer,
    rows_dropped bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, worker_id)
);

CREATE TABLE IF NOT EXISTS test_results.worker_metrics_snapshots (
    run_id             text        NOT NULL,
    worker_id          text        NOT NULL,
    worker_group       integer     NOT NULL,
    interval_start     timestamptz NOT NULL,
    interval_end       timestamptz NOT NULL,
    phase              text        NOT NULL,
    operation          text        NOT NULL,
    op_count           bigint      NOT NULL,
    error_count        bigint      NOT NULL,
    errors_by_class    jsonb,
    histogram          text        NOT NULL,
    response_histogram text,
    error_histogram    text,
    open_intended      bigint      NOT NULL DEFAULT 0,
    open_started       bigint      NOT NULL DEFAULT 0,
    open_late          bigint      NOT NULL DEFAULT 0,
    open_skipped       bigint      NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS worker_metrics_snapshots_run_idx
    ON test_results.worker_metrics_snapshots (run_id, interval_start);

CREATE TABLE IF NOT EXISTS test_results.query_executions (
    run_id        text        NOT NULL,
    worker_id     text        NOT NULL,
    worker_group  integer     NOT NULL,
    connection_id integer     NOT NULL,
    operation     text        NOT NULL,
    phase         text        NOT NULL,
    intended_at   timestamptz,
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz NOT NULL,
    ok            boolean     NOT NULL,
    error_class   text,
    sqlstate      text,
    rows_affected bigint      NOT NULL DEFAULT 0
);
-- BRIN, not a B-tree: executions arrive in run order at tens of thousands
-- of rows a second, and a BRIN index costs next to nothing to maintain.
CREATE INDEX IF NOT EXISTS query_executions_run_idx ON test_results.query_executions USING brin (run_id, started_at);

CREATE TABLE IF NOT EXISTS config.test_templates (
    name       text        NOT NULL PRIMARY KEY,
    version    integer     NOT NULL,
    body       text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

INSERT INTO test_results.schema_version (version) VALUES (1) ON CONFLICT (version) DO NOTHING;
