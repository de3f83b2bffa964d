package orchestrator_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// The orchestrator meets its workers in package control; only the
// in-process launcher, which starts workers, may import package worker.
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
			if path == "github.com/unistore-bench/unistore/worker" && name != "inprocess.go" {
				t.Errorf("%s imports package worker; only inprocess.go may", name)
			}
		}
	}
}
