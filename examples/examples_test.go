package examples_test

import (
	"io/fs"
	"testing"

	"github.com/unistore-bench/unistore/examples"
	"github.com/unistore-bench/unistore/workload"
)

// TestTemplatesValid: every example template parses and compiles.
func TestTemplatesValid(t *testing.T) {
	names, err := fs.Glob(examples.Templates, "*.yaml")
	if err != nil || len(names) < 3 {
		t.Fatalf("example templates: %v, %v", names, err)
	}
	for _, name := range names {
		data, err := examples.Templates.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := workload.Parse("examples/"+name, data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := tpl.Compile(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
