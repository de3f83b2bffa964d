package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/internal/testpg"
)

// TestReadmeUsage runs the README's Usage block top to bottom, as a user
// on a fresh machine with only PostgreSQL would paste it (issue 9 §3):
// no --store and no UNISTORE_STORE (the per-user default store is created
// in an empty $XDG_DATA_HOME), in a directory of its own. What it changes,
// and only that: `./unistore` is the binary TestMain built with the
// block's own `go build`; the block's PostgreSQL DSN is a fresh test
// database (pgbench -i gets it too, at scale 1 for 10); each run is
// shortened to a second of measurement (and `run` to no warm-up).
func TestReadmeUsage(t *testing.T) {
	dsn := testpg.NewDatabase(t)
	// pgbench beside the server's binaries, else on the PATH.
	pgbench := filepath.Join(os.Getenv(testpg.EnvBin), "pgbench")
	if _, err := os.Stat(pgbench); err != nil {
		if pgbench, err = exec.LookPath("pgbench"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("no pgbench (%v) and CI=true: the README's Usage block cannot be checked (it ships with PostgreSQL)", err)
			}
			t.Skipf("no pgbench (%v): the Usage block starts with pgbench -i", err)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := usageCommands(t, string(readme))
	if len(cmds) < 4 || cmds[0] != "go build -o unistore ./cmd/unistore" {
		t.Fatalf("the Usage block does not start with the build: %q", cmds)
	}
	root, _ := filepath.Abs("../..")
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "examples"), filepath.Join(dir, "examples")); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "UNISTORE_STORE=") && !strings.HasPrefix(kv, "XDG_DATA_HOME=") {
			env = append(env, kv)
		}
	}
	env = append(env, "XDG_DATA_HOME="+t.TempDir())
	blockDSN := regexp.MustCompile(`postgres://postgres@127\.0\.0\.1/bench\b`)
	duration := regexp.MustCompile(`\s--duration \S+`)
	for _, c := range cmds[1:] {
		args := strings.Fields(blockDSN.ReplaceAllString(c, dsn))
		switch args[0] {
		case "pgbench":
			if strings.Join(args, " ") != "pgbench -i -s 10 bench" {
				t.Fatalf("pgbench line changed: %q; update this test", c)
			}
			args = []string{pgbench, "-i", "-s", "1", "-q", dsn}
		case "./unistore":
			args = strings.Fields(duration.ReplaceAllString(strings.Join(args, " "), ""))
			args[0] = bin
			args = append(args, "--duration", "1s")
			if args[1] == "run" {
				args = append(args, "--warmup", "0s", "-q")
			}
		default:
			t.Fatalf("a command this test does not know: %q", c)
		}
		var out bytes.Buffer
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, dir, &out, &out
		if err := cmd.Run(); err != nil {
			t.Errorf("README Usage: %s\n(run as %q): %v\n%s", c, args, err, out.String())
			continue
		}
		t.Logf("ok: %s", c)
	}
	if _, err := os.Stat(filepath.Join(dir, "result.json")); err != nil {
		t.Errorf("the first run's --json result.json: %v", err)
	}
}

// usageCommands returns the commands of the README's first sh block
// under "## Usage": continuation lines joined, comments and blank lines
// left out.
func usageCommands(t *testing.T, readme string) []string {
	t.Helper()
	_, sec, ok := strings.Cut(readme, "\n## Usage\n")
	if !ok {
		t.Fatal("README has no ## Usage section")
	}
	_, block, ok := strings.Cut(sec, "```sh\n")
	if !ok {
		t.Fatal("README's Usage section has no sh block")
	}
	block, _, _ = strings.Cut(block, "```")
	var cmds []string
	cur := ""
	for _, l := range strings.Split(block, "\n") {
		l = strings.TrimSpace(l)
		if cur == "" && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(l, `\`); ok {
			cur += s + " "
			continue
		}
		cmds = append(cmds, cur+l)
		cur = ""
	}
	return cmds
}

// TestReadmeExitStatuses: every exit status the command defines has its
// row in the README's Exit status table (issue 9 §5: document every exit
// code).
func TestReadmeExitStatuses(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "### Exit status\n")
	if !ok {
		t.Fatal("README has no ### Exit status section")
	}
	table, _, _ = strings.Cut(table, "\n### ")
	consts := regexp.MustCompile(`(?m)^\s+(exit\w+)\s+= (\d+)`).FindAllStringSubmatch(string(src), -1)
	if len(consts) < 6 {
		t.Fatalf("found %d exit statuses in main.go, want the const block's", len(consts))
	}
	for _, c := range consts {
		if !strings.Contains(table, "\n| "+c[2]+" |") {
			t.Errorf("exit status %s (%s) has no row in the README's Exit status table", c[2], c[1])
		}
	}
}
