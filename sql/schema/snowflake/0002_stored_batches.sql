-- unistore results store, Snowflake dialect, schema version 2.
-- STORED_BATCHES makes the bulk writes idempotent: each batch of snapshots
-- or executions carries an id, inserted in the same transaction as its
-- rows. A retry after a lost COMMIT acknowledgement (or a spooled batch
-- loaded twice by `unistore runs recover`) finds its id and stores
-- nothing. A HYBRID table: only hybrid tables enforce a primary key, and
-- a transaction may span hybrid and standard tables.

CREATE HYBRID TABLE IF NOT EXISTS UNISTORE_BENCHMARK.TEST_RESULTS.STORED_BATCHES (
    RUN_ID    VARCHAR          NOT NULL,
    BATCH_ID  VARCHAR          NOT NULL,
    KIND      VARCHAR          NOT NULL,
    ROW_COUNT NUMBER(9,0)      NOT NULL,
    STORED_AT TIMESTAMP_NTZ(6) NOT NULL DEFAULT SYSDATE(),
    PRIMARY KEY (RUN_ID, BATCH_ID)
);

MERGE INTO UNISTORE_BENCHMARK.TEST_RESULTS.SCHEMA_VERSION t
    USING (SELECT 2 AS VERSION) s ON t.VERSION = s.VERSION
    WHEN NOT MATCHED THEN INSERT (VERSION, APPLIED_AT) VALUES (s.VERSION, SYSDATE());
