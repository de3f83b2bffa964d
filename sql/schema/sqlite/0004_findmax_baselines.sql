-- unistore results and config store, SQLite dialect, schema version 4:
-- find-max step history and named baseline runs (issue 12).
-- Rerunnable: every statement is IF NOT EXISTS or a no-op when already applied.

-- One row per find-max step: the value it set (an arrival rate or a number
-- of connections, as text so every digit survives), its verdict, its
-- measured window, and the step's figures as JSON (DETAIL).
CREATE TABLE IF NOT EXISTS find_max_steps (
    run_id     TEXT    NOT NULL,
    step_no    INTEGER NOT NULL,
    by_kind    TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    verdict    TEXT    NOT NULL,
    started_at TEXT    NOT NULL,
    ended_at   TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    PRIMARY KEY (run_id, step_no)
);

-- A named baseline run, for `unistore runs compare --baseline NAME`.
CREATE TABLE IF NOT EXISTS run_baselines (
    name       TEXT NOT NULL PRIMARY KEY,
    run_id     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

INSERT INTO schema_version (version) VALUES (4) ON CONFLICT (version) DO NOTHING;
