package emulator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/unistore-bench/unistore/emulator"
)

// MERGE with bound source values: the upsert form the Snowflake results
// store sends. The first run inserts, the second updates; both are one
// statement, atomic, with Snowflake's row counts; a DML-only user may run
// it; describe-only compiles it.
func TestMergeUpsert(t *testing.T) {
	s := start(t, emulator.Config{Users: []emulator.User{
		{Name: "admin", Password: "admin-pw"},
		{Name: "rw", Password: "rw-pw", ReadWrite: true},
	}})
	ctx := ctxT(t)
	admin := open(t, s.DSN("admin", "admin-pw", "APP", "PUBLIC"))
	if _, err := admin.ExecContext(ctx, `CREATE HYBRID TABLE APP.PUBLIC.hb (
		run_id VARCHAR NOT NULL, worker_id VARCHAR NOT NULL, status VARCHAR NOT NULL,
		last_seen TIMESTAMP_NTZ(6) NOT NULL, beats NUMBER(9,0) NOT NULL DEFAULT 0,
		PRIMARY KEY (run_id, worker_id))`); err != nil {
		t.Fatal(err)
	}
	// Another namespace current: the target is named in full.
	db := open(t, s.DSN("rw", "rw-pw", "OTHER", "PUBLIC"))
	const merge = `MERGE INTO APP.PUBLIC.hb t
		USING (SELECT ? AS run_id, ? AS worker_id, ? AS status, ? AS last_seen) s
		ON t.run_id = s.run_id AND t.worker_id = s.worker_id
		WHEN MATCHED THEN UPDATE SET t.status = s.status, t.last_seen = s.last_seen, beats = t.beats + 1
		WHEN NOT MATCHED THEN INSERT (run_id, worker_id, status, last_seen, beats)
			VALUES (s.run_id, s.worker_id, s.status, s.last_seen, 1)`
	t1 := time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC)
	for i, status := range []string{"RUNNING", "STOPPED"} {
		res, err := db.ExecContext(ctx, merge, "r1", "worker-0", status, t1.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Errorf("merge %d: %d rows affected, want 1", i, n)
		}
	}
	if _, err := db.ExecContext(ctx, merge, "r1", "worker-1", "RUNNING", t1); err != nil {
		t.Fatal(err)
	}
	var status string
	var beats int64
	var seen time.Time
	if err := db.QueryRowContext(ctx, `SELECT status, beats, last_seen FROM APP.PUBLIC.hb WHERE worker_id = ?`, "worker-0").
		Scan(&status, &beats, &seen); err != nil {
		t.Fatal(err)
	}
	if status != "STOPPED" || beats != 2 || !seen.Equal(t1.Add(time.Second)) {
		t.Errorf("worker-0: %s, %d beats, last seen %v; want STOPPED, 2, %v", status, beats, seen, t1.Add(time.Second))
	}
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM APP.PUBLIC.hb`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d rows (%v), want 2", n, err)
	}

	// Atomic: a failing INSERT part leaves the UPDATE part undone.
	_, err := db.ExecContext(ctx, `MERGE INTO APP.PUBLIC.hb t USING (SELECT 'r1' AS run_id) s ON t.run_id = s.run_id
		WHEN MATCHED THEN UPDATE SET status = 'GONE'
		WHEN NOT MATCHED THEN INSERT (run_id) VALUES (s.run_id)`)
	if err != nil {
		t.Fatalf("a MERGE whose INSERT matches nothing: %v", err)
	}
	_, err = db.ExecContext(ctx, `MERGE INTO APP.PUBLIC.hb t USING (SELECT 'r2' AS run_id UNION ALL SELECT 'r1') s ON t.run_id = s.run_id
		WHEN MATCHED THEN UPDATE SET status = 'AGAIN'
		WHEN NOT MATCHED THEN INSERT (run_id) VALUES (s.run_id)`)
	if se := sfErr(t, err); se.Number != 100072 {
		t.Errorf("NOT NULL violation in the INSERT part: %v", se)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM APP.PUBLIC.hb WHERE status = 'AGAIN'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows updated by a failed MERGE (%v), want 0", n, err)
	}

	// Describe-only compiles without running (through QueryContext:
	// gosnowflake's ExecContext reads a row count the answer lacks).
	rows, err := db.QueryContext(gosnowflake.WithDescribeOnly(ctx), merge, "r9", "worker-9", "RUNNING", t1)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM APP.PUBLIC.hb WHERE run_id = 'r9'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("describe-only ran the MERGE: %d rows (%v)", n, err)
	}

	// What is not emulated says so.
	_, err = db.ExecContext(ctx, `MERGE INTO APP.PUBLIC.hb t USING (SELECT 'r1' AS run_id) s ON t.run_id = s.run_id
		WHEN MATCHED THEN DELETE`)
	if se := sfErr(t, err); se.Number != 2 || !strings.Contains(se.Message, "DELETE") {
		t.Errorf("MERGE … DELETE: %v", se)
	}
	_, err = db.ExecContext(ctx, `MERGE INTO APP.PUBLIC.hb t USING (SELECT 1 AS x) s WHEN MATCHED THEN UPDATE SET status = 'x'`)
	if se := sfErr(t, err); se.Number != 1003 {
		t.Errorf("MERGE without ON: %v", se)
	}
}

// LIMIT NULL is Snowflake's "no limit", the form an OFFSET without a
// limit takes.
func TestLimitNullOffset(t *testing.T) {
	s := start(t, emulator.Config{})
	ctx := ctxT(t)
	db := open(t, s.DSN("", "", "APP", "PUBLIC"))
	if _, err := db.ExecContext(ctx, `CREATE TABLE n (id NUMBER(9,0))`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO n (id) VALUES (1), (2), (3), (4)`); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT id FROM n ORDER BY id LIMIT NULL OFFSET ?`, int64(2))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if len(got) != 2 || got[0] != 3 || got[1] != 4 {
		t.Errorf("LIMIT NULL OFFSET 2: %v, want [3 4]", got)
	}
}
