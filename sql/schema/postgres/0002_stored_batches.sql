-- unistore results store, PostgreSQL dialect, schema version 2.
-- STORED_BATCHES makes the bulk writes idempotent: each batch of snapshots
-- or executions carries an id, inserted in the same transaction as its
-- rows. A retry after a lost COMMIT acknowledgement (or a spooled batch
-- loaded twice by `unistore runs recover`) finds its id and stores
-- nothing.

CREATE TABLE IF NOT EXISTS test_results.stored_batches (
    run_id    text        NOT NULL,
    batch_id  text        NOT NULL,
    kind      text        NOT NULL,
    row_count integer     NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, batch_id)
);

INSERT INTO test_results.schema_version (version) VALUES (2) ON CONFLICT (version) DO NOTHING;
