package postgres_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/driver/postgres"
)

func TestEngineOption(t *testing.T) {
	linux := runtime.GOOS == "linux"
	epollIfLinux := postgres.EngineGoroutine
	if linux {
		epollIfLinux = postgres.EngineEpoll
	}
	for _, tc := range []struct {
		dsn     string
		want    postgres.Engine
		wantErr string // substring; "" = no error
	}{
		{dsn: "postgres://u@h/db?sslmode=disable", want: epollIfLinux},
		{dsn: "postgres://u@h/db?sslmode=disable&statement_mode=raw", want: epollIfLinux},
		{dsn: "postgres://u@h/db", want: postgres.EngineGoroutine}, // sslmode=prefer may use TLS
		{dsn: "postgres://u@h/db?sslmode=require", want: postgres.EngineGoroutine},
		{dsn: "postgres://u@h/db?sslmode=disable&statement_mode=extended", want: postgres.EngineGoroutine},
		{dsn: "postgres://u@h/db?sslmode=disable&engine=goroutine", want: postgres.EngineGoroutine},
		{dsn: "postgres://u@h/db?sslmode=disable&engine=AUTO&engine_loops=3", want: epollIfLinux},
		{dsn: "host=h user=u sslmode=disable engine=goroutine", want: postgres.EngineGoroutine},
		{dsn: "host=h user=u sslmode=disable engine_loops=2", want: epollIfLinux},
		{dsn: "postgres://u@h/db?engine=epoll", wantErr: "TLS"},
		{dsn: "postgres://u@h/db?sslmode=disable&statement_mode=simple&engine=epoll", wantErr: "statement_mode"},
		{dsn: "postgres://u@h/db?sslmode=disable&engine=fast", wantErr: `engine="fast"`},
		{dsn: "postgres://u@h/db?sslmode=disable&engine_loops=0", wantErr: "engine_loops"},
		{dsn: "postgres://u:secret@h/db?sslmode=disable&engine_loops=x", wantErr: "engine_loops"},
	} {
		c, err := postgres.NewConnector(tc.dsn)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want one mentioning %q", tc.dsn, err, tc.wantErr)
			} else if strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: the error shows the password: %v", tc.dsn, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.dsn, err)
			continue
		}
		if got := c.Engine(); got != tc.want {
			t.Errorf("%s: engine %s, want %s", tc.dsn, got, tc.want)
		}
		if got := c.Settings()["engine"]; got != string(tc.want) {
			t.Errorf("%s: Settings engine=%q, want %q", tc.dsn, got, tc.want)
		}
		eng, err := c.NewEngine()
		if err != nil {
			t.Errorf("%s: NewEngine: %v", tc.dsn, err)
		}
		if (eng != nil) != (tc.want == postgres.EngineEpoll) {
			t.Errorf("%s: NewEngine gave %v for engine %s", tc.dsn, eng, tc.want)
		}
		if eng != nil {
			eng.Close()
		}
	}
}
