package unistore_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNoBinariesCommitted: no file git tracks is a build output or a
// database (issue 9 §3: an 11 MB `unistore` build was committed once).
// scripts/test.sh checks the same with file(1); this holds it in
// `go test` too. Outside a git checkout (a source tarball) it skips.
func TestNoBinariesCommitted(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	magic := map[string][]byte{
		"an ELF executable":   []byte("\x7fELF"),
		"a SQLite database":   []byte("SQLite format 3\x00"),
		"a Mach-O executable": []byte("\xcf\xfa\xed\xfe"),
		"a PE executable":     []byte("MZ"),
	}
	for _, path := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		f, err := os.Open(path)
		if err != nil {
			continue // deleted in the work tree, not yet in the index
		}
		head := make([]byte, 16)
		n, _ := f.Read(head)
		f.Close()
		for what, m := range magic {
			if bytes.HasPrefix(head[:n], m) {
				t.Errorf("%s is %s: build outputs and databases are never committed (git rm --cached it)", path, what)
			}
		}
	}
}
