package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/internal/testpg"
)

// writeTemplate writes a one-operation template for target with extra
// lines (slo:, warmup:) and returns its path.
func writeTemplate(t *testing.T, target, sql, extra, opExtra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.yaml")
	body := "name: answers\ntarget: {dsn: \"" + target + "\"}\nconnections: 2\nwarmup: 500ms\nduration: 2s\n" + extra +
		"workload:\n  operations:\n    - name: op\n      sql: " + sql + "\n      params: [{gen: uniform, min: 1, max: 10}]\n" + opExtra
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sqliteTarget(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "target.db") }

// TestCheckSLO: --check-slo exits 0 when every objective passes, 3 when
// one fails (the JSON holds the verdicts), and 2 before any load when the
// template sets none; a bad objective is a located template error.
func TestCheckSLO(t *testing.T) {
	target := sqliteTarget(t)
	pass := writeTemplate(t, target, "SELECT ?", "slo: {p99_ms: 10000, error_rate: 0.1%}\n", "")
	if stdout, stderr, code := unistore(t, "run", pass, "--check-slo", "-q"); code != 0 || !strings.Contains(stdout, "slo PASS  total p99_ms") {
		t.Errorf("passing SLO: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	fail := writeTemplate(t, target, "SELECT ?", "slo: {p99_ms: 10000}\n", "      slo: {p95_ms: 0.000001}\n")
	out := filepath.Join(t.TempDir(), "r.json")
	stdout, stderr, code := unistore(t, "run", fail, "--check-slo", "-q", "--json", out)
	if code != 3 || !strings.Contains(stdout, "slo FAIL  op p95_ms") || !strings.Contains(stderr, "slo breached: op p95_ms") {
		t.Errorf("failing SLO: exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var res struct {
		SLO []struct {
			Scope, Objective string
			Pass             bool
		} `json:"slo"`
	}
	if b, err := os.ReadFile(out); err != nil || json.Unmarshal(b, &res) != nil || len(res.SLO) != 2 || res.SLO[1].Pass || !res.SLO[0].Pass {
		t.Errorf("JSON verdicts %+v (%v), want total p99 passing and op p95 failing", res.SLO, err)
	}
	// Without --check-slo a breach is reported, not an exit status.
	if _, _, code := unistore(t, "run", fail, "-q"); code != 0 {
		t.Errorf("breach without --check-slo: exit %d, want 0", code)
	}
	none := writeTemplate(t, target, "SELECT ?", "", "")
	if _, stderr, code := unistore(t, "run", none, "--check-slo"); code != 2 || !strings.Contains(stderr, "--check-slo: the template sets no objective") {
		t.Errorf("no objective: exit %d, stderr %q", code, stderr)
	}
	bad := writeTemplate(t, target, "SELECT ?", "slo: {p99_ms: -1, error_rate: 5}\nwarmup_x: 1\n", "")
	_, stderr, code = unistore(t, "run", bad)
	if code != 2 || !strings.Contains(stderr, bad+":6:31: slo.error_rate: bad ratio \"5\"") ||
		!strings.Contains(stderr, bad+":7:1: warmup_x: unknown field") {
		t.Errorf("bad objective: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestSteadyWarmupCLI: the mapping form of warmup: runs, and the summary
// says how the warm-up ended; a bad one is located.
func TestSteadyWarmupCLI(t *testing.T) {
	target := sqliteTarget(t)
	path := filepath.Join(t.TempDir(), "steady.yaml")
	os.WriteFile(path, []byte("name: steady\ntarget: {dsn: \""+target+"\"}\nconnections: 1\nduration: 1s\n"+
		"warmup: {until: steady, window: 2s, max: 4s, tolerance: 99%}\nworkload:\n  operations:\n    - name: op\n      sql: SELECT 1\n"), 0o644)
	out := filepath.Join(t.TempDir(), "r.json")
	stdout, stderr, code := unistore(t, "run", path, "-q", "--json", out)
	if code != 0 || !strings.Contains(stdout, "warm-up ended") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// -q keeps the start line: it says the warm-up is steady, not its max.
	if !strings.Contains(stderr, "1 connections, warm-up until steady (window 2s, max 4s, tolerance 99%), measurement 1s") {
		t.Errorf("start line does not say the steady warm-up:\n%s", stderr)
	}
	var res struct {
		Decision *struct {
			EndedBy string `json:"ended_by"`
		} `json:"warmup_decision"`
	}
	if b, err := os.ReadFile(out); err != nil || json.Unmarshal(b, &res) != nil || res.Decision == nil || res.Decision.EndedBy == "" {
		t.Errorf("warmup_decision missing from the JSON: %+v", res.Decision)
	}
	os.WriteFile(path, []byte("name: steady\ntarget: {dsn: \""+target+"\"}\n"+
		"warmup: {until: stable, windw: 2s}\nworkload:\n  operations:\n    - name: op\n      sql: SELECT 1\n"), 0o644)
	if _, stderr, code := unistore(t, "run", path); code != 2 || !strings.Contains(stderr, path+":3:25: warmup.windw: unknown field \"windw\" (did you mean \"window\"?)") {
		t.Errorf("bad steady warm-up: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestCompareVerdictCLI: two runs of one template: --verdict names its
// method and judges every figure; --baseline marks and then uses a named
// baseline; a missing one is an error that says how to mark one.
func TestCompareVerdictCLI(t *testing.T) {
	path := writeTemplate(t, sqliteTarget(t), "SELECT ?", "", "")
	var ids []string
	for range 2 {
		out := filepath.Join(t.TempDir(), "r.json")
		if _, stderr, code := unistore(t, "run", path, "-q", "--rate", "500", "--duration", "4s", "--json", out); code != 0 {
			t.Fatalf("run: exit %d\n%s", code, stderr)
		}
		var r struct {
			RunID string `json:"run_id"`
		}
		b, _ := os.ReadFile(out)
		json.Unmarshal(b, &r)
		ids = append(ids, r.RunID)
	}
	stdout, stderr, code := unistore(t, "runs", "compare", ids[0], ids[1], "--verdict", "--baseline", "main")
	if code != 0 && code != 1 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"method: block-bootstrap — circular block bootstrap", "total  qps", "op     p99_ms", "blocks ", `is now the baseline "main"`} {
		if !strings.Contains(stdout+stderr, want) {
			t.Errorf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", want, stdout, stderr)
		}
	}
	stdout, _, _ = unistore(t, "runs", "compare", ids[1], "--verdict", "--baseline", "main", "--json")
	var rep struct {
		Base    string `json:"base"`
		Figures []struct {
			Verdict string `json:"verdict"`
		} `json:"figures"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.Base != ids[0] || len(rep.Figures) != 6 {
		t.Errorf("against the baseline: %+v (%v), want base %s and 6 figures\n%s", rep, err, ids[0], stdout)
	}
	if _, stderr, code := unistore(t, "runs", "compare", ids[1], "--verdict", "--baseline", "nope"); code != 1 || !strings.Contains(stderr, "no baseline named \"nope\"") {
		t.Errorf("unknown baseline: exit %d, stderr %q", code, stderr)
	}
	stdout, stderr, code = unistore(t, "runs", "compare", ids[0], ids[1], "--verdict", "--method", "mannwhitney")
	if (code != 0 && code != 1) || !strings.Contains(stdout, "method: mannwhitney — Mann–Whitney U") ||
		!strings.Contains(stdout, "too few values (2 and 2) for a 95% Mann–Whitney interval") { // 4 s: two whole seconds
		t.Errorf("--method mannwhitney: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if stdout, _, _ := unistore(t, "runs", "compare", ids[0], ids[1], "--verdict", "--gate", "p50_ms,qps"); !strings.Contains(stdout, "threshold 5%; a REGRESSION in p50_ms, qps fails") {
		t.Errorf("--gate p50_ms,qps: not in the header:\n%s", stdout)
	}
	if _, stderr, code := unistore(t, "runs", "compare", ids[0], ids[1], "--verdict", "--gate", "p95_ms"); code != 2 || !strings.Contains(stderr, `unknown figure "p95_ms" to gate on`) {
		t.Errorf("--gate p95_ms: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := unistore(t, "runs", "compare", ids[0], ids[1], "--verdict", "--method", "ttest"); code != 2 || !strings.Contains(stderr, `--method: stats: unknown method "ttest"`) {
		t.Errorf("unknown method: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := unistore(t, "runs", "compare", ids[0], ids[1], "--method", "bootstrap"); code != 2 || !strings.Contains(stderr, "--method: only with --verdict") {
		t.Errorf("--method without --verdict: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := unistore(t, "runs", "compare", ids[0], ids[1], "--verdict", "--threshold", "5"); code != 2 || !strings.Contains(stderr, "--threshold: bad ratio") {
		t.Errorf("bad threshold: exit %d, stderr %q", code, stderr)
	}
}

// TestVerdictPGSleep: on PostgreSQL, a statement made 30 % slower
// (pg_sleep of 2.6 ms against 2 ms) is a REGRESSION in QPS, p50 and p99,
// and the command exits 1.
func TestVerdictPGSleep(t *testing.T) {
	dsn := testpg.DSN(t)
	store := "sqlite://" + filepath.Join(t.TempDir(), "store.db")
	if _, stderr, code := unistore(t, "schema", "apply", "--store", store); code != 0 {
		t.Fatal(stderr)
	}
	var ids []string
	for _, sleep := range []string{"0.002", "0.0026"} {
		path := writeTemplate(t, dsn, "SELECT pg_sleep("+sleep+") WHERE ? > 0", "", "")
		out := filepath.Join(t.TempDir(), "r.json")
		if _, stderr, code := unistore(t, "run", path, "-q", "--store", store, "--duration", "6s", "--json", out); code != 0 {
			t.Fatalf("run: exit %d\n%s", code, stderr)
		}
		var r struct {
			RunID string `json:"run_id"`
		}
		b, _ := os.ReadFile(out)
		json.Unmarshal(b, &r)
		ids = append(ids, r.RunID)
	}
	stdout, stderr, code := unistore(t, "runs", "compare", ids[0], ids[1], "--verdict", "--store", store)
	t.Logf("verdict:\n%s", stdout)
	if code != 1 || !strings.Contains(stderr, "regression") {
		t.Errorf("30%% slower: exit %d, want 1\n%s", code, stderr)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "total") && strings.Contains(line, "p50_ms") && !strings.Contains(line, "REGRESSION") {
			t.Errorf("p50 not a regression: %s", line)
		}
	}
}

// TestFindMaxCLI: find-max on PostgreSQL and on the Snowflake emulator
// ends with a stated answer within its bounded steps, and its JSON names
// the answer and the steps.
func TestFindMaxCLI(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target func(t *testing.T) string
		sql    string
	}{
		{"postgres", func(t *testing.T) string { return testpg.DSN(t) }, "SELECT ?::int"},
		{"snowflake-emulator", func(t *testing.T) string { s, _ := sfEmulator(t); return sfTarget(s, "LOADER", sfPassword) },
			"SELECT balance FROM hybrid_accounts WHERE id = ?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemplate(t, tc.target(t), tc.sql, "", "")
			out := filepath.Join(t.TempDir(), "fm.json")
			stdout, stderr, code := unistore(t, "find-max", path, "--slo", "p99<50ms,errors<1%", "--start", "50", "--factor", "4",
				"--connections", "8", "--step-warmup", "1s", "--step-duration", "2s", "--max-steps", "4", "--json", out)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			t.Logf("find-max:\n%s", stdout)
			var r struct {
				Answer string  `json:"answer"`
				MaxQPS float64 `json:"max_qps"`
				Steps  []struct {
					Verdict string `json:"verdict"`
				} `json:"steps"`
			}
			b, err := os.ReadFile(out)
			if err != nil || json.Unmarshal(b, &r) != nil {
				t.Fatalf("JSON: %v\n%s", err, b)
			}
			switch r.Answer {
			case "found", "lower-bound", "client-bound", "none":
			default:
				t.Errorf("answer %q, want a stated one", r.Answer)
			}
			if len(r.Steps) == 0 || len(r.Steps) > 4 {
				t.Errorf("%d steps, want 1 to 4", len(r.Steps))
			}
			if !strings.Contains(stdout, "step") || !strings.Contains(stdout, "verdict") {
				t.Errorf("no step table:\n%s", stdout)
			}
		})
	}
}

func TestFindMaxBadFlags(t *testing.T) {
	path := writeTemplate(t, sqliteTarget(t), "SELECT ?", "", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--slo: no objective"},
		{[]string{"--slo", "p99<fast"}, "--slo: bad objective \"p99<fast\""},
		{[]string{"--slo", "p99<20ms", "--by", "threads"}, "--by: want rate or connections"},
		{[]string{"--slo", "p99<20ms", "--resolution", "150"}, "--resolution: bad ratio"},
		// An explicit 0 is an error, never the default in disguise.
		{[]string{"--slo", "p99<20ms", "--step-duration", "0s"}, "--step-duration: must be positive, got 0"},
		{[]string{"--slo", "p99<20ms", "--step-warmup", "0s"}, "--step-warmup: must be positive, got 0"},
		{[]string{"--slo", "p99<20ms", "--max-steps", "0"}, "--max-steps: must be positive, got 0"},
		{[]string{"--slo", "p99<20ms", "--factor", "0"}, "--factor: must be positive, got 0"},
	} {
		_, stderr, code := unistore(t, append([]string{"find-max", path}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
