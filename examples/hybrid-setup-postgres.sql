-- PostgreSQL tables for examples/hybrid-mix.yaml (the same shape as
-- examples/hybrid-setup.sql for Snowflake). Run once, and again before each
-- run to reset hybrid_events (its ids restart at 1 every run):
--   psql -f examples/hybrid-setup-postgres.sql DBNAME
CREATE TABLE IF NOT EXISTS hybrid_accounts (
    id         BIGINT PRIMARY KEY,
    balance    BIGINT NOT NULL,
    name       VARCHAR(64) NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
TRUNCATE hybrid_accounts;
INSERT INTO hybrid_accounts (id, balance, name, updated_at)
SELECT g, 1000, 'account-' || g, now()
FROM generate_series(1, 100000) AS g;
DROP TABLE IF EXISTS hybrid_events;
CREATE TABLE hybrid_events (
    id         BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    note       VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX hybrid_events_account ON hybrid_events (account_id);
ANALYZE hybrid_accounts;
