package main_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/youmark/pkcs8"

	"github.com/unistore-bench/unistore/emulator"
)

// The Snowflake path end to end: the real CLI and the real gosnowflake
// driver against the project's emulator, filled by the example's own setup
// script.

const sfPassword = "Sn0wS3cret-e2e"

// sfEmulator starts an emulator holding examples/hybrid-setup.sql's tables
// (hybrid_accounts cut to 2,000 rows: testdata/fewer-accounts.sql), with
// one password user and one key-pair user.
func sfEmulator(t *testing.T) (*emulator.Server, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := emulator.Start(emulator.Config{
		Init: []string{"../../examples/hybrid-setup.sql", "testdata/fewer-accounts.sql"},
		Users: []emulator.User{
			{Name: "LOADER", Password: sfPassword},
			{Name: "KEYUSER", PublicKey: &key.PublicKey},
		},
	}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, key
}

func sfTarget(s *emulator.Server, user, password string) string {
	return "snowflake://" + s.DSN(user, password, "UNISTORE_DEMO", "PUBLIC")
}

type sfResult struct {
	RunID   string `json:"run_id"`
	Status  string `json:"status"`
	Workers *struct {
		Target int `json:"target"`
	} `json:"workers"`
	Warmup struct {
		Count int64 `json:"count"`
	} `json:"warmup"`
	Total struct {
		Count  int64 `json:"count"`
		Errors int64 `json:"errors"`
	} `json:"total"`
	Settings map[string]string `json:"target_settings"`
}

// runQueries counts the executed (not describe-only) query-requests of the
// log whose tag names run: load statements, and those run before the load
// (phase=PREPARE: key sampling); it returns those without the run's tag.
func runQueries(reqs []emulator.Request, run string) (load, prepare int64, untagged []emulator.Request) {
	prefix := "unistore:run=" + run + ":"
	for _, r := range reqs {
		switch {
		case r.Kind != "query" || r.DescribeOnly:
		case !strings.HasPrefix(r.QueryTag, prefix):
			untagged = append(untagged, r)
		case strings.Contains(r.QueryTag, ":worker=meter:phase=METER:"): // the cost's warehouse samples
		case strings.Contains(r.QueryTag, ":phase=PREPARE:"):
			prepare++
		default:
			load++
		}
	}
	return load, prepare, untagged
}

func TestSnowflakeEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
	}{{"one worker", 1}, {"three worker processes", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := sfEmulator(t)
			dir := t.TempDir()
			out := filepath.Join(dir, "r.json")
			storePath := filepath.Join(dir, "store.db")
			store := "sqlite://" + storePath
			if _, stderr, code := unistore(t, "schema", "apply", "--store", store); code != 0 {
				t.Fatalf("schema apply: exit %d\n%s", code, stderr)
			}
			const conns = 3
			args := []string{"run", "../../examples/hybrid-mix.yaml", "--target", sfTarget(s, "LOADER", sfPassword),
				"--store", store, "--connections", "3", "--warmup", "1s", "--duration", "2s", "--capture", "all", "--json", out}
			if tc.workers > 1 {
				args = append(args, "--workers", "3")
			}
			before := s.Stats()
			stdout, stderr, code := unistore(t, args...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var r sfResult
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			if r.Status != "COMPLETED" || r.Total.Count == 0 || r.Total.Errors != 0 {
				t.Fatalf("result: %+v", r)
			}

			// Every executed statement of the run carries the run's tag,
			// and the tagged count is the run's count, give or take the
			// statements in flight at each phase end.
			reqs := s.Requests()
			tagged, prepare, untagged := runQueries(reqs, r.RunID)
			if prepare < int64(tc.workers)+1 {
				t.Errorf("%d key-sampling statements tagged phase=PREPARE, want at least one per worker and the preflight's", prepare)
			}
			for _, q := range untagged {
				t.Errorf("statement without the run's tag: %q tag %q", q.SQL, q.QueryTag)
			}
			counted := r.Warmup.Count + r.Total.Count
			inFlight := int64(conns * tc.workers)
			if tagged < counted || tagged > counted+inFlight {
				t.Errorf("emulator executed %d tagged statements; the run counted %d (warm-up %d + measured %d), want within +%d",
					tagged, counted, r.Warmup.Count, r.Total.Count, inFlight)
			}
			// One session per connection, plus the preflight's and the
			// run's meter's (warehouse samples for the cost).
			logins := s.Stats().Logins - before.Logins
			if want := int64(conns*tc.workers + 2); logins != want {
				t.Errorf("%d logins, want %d (connections × workers + 1 preflight + 1 meter)", logins, want)
			}
			// Each names a worker, or the preflight (its key sampling).
			for _, q := range reqs {
				if q.Kind == "query" && !strings.Contains(q.QueryTag, ":worker=worker-") && !q.DescribeOnly &&
					!strings.Contains(q.QueryTag, ":worker=preflight:phase=PREPARE:") && !strings.Contains(q.QueryTag, ":worker=meter:phase=METER:") {
					t.Errorf("tag %q names no worker", q.QueryTag)
					break
				}
			}
			if r.Settings["driver_version"] == "" || r.Settings["database"] != "UNISTORE_DEMO" {
				t.Errorf("settings %v lack the driver version or database", r.Settings)
			}
			// No password anywhere the run wrote.
			stored, err := os.ReadFile(storePath)
			if err != nil {
				t.Fatal(err)
			}
			for name, text := range map[string]string{"stdout": stdout, "stderr": stderr, "json": string(b), "store": string(stored)} {
				if strings.Contains(text, sfPassword) {
					t.Errorf("the password appears in %s", name)
				}
			}
		})
	}
}

// TestSnowflakeBadInput: each bad input is one clear error, quickly, and
// nothing is left running.
func TestSnowflakeBadInput(t *testing.T) {
	s, _ := sfEmulator(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	badKey := filepath.Join(dir, "bad.p8")
	os.WriteFile(badKey, []byte("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"), 0o600)
	missing := filepath.Join(dir, "missing.yaml")
	os.WriteFile(missing, []byte("name: missing\nconnections: 2\nwarmup: 1s\nduration: 2s\nworkload:\n  operations:\n"+
		"    - name: lookup\n      sql: SELECT v FROM no_such_table WHERE id = ?\n      params:\n        - {gen: uniform, min: 1, max: 10}\n"), 0o644)
	port := strings.TrimPrefix(closed, "127.0.0.1:")
	for _, tc := range []struct {
		name, template, target, want string
	}{
		{"wrong password", "../../examples/hybrid-mix.yaml", sfTarget(s, "LOADER", "wrong-"+sfPassword), "390100"},
		{"unknown account host", "../../examples/hybrid-mix.yaml",
			"snowflake://LOADER:" + sfPassword + "@127.0.0.1:" + port + "/UNISTORE_DEMO/PUBLIC?account=emulator&protocol=http&loginTimeout=5", closed},
		{"missing table", missing, sfTarget(s, "LOADER", sfPassword), "NO_SUCH_TABLE"},
		{"malformed private key", "../../examples/hybrid-mix.yaml",
			"snowflake://KEYUSER@127.0.0.1:" + strings.TrimPrefix(s.Addr(), "127.0.0.1:") + "/UNISTORE_DEMO/PUBLIC?account=emulator&protocol=http&private_key_file=" + badKey, badKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "run", tc.template, "--target", tc.target)
			outb, err := cmd.CombinedOutput()
			out := string(outb)
			if ctx.Err() != nil {
				t.Fatalf("no answer within 15 s:\n%s", out)
			}
			if err == nil {
				t.Fatalf("exit 0, want an error:\n%s", out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output does not mention %q:\n%s", tc.want, out)
			}
			if strings.Contains(out, sfPassword) {
				t.Errorf("output leaks the password:\n%s", out)
			}
			if strings.Contains(out, "MEASUREMENT") || strings.Contains(out, "WARMUP ") {
				t.Errorf("load started:\n%s", out)
			}
		})
	}
}

// TestSnowflakeKeyPair: an encrypted PKCS#8 key file logs in.
func TestSnowflakeKeyPair(t *testing.T) {
	s, key := sfEmulator(t)
	const passphrase = "key-Passphrase-e2e"
	der, err := pkcs8.MarshalPrivateKey(key, []byte(passphrase), &pkcs8.Opts{Cipher: pkcs8.AES256CBC,
		KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: 2048, HMACHash: crypto.SHA256}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rsa_key.p8")
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), 0o600)
	t.Setenv("PRIVATE_KEY_PASSPHRASE", passphrase)
	target := "snowflake://KEYUSER@" + s.Addr() + "/UNISTORE_DEMO/PUBLIC?account=emulator&protocol=http&private_key_file=" + path
	stdout, stderr, code := unistore(t, "run", "../../examples/hybrid-mix.yaml", "--target", target,
		"--connections", "2", "--warmup", "0s", "--duration", "1s")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "COMPLETED") {
		t.Errorf("summary:\n%s", stdout)
	}
	if strings.Contains(stdout+stderr, passphrase) {
		t.Error("the passphrase appears in the output")
	}
}

// TestSnowflakeStoreEndToEnd: one emulator serves two databases — the
// target UNISTORE_DEMO.PUBLIC (examples/hybrid-setup.sql, accounts cut as in
// sfEmulator) and the results
// store UNISTORE_BENCHMARK.TEST_RESULTS. The store's schema is applied by
// an administrator; the run, with three worker processes, records itself
// through a DML-only user; `runs show` prints exactly the summary the run
// printed, and no password appears anywhere.
func TestSnowflakeStoreEndToEnd(t *testing.T) {
	const (
		adminPassword = "Adm1n-store-e2e"
		rwPassword    = "Rw-store-e2e-7"
	)
	s, err := emulator.Start(emulator.Config{
		Init: []string{"../../examples/hybrid-setup.sql", "testdata/fewer-accounts.sql"},
		Users: []emulator.User{
			{Name: "LOADER", Password: sfPassword},
			{Name: "STORE_ADMIN", Password: adminPassword},
			{Name: "STORE_RW", Password: rwPassword, ReadWrite: true},
		},
	}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	storeDSN := func(user, password string) string {
		return "snowflake://" + s.DSN(user, password, "UNISTORE_BENCHMARK", "TEST_RESULTS")
	}
	admin, rw := storeDSN("STORE_ADMIN", adminPassword), storeDSN("STORE_RW", rwPassword)

	// The run's user may not apply the schema; the administrator may,
	// twice.
	if _, stderr, code := unistore(t, "schema", "apply", "--store", rw); code == 0 || !strings.Contains(stderr, "003001") {
		t.Errorf("schema apply as the DML-only user: exit %d\n%s", code, stderr)
	}
	for range 2 {
		if _, stderr, code := unistore(t, "schema", "apply", "--store", admin); code != 0 {
			t.Fatalf("schema apply: exit %d\n%s", code, stderr)
		}
	}

	out := filepath.Join(t.TempDir(), "r.json")
	stdout, stderr, code := unistore(t, "run", "../../examples/hybrid-mix.yaml", "--target", sfTarget(s, "LOADER", sfPassword),
		"--store", rw, "--workers", "3", "--connections", "2", "--warmup", "1s", "--duration", "3s", "--capture", "all", "--json", out)
	if code != 0 {
		t.Fatalf("run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r sfResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Status != "COMPLETED" || r.Total.Count == 0 || r.Workers == nil || r.Workers.Target != 3 {
		t.Fatalf("result: %+v", r)
	}
	// The summary on stdout is followed by the JSON (--json writes a file
	// here, so stdout is the summary alone).
	show, showErr, code := unistore(t, "runs", "show", r.RunID, "--store", rw)
	if code != 0 {
		t.Fatalf("runs show: exit %d\n%s", code, showErr)
	}
	if show != stdout {
		t.Errorf("runs show differs from the run's summary\n--- run:\n%s\n--- runs show:\n%s", stdout, show)
	}
	list, _, code := unistore(t, "runs", "list", "--store", rw)
	if code != 0 || !strings.Contains(list, r.RunID) || !strings.Contains(list, "COMPLETED") {
		t.Errorf("runs list: exit %d\n%s", code, list)
	}

	// Both databases were served by the one emulator; the store's
	// statements are tagged as the store's, the load's as the run's.
	var storeStatements int
	for _, q := range s.Requests() {
		if q.Kind == "query" && q.User == "STORE_RW" {
			storeStatements++
			// The store's own tag, naming the run for the run's statements.
			if q.QueryTag != "unistore:store" && !strings.HasPrefix(q.QueryTag, "unistore:store:run="+r.RunID+":op=") && q.QueryTag != "unistore:store:cost" {
				t.Errorf("store statement tagged %q: %.60q", q.QueryTag, q.SQL)
			}
		}
		if q.Kind == "query" && q.User == "LOADER" && !strings.HasPrefix(q.QueryTag, "unistore:run="+r.RunID) && !q.DescribeOnly {
			t.Errorf("load statement tagged %q: %.60q", q.QueryTag, q.SQL)
		}
	}
	if storeStatements == 0 {
		t.Error("no statement reached the store")
	}
	for name, text := range map[string]string{"stdout": stdout, "stderr": stderr, "json": string(b), "runs show": show, "runs list": list} {
		for _, pw := range []string{sfPassword, adminPassword, rwPassword} {
			if strings.Contains(text, pw) {
				t.Errorf("a password appears in %s", name)
			}
		}
	}
	t.Logf("run %s: %d executions counted, %d store statements; summary:\n%s", r.RunID, r.Warmup.Count+r.Total.Count, storeStatements, stdout)
}
