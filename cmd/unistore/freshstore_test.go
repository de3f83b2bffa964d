package main_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestFreshCheckoutDefaultStore: with no --store and no UNISTORE_STORE, the
// first `unistore run` creates the per-user default store
// ($XDG_DATA_HOME/unistore/unistore.db) with its schema and says so; the
// next run and `runs list` use it without creating anything.
func TestFreshCheckoutDefaultStore(t *testing.T) {
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "UNISTORE_STORE=") && !strings.HasPrefix(kv, "XDG_DATA_HOME=") {
			env = append(env, kv)
		}
	}
	env = append(env, "XDG_DATA_HOME="+home)
	run := func(args ...string) (string, string, int) {
		t.Helper()
		var o, e bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, t.TempDir(), &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return o.String(), e.String(), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), 0
	}
	tmpl := filepath.Join(t.TempDir(), "t.yaml")
	target := "sqlite://" + filepath.Join(t.TempDir(), "target.db")
	os.WriteFile(tmpl, []byte("name: fresh\nconnections: 1\nwarmup: 0s\nduration: 300ms\ntarget: {dsn: \""+target+
		"\"}\nworkload:\n  operations:\n    - {name: one, sql: 'SELECT ?', params: [{gen: uniform, min: 1, max: 9}]}\n"), 0o644)

	want := "sqlite://" + filepath.Join(home, "unistore", "unistore.db")
	_, stderr, code := run("run", tmpl, "-q")
	if code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "created the results store "+want) || !strings.Contains(stderr, "recorded in "+want) {
		t.Errorf("first run does not say where it created and recorded the run (%s):\n%s", want, stderr)
	}
	_, stderr, code = run("run", tmpl, "-q")
	if code != 0 || strings.Contains(stderr, "created the results store") {
		t.Errorf("second run: exit %d, or it created the store again:\n%s", code, stderr)
	}
	out, stderr, code := run("runs", "list", "--json")
	var runs []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &runs) != nil || len(runs) != 2 {
		t.Errorf("runs list: exit %d, %d runs, want 2\n%s%s", code, len(runs), out, stderr)
	}

	// A default store an older unistore set up (its newest script not yet
	// applied) is brought up to date in place, not refused.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(home, "unistore", "unistore.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM schema_version WHERE version = (SELECT MAX(version) FROM schema_version)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, stderr, code = run("runs", "list"); code != 0 {
		t.Errorf("runs list on a default store of an older schema: exit %d, want it upgraded\n%s", code, stderr)
	}
	if _, stderr, code = run("runs", "list", "--store", want); code != 0 {
		t.Errorf("the upgraded default store, named: exit %d\n%s", code, stderr)
	}

	// A store the user names never gets DDL: an empty file stays an error.
	empty := "sqlite://" + filepath.Join(t.TempDir(), "empty.db")
	_, stderr, code = run("run", tmpl, "-q", "--store", empty)
	if code == 0 || !strings.Contains(stderr, "has no unistore schema: run `unistore schema apply --store "+empty) {
		t.Errorf("explicit store without schema: exit %d\n%s", code, stderr)
	}
}
