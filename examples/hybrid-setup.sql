-- Snowflake setup for examples/hybrid-mix.yaml: two hybrid tables in
-- UNISTORE_DEMO.PUBLIC, hybrid_accounts filled with 100,000 rows. This is
-- your own DDL, run once by you (snowsql -f, a worksheet, or the emulator's
-- --init); unistore never runs DDL on a target. Rerun it before each run:
-- hybrid_events is recreated because the template's insert ids restart at 1.
CREATE DATABASE IF NOT EXISTS UNISTORE_DEMO;
USE DATABASE UNISTORE_DEMO;
USE SCHEMA PUBLIC;

CREATE OR REPLACE HYBRID TABLE hybrid_accounts (
    id         NUMBER(38,0) PRIMARY KEY,
    balance    NUMBER(38,0) NOT NULL,
    name       VARCHAR(64) NOT NULL,
    updated_at TIMESTAMP_NTZ NOT NULL
);

INSERT INTO hybrid_accounts (id, balance, name, updated_at)
SELECT SEQ4() + 1, 1000, 'account-' || (SEQ4() + 1), CURRENT_TIMESTAMP()
FROM TABLE(GENERATOR(ROWCOUNT => 100000));

CREATE OR REPLACE HYBRID TABLE hybrid_events (
    id         NUMBER(38,0) PRIMARY KEY,
    account_id NUMBER(38,0) NOT NULL,
    amount     NUMBER(38,0) NOT NULL,
    note       VARCHAR(64) NOT NULL,
    created_at TIMESTAMP_NTZ NOT NULL,
    INDEX hybrid_events_account (account_id)
);
