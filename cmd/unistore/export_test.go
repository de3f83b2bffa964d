package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportWholeOrNothing: `runs export -o FILE` that fails leaves no
// file behind, and never spoils one that was there; one that succeeds
// writes the whole file and no temporary beside it.
func TestExportWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "new.hdr")
	if _, errOut, code := unistore(t, "runs", "export", "no-such-run", "-o", out); code == 0 || !strings.Contains(errOut, "not found") {
		t.Fatalf("export of a missing run: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed export left %s: %v", out, err)
	}
	old := filepath.Join(dir, "old.hdr")
	if err := os.WriteFile(old, []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, code := unistore(t, "runs", "export", "no-such-run", "-o", old); code == 0 {
		t.Fatal("export of a missing run succeeded")
	}
	if b, _ := os.ReadFile(old); string(b) != "kept\n" {
		t.Errorf("a failed export changed %s to %q", old, b)
	}
	if _, errOut, code := unistore(t, "runs", "export", "no-such-run", "--phase", "cooldown"); code != 2 || !strings.Contains(errOut, "--phase") {
		t.Errorf("--phase cooldown: exit %d, %s; want 2 naming --phase", code, errOut)
	}

	// A run to export: quickstart records one in the tests' store.
	db := filepath.Join(dir, "q.db")
	if _, errOut, code := unistore(t, "quickstart", "--db", db, "--duration", "1s"); code != 0 {
		t.Fatalf("quickstart: exit %d\n%s", code, errOut)
	}
	list, _, _ := unistore(t, "runs", "list", "--limit", "1")
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	if _, errOut, code := unistore(t, "runs", "export", id, "-o", out); code != 0 {
		t.Fatalf("export: exit %d, %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), "Tag=") || strings.Contains(string(b), "Tag=warmup:") {
		t.Errorf("exported %s: %v\n%.300s", out, err, b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}
