-- unistore results and config store, Snowflake dialect, schema version 4:
-- find-max step history and named baseline runs (issue 12).
-- Rerunnable: every statement is IF NOT EXISTS or a no-op when already applied.
-- Both are standard tables: a few rows per find-max run or per baseline.

-- One row per find-max step: the value it set (an arrival rate or a number
-- of connections, as text so every digit survives: gosnowflake binds floats
-- at float32 precision), its verdict, its measured window, and the step's
-- figures as JSON text (DETAIL; PARSE_JSON(DETAIL):qps).
CREATE TABLE IF NOT EXISTS UNISTORE_BENCHMARK.TEST_RESULTS.FIND_MAX_STEPS (
    RUN_ID     VARCHAR          NOT NULL,
    STEP_NO    NUMBER(9,0)      NOT NULL,
    BY_KIND    VARCHAR          NOT NULL,
    TARGET     VARCHAR          NOT NULL,
    VERDICT    VARCHAR          NOT NULL,
    STARTED_AT TIMESTAMP_NTZ(6) NOT NULL,
    ENDED_AT   TIMESTAMP_NTZ(6) NOT NULL,
    DETAIL     VARCHAR          NOT NULL,
    PRIMARY KEY (RUN_ID, STEP_NO)
);

-- A named baseline run, for `unistore runs compare --baseline NAME`.
CREATE TABLE IF NOT EXISTS UNISTORE_BENCHMARK.CONFIG.RUN_BASELINES (
    NAME       VARCHAR          NOT NULL PRIMARY KEY,
    RUN_ID     VARCHAR          NOT NULL,
    UPDATED_AT TIMESTAMP_NTZ(6) NOT NULL
);

MERGE INTO UNISTORE_BENCHMARK.TEST_RESULTS.SCHEMA_VERSION t
    USING (SELECT 4 AS VERSION) s ON t.VERSION = s.VERSION
    WHEN NOT MATCHED THEN INSERT (VERSION, APPLIED_AT) VALUES (s.VERSION, SYSDATE());
