-- unistore results and config store, PostgreSQL dialect, schema version 4:
-- find-max step history and named baseline runs (issue 12).
-- Rerunnable: every statement is IF NOT EXISTS or a no-op when already applied.

-- One row per find-max step: the value it set (an arrival rate or a number
-- of connections, as text so every digit survives), its verdict, its
-- measured window, and the step's figures as JSON (DETAIL).
CREATE TABLE IF NOT EXISTS test_results.find_max_steps (
    run_id     text        NOT NULL,
    step_no    integer     NOT NULL,
    by_kind    text        NOT NULL,
    target     text        NOT NULL,
    verdict    text        NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at   timestamptz NOT NULL,
    detail     jsonb       NOT NULL,
    PRIMARY KEY (run_id, step_no)
);

-- A named baseline run, for `unistore runs compare --baseline NAME`.
CREATE TABLE IF NOT EXISTS config.run_baselines (
    name       text        NOT NULL PRIMARY KEY,
    run_id     text        NOT NULL,
    updated_at timestamptz NOT NULL
);

INSERT INTO test_results.schema_version (version) VALUES (4) ON CONFLICT (version) DO NOTHING;
