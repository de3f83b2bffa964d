-- unistore results store, SQLite dialect, schema version 2.
-- STORED_BATCHES makes the bulk writes idempotent: each batch of snapshots
-- or executions carries an id, inserted in the same transaction as its
-- rows. A retry after a lost COMMIT acknowledgement (or a spooled batch
-- loaded twice by `unistore runs recover`) finds its id and stores
-- nothing.

CREATE TABLE IF NOT EXISTS stored_batches (
    run_id    TEXT    NOT NULL,
    batch_id  TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    row_count INTEGER NOT NULL,
    stored_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (run_id, batch_id)
);

INSERT INTO schema_version (version) VALUES (2) ON CONFLICT (version) DO NOTHING;
