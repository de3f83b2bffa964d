-- Tests only, after examples/hybrid-setup.sql: keep 2,000 of its 100,000
-- accounts. Every worker samples the table's keys in one query before load;
-- on an emulator running under the race detector, on a loaded machine,
-- three workers sampling 100,000 keys each can take longer than the
-- orchestrator's 30 s join timeout.
DELETE FROM UNISTORE_DEMO.PUBLIC.hybrid_accounts WHERE id > 2000;
