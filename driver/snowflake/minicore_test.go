package snowflake_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/driver/snowflake"
)

const childEnv = "UNISTORE_SNOWFLAKE_INIT_CHILD"

// TestMinicoreInitOrder runs this test binary again with SF_DISABLE_MINICORE
// unset and GODEBUG=inittrace=1, and checks that internal/sfenv's init ran
// before gosnowflake's (whose init starts loading the minicore when the
// variable is not "true") and that the variable was "true" by then.
func TestMinicoreInitOrder(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		// The child: nothing of ours has run but package inits.
		if got := os.Getenv(snowflake.EnvDisableMinicore); got != "true" {
			t.Fatalf("child: %s = %q after init, want true", snowflake.EnvDisableMinicore, got)
		}
		return
	}
	tmp, home := t.TempDir(), t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMinicoreInitOrder$", "-test.count=1")
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case snowflake.EnvDisableMinicore, "GODEBUG", "TMPDIR", "HOME", childEnv:
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, childEnv+"=1", "GODEBUG=inittrace=1", "TMPDIR="+tmp, "HOME="+home)
	cmd.Dir = t.TempDir()
	var stderr, stdout bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, &stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s\n%s", err, stdout.String(), tail(stderr.String()))
	}
	sfenvAt, gosnowflakeAt := -1, -1
	for i, line := range strings.Split(stderr.String(), "\n") {
		switch {
		case strings.HasPrefix(line, "init github.com/unistore-bench/unistore/driver/snowflake/internal/sfenv @"):
			sfenvAt = i
		case strings.HasPrefix(line, "init github.com/snowflakedb/gosnowflake @"):
			gosnowflakeAt = i
		}
	}
	if sfenvAt < 0 || gosnowflakeAt < 0 {
		t.Fatalf("inittrace lacks sfenv (%d) or gosnowflake (%d):\n%s", sfenvAt, gosnowflakeAt, tail(stderr.String()))
	}
	t.Logf("inittrace: sfenv at line %d, gosnowflake at line %d", sfenvAt, gosnowflakeAt)
	if sfenvAt > gosnowflakeAt {
		t.Errorf("sfenv initialized after gosnowflake (inittrace lines %d > %d): minicore loading has started", sfenvAt, gosnowflakeAt)
	}
	// Belt and braces: a loading minicore writes libsf_mini_core_* into
	// $TMPDIR/gosnowflake-cgo*, ~/.cache/snowflake/minicore or the working
	// directory. (Absence after exit is weaker evidence than the order
	// above, since the loader removes its file once loaded.)
	for _, pattern := range []string{filepath.Join(tmp, "gosnowflake-cgo*"), filepath.Join(home, ".cache", "snowflake", "minicore"),
		filepath.Join(cmd.Dir, "libsf_mini_core*")} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			t.Errorf("minicore files appeared: %v", m)
		}
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
