package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/internal/testpg"
)

// TestBadInput is the bad-input corpus (issue 9 §4): every case fails
// before load — no run row in the store, no "N connections, warm-up …"
// line (printed once the run has started) — with an error that names the
// flag or the template's file:line and field.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	storeDSN := "sqlite://" + filepath.Join(dir, "store.db")
	if out, err := exec.Command(bin, "schema", "apply", "--store", storeDSN).CombinedOutput(); err != nil {
		t.Fatalf("schema apply: %v\n%s", err, out)
	}
	target := "sqlite://" + filepath.Join(dir, "target.db") // an empty database: SELECT ? prepares on it

	// tmpl writes a template whose lines are, in order: name, connections,
	// duration, target, extra (one or more lines), then the workload; an
	// empty field is left out.
	type tmplArgs struct{ name, connections, duration, extra, opName, params string }
	tmpl := func(a tmplArgs) string {
		var b strings.Builder
		fmt.Fprintf(&b, "name: %s\n", cmpOr(a.name, "bad"))
		if a.connections != "" {
			fmt.Fprintf(&b, "connections: %s\n", a.connections)
		}
		if a.duration != "" {
			fmt.Fprintf(&b, "duration: %s\n", a.duration)
		}
		fmt.Fprintf(&b, "target: {dsn: %q}\n", target)
		b.WriteString(a.extra)
		fmt.Fprintf(&b, "workload:\n  operations:\n    - name: %s\n      sql: SELECT ?\n      params: [%s]\n",
			cmpOr(a.opName, "op"), cmpOr(a.params, "{gen: uniform, min: 1, max: 10}"))
		path := filepath.Join(t.TempDir(), "t.yaml")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := tmpl(tmplArgs{})
	longName := strings.Repeat("n", 1<<20)

	cases := []struct {
		name string
		args func(t *testing.T) []string
		code int
		want []string // in stderr
		not  []string // not in stderr
	}{
		{"connections flag 0", func(*testing.T) []string { return []string{"run", good, "--connections", "0"} },
			2, []string{"--connections: must be at least 1, got 0"}, nil},
		{"duration flag 0", func(*testing.T) []string { return []string{"run", good, "--duration", "0"} },
			2, []string{"--duration: must be positive, got 0"}, nil},
		{"workers flag 0", func(*testing.T) []string { return []string{"run", good, "--workers", "0"} },
			2, []string{"--workers: must be at least 1, got 0"}, nil},
		{"seed flag 0", func(*testing.T) []string { return []string{"run", good, "--seed", "0"} },
			2, []string{"--seed: must be at least 1, got 0"}, nil},
		{"capture flag empty", func(*testing.T) []string { return []string{"run", good, "--capture", ""} },
			2, []string{"--capture: empty"}, nil},
		{"connections 0 in the template", func(*testing.T) []string {
			return []string{"run", tmpl(tmplArgs{connections: "0"})}
		}, 2, []string{"t.yaml:2:1: connections: must be at least 1, got 0"}, nil},
		{"duration 0 in the template", func(*testing.T) []string {
			return []string{"run", tmpl(tmplArgs{duration: "0s"})}
		}, 2, []string{"t.yaml:2:1: duration: must be positive, got 0"}, nil},
		{"max_relaunches 0 in the template", func(*testing.T) []string {
			return []string{"run", tmpl(tmplArgs{extra: "control: {max_relaunches: 0}\n"})}
		}, 2, []string{"t.yaml:3:11: control.max_relaunches: 0 would take the default (3): give -1 for no relaunch"}, nil},
		{"sample limit 0 in the template", func(*testing.T) []string {
			return []string{"run", tmpl(tmplArgs{params: "{gen: sample, table: t, column: id, limit: 0}"})}
		}, 2, []string{"workload.operations[0].params[0].limit: must be positive, got 0"}, nil},
		{"negative rate names the flag", func(*testing.T) []string { return []string{"run", good, "--rate", "-5"} },
			2, []string{"--rate: must not be negative"}, []string{"t.yaml:"}},
		{"rate NaN", func(*testing.T) []string { return []string{"run", good, "--rate", "NaN"} },
			2, []string{"--rate: must be a finite number"}, nil},
		{"rate Inf", func(*testing.T) []string { return []string{"run", good, "--rate", "Inf"} },
			2, []string{"--rate: must be a finite number"}, nil},
		{"rate NaN in the template", func(*testing.T) []string {
			return []string{"run", tmpl(tmplArgs{extra: "rate: .nan\n"})}
		}, 2, []string{"t.yaml:3:1: rate: must be a finite number"}, nil},
		{"json output in a missing directory", func(*testing.T) []string {
			return []string{"run", good, "--json", "/nonexistent/dir/r.json"}
		}, 2, []string{"--json: cannot create /nonexistent/dir/r.json: directory /nonexistent/dir does not exist"}, nil},
		{"json output is a directory", func(t *testing.T) []string { return []string{"run", good, "--json", t.TempDir()} },
			2, []string{"--json: ", "is a directory"}, nil},
		{"export output in a missing directory", func(*testing.T) []string {
			return []string{"runs", "export", "some-run", "-o", "/nonexistent/dir/x.hdr"}
		}, 2, []string{"--output: cannot create /nonexistent/dir/x.hdr"}, []string{"not found", "some-run"}},
		{"missing template file before a dead store", func(t *testing.T) []string {
			return []string{"run", filepath.Join(t.TempDir(), "missing.yaml"), "--store",
				fmt.Sprintf("postgres://u:pw@127.0.0.1:%d/x?sslmode=disable&connect_timeout=1", testpg.ClosedPort(t))}
		}, 2, []string{"missing.yaml: no such file"}, []string{"postgres", "127.0.0.1"}},
		{"bad template before a dead store", func(t *testing.T) []string {
			return []string{"run", tmpl(tmplArgs{connections: "-1"}), "--store",
				fmt.Sprintf("postgres://u:pw@127.0.0.1:%d/x?sslmode=disable&connect_timeout=1", testpg.ClosedPort(t))}
		}, 2, []string{"t.yaml:2:1: connections: must be at least 1, got -1"}, []string{"127.0.0.1"}},
		{"sample of a missing table fails in the pre-flight", func(*testing.T) []string {
			return []string{"run", tmpl(tmplArgs{params: "{gen: sample, table: missing_table, column: id}"}), "--workers", "2", "--in-process"}
		}, 1, []string{"before load", "missing_table"}, nil},
		{"too many connections for the server", func(t *testing.T) []string {
			pg := testpg.DSN(t) // skips without a server
			return []string{"run", good, "--target", pg, "--connections", "10000"}
		}, 1, []string{"the run needs 10001 connections (1 workers × 10000, plus 1 for the run's meter", "but the target has", "max_connections"}, nil},
		{"operation name too long", func(*testing.T) []string {
			return []string{"run", tmpl(tmplArgs{opName: strings.Repeat("o", 200)})}
		}, 2, []string{"workload.operations[0].name: too long: 200 bytes, at most 128"}, nil},
		{"operation name of 1 MB", func(*testing.T) []string { return []string{"run", tmpl(tmplArgs{opName: longName})} },
			2, []string{"workload.operations[0].name: too long: 1048576 bytes"}, []string{strings.Repeat("n", 200)}},
		{"NUL in the operation name", func(*testing.T) []string { return []string{"run", tmpl(tmplArgs{opName: `"a\0b"`})} },
			2, []string{"workload.operations[0].name: holds a control character (U+0000"}, nil},
		{"NUL in the run name", func(*testing.T) []string { return []string{"run", tmpl(tmplArgs{name: `"a\0b"`})} },
			2, []string{"t.yaml:1:1: name: holds a control character (U+0000"}, nil},
		{"run name of 1 MB", func(*testing.T) []string { return []string{"run", tmpl(tmplArgs{name: longName})} },
			2, []string{"name: too long: 1048576 bytes"}, []string{strings.Repeat("n", 200)}},
		{"template saved under a NUL name", func(*testing.T) []string {
			return []string{"templates", "save", good, "--name", "a\x01b"}
		}, 1, []string{"template name: holds a control character (U+0001"}, nil},
		{"unknown target scheme lists the supported ones", func(*testing.T) []string {
			return []string{"run", good, "--target", "mysql://root:secret@127.0.0.1/db"}
		}, 2, []string{`--target: unknown driver "mysql" (forgotten import?); this unistore supports postgres://, postgresql://, snowflake://, sqlite://`}, []string{"secret"}},
		{"a DSN parameter the driver refuses", func(*testing.T) []string {
			return []string{"run", good, "--target", "postgres://root:secret@127.0.0.1/db?sslmode=disable&engine_procs=all"}
		}, 2, []string{`--target: postgres: bad DSN postgres://root:xxxxx@127.0.0.1/db?sslmode=disable&engine_procs=all: engine_procs="all": want shared or dedicated`}, []string{"secret"}},
		{"flush timeout 0", func(*testing.T) []string { return []string{"run", good, "--flush-timeout", "0"} },
			2, []string{"--flush-timeout: must be positive, got 0s"}, nil},
		{"flush timeout for a cluster's workers", func(*testing.T) []string {
			return []string{"run", good, "--flush-timeout", "2s", "--launcher", "external"}
		}, 2, []string{"--flush-timeout reaches in-process workers and worker processes, not those of --launcher external"}, nil},
		{"worker flush timeout 0", func(*testing.T) []string {
			return []string{"worker", "--run-id", "r", "--group", "0", "--flush-timeout", "0"}
		}, 2, []string{"worker: --flush-timeout: must be positive, got 0s"}, nil},
		{"unknown store scheme lists the supported ones", func(*testing.T) []string {
			return []string{"run", good, "--store", "mysql://root:secret@127.0.0.1/db"}
		}, 1, []string{`unknown store "mysql"`, "registered: postgres, postgresql, snowflake, sqlite"}, []string{"secret"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args(t)
			start := time.Now()
			_, stderr, code := unistoreIn(t, storeDSN, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%.2000s", w, stderr)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(stderr, w) {
					t.Errorf("stderr holds %q:\n%.2000s", w, stderr)
				}
			}
			if strings.Contains(stderr, "connections, warm-up") {
				t.Errorf("the run started:\n%.2000s", stderr)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %v to refuse", took)
			}
			if runs := listRunIDs(t, storeDSN); len(runs) != 0 {
				t.Fatalf("bad input left runs in the store: %v", runs)
			}
		})
	}

	t.Run("templates save strips the target password", func(t *testing.T) {
		const secret = "s3cret-pw"
		path := filepath.Join(t.TempDir(), "pw.yaml")
		body := strings.Replace(readFile(t, good), fmt.Sprintf("{dsn: %q}", target),
			"# the target\n  {dsn: \"postgres://bob:"+secret+"@db.example/bench?sslmode=disable&password="+secret+"\"}", 1)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := unistoreIn(t, storeDSN, "templates", "save", path, "--name", "with-pw")
		if code != 0 || !strings.Contains(stdout, "saved template with-pw") {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		if !strings.Contains(stderr, "password in target.dsn was removed before storing") || !strings.Contains(stderr, "PGPASSWORD") {
			t.Errorf("save says nothing of the removed password:\n%s", stderr)
		}
		shown, stderr, code := unistoreIn(t, storeDSN, "templates", "show", "with-pw")
		if code != 0 {
			t.Fatalf("show: exit %d\n%s", code, stderr)
		}
		if strings.Contains(shown, secret) || !strings.Contains(shown, `"postgres://bob@db.example/bench?sslmode=disable"`) ||
			!strings.Contains(shown, "workload:") || !strings.Contains(shown, "# the target") {
			t.Errorf("stored template:\n%s", shown)
		}
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// unistoreIn runs the binary with UNISTORE_STORE set to storeDSN.
func unistoreIn(t *testing.T, storeDSN string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "UNISTORE_STORE="+storeDSN)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func listRunIDs(t *testing.T, storeDSN string) []string {
	t.Helper()
	out, stderr, code := unistoreIn(t, storeDSN, "runs", "list", "--json", "--limit", "0")
	if code != 0 {
		t.Fatalf("runs list: exit %d\n%s", code, stderr)
	}
	var runs []struct {
		RunID string `json:"run_id"`
	}
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatalf("runs list: %v\n%s", err, out)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.RunID)
	}
	return ids
}
