package postgres_test

import (
	"testing"

	"github.com/unistore-bench/unistore/driver/postgres"
)

func TestNormalizeStatement(t *testing.T) {
	for _, tc := range [][2]string{
		{"SELECT v FROM t WHERE id = ?", "SELECT v FROM t WHERE id = $1"},
		{"SELECT v FROM t WHERE id = ?", "select v from t where id = 42"},
		{"UPDATE t SET v = v + 1 WHERE id = ?", "UPDATE t SET v = v + $1 WHERE id = $2"},
		{"UPDATE t SET v = v + 1 WHERE id = ?", "UPDATE t SET v = v + 1 WHERE id = -7"},
		{"INSERT INTO e (k, s) VALUES (?, ?);", "INSERT INTO e (k, s)\n  VALUES ($1, 'it''s')"},
		{`SELECT "Col1" FROM t2 WHERE x > ?`, `SELECT "Col1" FROM t2 WHERE x > $1`},
		{"INSERT INTO hits (v) VALUES (?)", "INSERT INTO hits (v) VALUES ( $1 )"}, // pgx's simple protocol
	} {
		if a, b := postgres.NormalizeStatement(tc[0]), postgres.NormalizeStatement(tc[1]); a != b {
			t.Errorf("%q → %q\n%q → %q", tc[0], a, tc[1], b)
		}
	}
	if postgres.NormalizeStatement("SELECT v FROM t WHERE id = ?") == postgres.NormalizeStatement("SELECT v FROM t2 WHERE id = ?") {
		t.Error("different tables normalized alike")
	}
}
