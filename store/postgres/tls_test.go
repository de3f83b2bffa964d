package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestPlainOnLoopback: a loopback store DSN without sslmode does not try
// TLS first (pgx's default "prefer" would, on every connection attempt:
// two failures logged per attempt while the store is down); an explicit
// sslmode, PGSSLMODE or a remote host keeps pgx's choice.
func TestPlainOnLoopback(t *testing.T) {
	for _, tc := range []struct {
		dsn, pgsslmode string
		tls            bool
	}{
		{"postgres://u@127.0.0.1:5432/db", "", false},
		{"postgres://u@localhost/db", "", false},
		{"postgres://u@[::1]:5432/db", "", false},
		{"host=/tmp user=u dbname=db", "", false},
		{"postgres://u@127.0.0.1/db?sslmode=require", "", true},
		{"postgres://u@127.0.0.1/db", "require", true},
		{"postgres://u@db.example/db", "", true},
	} {
		t.Run(tc.dsn+" "+tc.pgsslmode, func(t *testing.T) {
			t.Setenv("PGSSLMODE", tc.pgsslmode)
			cc, err := pgx.ParseConfig(tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			plainOnLoopback(tc.dsn, cc)
			tried := cc.TLSConfig != nil
			for _, fb := range cc.Fallbacks {
				tried = tried || fb.TLSConfig != nil
			}
			if tried != tc.tls {
				t.Errorf("tries TLS: %v, want %v (fallbacks %d)", tried, tc.tls, len(cc.Fallbacks))
			}
			if !tc.tls && (cc.TLSConfig != nil || len(cc.Fallbacks) != 0) {
				t.Errorf("a plain loopback config should be one plain attempt: TLS %v, %d fallbacks", cc.TLSConfig != nil, len(cc.Fallbacks))
			}
		})
	}
}
