package postgres_test

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/driver"
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
		{dsn: "postgres://u@h/db?sslmode=disable&engine_procs=dedicated", want: epollIfLinux},
		{dsn: "host=h user=u sslmode=disable engine_procs=shared", want: epollIfLinux},
		{dsn: "postgres://u:secret@h/db?sslmode=disable&engine_procs=all", wantErr: `engine_procs="all"`},
		{dsn: "host=h user=u sslmode=disable engine_affinity=off", want: epollIfLinux},
		{dsn: "postgres://u:secret@h/db?sslmode=disable&engine_affinity=cpu", wantErr: `engine_affinity="cpu"`},
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

// TestEnginePlan: under engine=auto, a plan with more than
// AutoEpollConnsPerLoop connections per event loop runs goroutines; an
// explicit engine is never overridden, and only the first plan counts.
func TestEnginePlan(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the epoll engine is Linux only: auto is always goroutine here")
	}
	per := postgres.AutoEpollConnsPerLoop
	for _, tc := range []struct {
		dsn   string
		plans []int // Connections of successive plans
		want  postgres.Engine
		io    string // Settings' engine_io
	}{
		{dsn: "postgres://u@h/db?sslmode=disable&engine_loops=1", plans: []int{per}, want: postgres.EngineEpoll},
		{dsn: "postgres://u@h/db?sslmode=disable&engine_loops=1", plans: []int{per + 1}, want: postgres.EngineGoroutine, io: "raw"},
		{dsn: "postgres://u@h/db?sslmode=disable&engine_loops=3", plans: []int{3 * per}, want: postgres.EngineEpoll},
		{dsn: "postgres://u@h/db?sslmode=disable&engine_loops=3", plans: []int{3*per + 1}, want: postgres.EngineGoroutine, io: "raw"},
		{dsn: "postgres://u@h/db?sslmode=disable&engine_loops=1", plans: []int{2, 64}, want: postgres.EngineEpoll},
		{dsn: "postgres://u@h/db?sslmode=disable&engine_loops=1", plans: []int{64, 2}, want: postgres.EngineGoroutine, io: "raw"},
		{dsn: "postgres://u@h/db?sslmode=disable&statement_mode=raw&engine_loops=1", plans: []int{64}, want: postgres.EngineGoroutine},
		{dsn: "postgres://u@h/db?sslmode=disable&engine=epoll&engine_loops=1", plans: []int{64}, want: postgres.EngineEpoll},
		{dsn: "postgres://u@h/db?sslmode=disable&engine=goroutine", plans: []int{1}, want: postgres.EngineGoroutine},
		{dsn: "postgres://u@h/db?sslmode=disable&engine=goroutine", plans: []int{64}, want: postgres.EngineGoroutine},
	} {
		c, err := postgres.NewConnector(tc.dsn)
		if err != nil {
			t.Fatalf("%s: %v", tc.dsn, err)
		}
		for _, n := range tc.plans {
			c.Plan(driver.Plan{Workers: 1, Connections: n})
		}
		if got := c.Engine(); got != tc.want {
			t.Errorf("%s after plans %v: engine %s, want %s", tc.dsn, tc.plans, got, tc.want)
		}
		if got := c.Settings()["engine"]; got != string(tc.want) {
			t.Errorf("%s after plans %v: Settings engine=%q, want %q", tc.dsn, tc.plans, got, tc.want)
		}
		if got := c.Settings()[postgres.EngineIOParam]; got != tc.io {
			t.Errorf("%s after plans %v: Settings engine_io=%q, want %q", tc.dsn, tc.plans, got, tc.io)
		}
		eng, err := c.NewEngine()
		if err != nil || (eng != nil) != (tc.want == postgres.EngineEpoll) {
			t.Errorf("%s after plans %v: NewEngine gave %v, %v for engine %s", tc.dsn, tc.plans, eng, err, tc.want)
		}
		if eng != nil {
			eng.Close()
		}
	}
}

// TestDedicatedLoops: under engine_procs=dedicated an engine runs one
// loop per core whatever the plan; engine_loops overrides that, and
// Settings says which, and which affinity.
func TestDedicatedLoops(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the epoll engine is Linux only")
	}
	n := runtime.GOMAXPROCS(0)
	for _, tc := range []struct {
		dsn      string
		plan     int // 0: no plan
		loops    int
		affinity string
	}{
		{dsn: "engine_procs=dedicated", plan: 0, loops: n, affinity: "rx"},
		{dsn: "engine_procs=dedicated", plan: 1, loops: n, affinity: "rx"},
		{dsn: "engine_procs=dedicated", plan: 2*n + 1, loops: n, affinity: "rx"},
		{dsn: "engine_procs=dedicated&engine_loops=3&engine_affinity=off", plan: 2 * n, loops: 3, affinity: "off"},
		{dsn: "engine_procs=shared&engine_affinity=RX", plan: 2 * n, loops: postgres.DefaultEngineLoops(), affinity: "rx"},
	} {
		dsn := "postgres://u@h/db?sslmode=disable&engine=epoll&" + tc.dsn
		c, err := postgres.NewConnector(dsn)
		if err != nil {
			t.Fatal(err)
		}
		if tc.plan > 0 {
			c.Plan(driver.Plan{Workers: 1, Connections: tc.plan})
		}
		set := c.Settings()
		if got, want := set[postgres.EngineLoopsParam], strconv.Itoa(tc.loops); got != want {
			t.Errorf("%s, plan %d: engine_loops %s, want %s (GOMAXPROCS %d)", dsn, tc.plan, got, want, n)
		}
		if got := set[postgres.EngineAffinityParam]; got != tc.affinity {
			t.Errorf("%s: engine_affinity %q, want %q", dsn, got, tc.affinity)
		}
	}
}
