package unistore_test

import (
	"flag"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var updateGraph = flag.Bool("update", false, "rewrite the README's package graph")

// TestReadmeGraph checks the README's package graph against `go list`:
// each of our packages (examples, internal helpers and test suites aside)
// and the packages of ours it imports.
func TestReadmeGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}:{{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	const mod = "github.com/unistore-bench/unistore"
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imps, _ := strings.Cut(line, ":")
		name := strings.TrimPrefix(strings.TrimPrefix(pkg, mod), "/")
		if name == "" {
			name = "unistore (root)"
		}
		if strings.HasPrefix(name, "examples") || strings.HasPrefix(name, "internal/") || strings.HasSuffix(name, "test") {
			continue
		}
		var ours []string
		for _, imp := range strings.Fields(imps) {
			if imp == mod {
				ours = append(ours, "unistore")
			} else if rest, ok := strings.CutPrefix(imp, mod+"/"); ok && !strings.HasPrefix(rest, "examples") {
				ours = append(ours, rest)
			}
		}
		slices.Sort(ours)
		b.WriteString(strings.TrimRight(name+" -> "+strings.Join(ours, " "), " ") + "\n")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)(<!-- graph -->\n```\n)(.*?)(```\n<!-- /graph -->)")
	m := re.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no <!-- graph --> block")
	}
	if *updateGraph {
		readme = re.ReplaceAll(readme, []byte("${1}"+strings.ReplaceAll(b.String(), "$", "$$")+"${3}"))
		if err := os.WriteFile("README.md", readme, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got, want := string(m[2]), b.String(); got != want {
		t.Errorf("README.md's package graph is out of date (go test -run TestReadmeGraph -update):\n got:\n%s\nwant:\n%s", got, want)
	}
}
