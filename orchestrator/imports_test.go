package orchestrator_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// The orchestrator meets its workers in package control. Two files may
// import package worker: the in-process launcher, which starts workers,
// and the preflight, which is a worker's own connect-and-prepare
// (worker.Preflight) — reused, so the check cannot drift from what the
// loops will do.
var mayImportWorker = map[string]bool{"inprocess.go": true, "preflight.go": true}

func TestOnlyInProcessImportsWorker(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if filepath.Ext(name) != ".go" || len(name) > 8 && name[len(name)-8:] == "_test.go" {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "github.com/unistore-bench/unistore/worker" && !mayImportWorker[name] {
				t.Errorf("%s imports package worker; only %v may", name, mayImportWorker)
			}
		}
	}
}
