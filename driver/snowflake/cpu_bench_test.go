package snowflake_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/unistore-bench/unistore/driver/snowflake"
	"github.com/unistore-bench/unistore/emulator"
)

// childEmulatorEnv makes the re-executed test binary serve an emulator
// instead of running tests: it prints the address, then serves until its
// stdin closes.
const childEmulatorEnv = "UNISTORE_TEST_CHILD_EMULATOR"

func TestMain(m *testing.M) {
	if os.Getenv(childEmulatorEnv) != "" {
		serveChildEmulator()
		return
	}
	os.Exit(m.Run())
}

func serveChildEmulator() {
	s, err := emulator.Start(emulator.Config{Users: []emulator.User{{Name: testUser, Password: testPassword}}, LogLimit: 1000}, "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer s.Close()
	if err := s.Exec("CREATE TABLE bench (id NUMBER PRIMARY KEY, v NUMBER)"); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	if err := s.Exec("INSERT INTO bench SELECT SEQ4() + 1, 0 FROM TABLE(GENERATOR(ROWCOUNT => 100))"); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(s.Addr())
	io.Copy(io.Discard, os.Stdin) // until the parent closes the pipe
}

// childEmulator starts the emulator in a child process and returns a DSN
// (without scheme) for it.
func childEmulator(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEmulatorEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "error:") {
		b.Fatalf("child emulator: %q, %v", line, err)
	}
	addr := strings.TrimSpace(line)
	return fmt.Sprintf("%s:%s@%s/%s/%s?account=%s&protocol=http", testUser, testPassword, addr,
		emulator.DefaultDatabase, emulator.DefaultSchema, emulator.Account)
}

// cpuTime is this process's user + system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkClientCPU(b *testing.B) {
	dsn := childEmulator(b)
	clearEnvB(b)
	ctx := context.Background()

	c, err := snowflake.NewConnector("snowflake://" + dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cn, err := c.Connect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer cn.Close()

	cfg, err := gosnowflake.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	ucfg, err := snowflake.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	// The same session settings as the unistore driver's, so both loops
	// send the same requests: no telemetry, no retries, no result cache.
	cfg.DisableTelemetry, cfg.MaxRetryCount, cfg.Params = ucfg.DisableTelemetry, ucfg.MaxRetryCount, ucfg.Params
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, *cfg))
	defer db.Close()
	db.SetMaxOpenConns(1)

	const rounds = 5
	for _, bs := range benchStatements {
		b.Run("stmt="+bs.name, func(b *testing.B) {
			st, err := cn.Prepare(ctx, bs.sql)
			if err != nil {
				b.Fatal(err)
			}
			n := b.N
			unistoreLoop := func() {
				for i := range n {
					if _, err := st.Exec(ctx, bs.args(int64(i))); err != nil {
						b.Fatal(err)
					}
				}
			}
			sqlLoop := func() {
				for i := range n {
					execSQL(ctx, b, db, bs.sql, bs.args(int64(i))[0].Int)
				}
			}
			measure := func(loop func()) float64 {
				t0 := cpuTime(b)
				loop()
				return float64(cpuTime(b)-t0) / float64(time.Microsecond) / float64(n)
			}
			var us, ds, ratios []float64
			for r := range rounds {
				var u, d float64
				if r%2 == 0 { // alternate which loop goes first
					u, d = measure(unistoreLoop), measure(sqlLoop)
				} else {
					d, u = measure(sqlLoop), measure(unistoreLoop)
				}
				us, ds, ratios = append(us, u), append(ds, d), append(ratios, u/d)
			}
			b.ReportMetric(median(us), "unistore-cpu-us/stmt")
			b.ReportMetric(median(ds), "database-sql-cpu-us/stmt")
			b.ReportMetric(median(ratios), "ratio")
		})
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
