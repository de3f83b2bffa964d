package workload_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/workload"
)

// FuzzParse feeds arbitrary text to the template parser (YAML → spec →
// compiled workload). It never panics; it either fails with a located
// *workload.Error or returns a template whose workload compiles and whose
// names are usable, and a failure never echoes a 1 MB value back.
func FuzzParse(f *testing.F) {
	examples, _ := filepath.Glob("../examples/*.yaml")
	for _, p := range examples {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	op := "workload:\n  operations:\n    - {name: %s, sql: 'SELECT ?', params: [%s]}\n"
	for _, seed := range []string{
		"name: \"a\\0b\"\n" + strings.Replace(strings.Replace(op, "%s", "x", 1), "%s", "{gen: uniform, min: 1, max: 2}", 1),
		"name: n\n" + strings.Replace(strings.Replace(op, "%s", "\"a\\0b\"", 1), "%s", "{gen: uniform, min: 1, max: 2}", 1),
		"name: " + strings.Repeat("n", 1<<20) + "\n",
		"rate: .nan\nconnections: 0\nduration: 0s\n",
		"rate: .inf\nseed: 0\nworkers: 0\ncontrol: {max_relaunches: 0, lease: -1s}\n",
		"name: n\n" + strings.Replace(strings.Replace(op, "%s", "x", 1), "%s", "{gen: zipfian, min: 1, max: 9, theta: .nan}", 1),
		"name: n\n" + strings.Replace(strings.Replace(op, "%s", "x", 1), "%s", "{gen: sample, table: t, column: id, limit: 0}", 1),
		"a: &a [*a, *a]\n", "- - - -\n", "\x00", "{", "name: [1, 2]\n", "target: {dsn: \"postgres://u:pw@h/db\"}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := workload.Parse("f.yaml", data)
		if err != nil {
			var e *workload.Error
			if !errors.As(err, &e) || len(e.Problems) == 0 || !errors.Is(err, core.ErrInvalidSpec) {
				t.Fatalf("Parse error %T %v: want a *workload.Error with problems", err, err)
			}
			if len(data) > 1<<16 && len(err.Error()) > len(data)/2 {
				t.Fatalf("the error echoes the input: %d bytes of message for %d of input", len(err.Error()), len(data))
			}
			return
		}
		if _, err := tmpl.Compile(); err != nil {
			t.Fatalf("Parse accepted a template that does not compile: %v", err)
		}
		for i, o := range tmpl.Spec.Workload.Operations {
			if msg := core.CheckName(o.Name); msg != "" {
				t.Fatalf("operation %d name accepted: %s", i, msg)
			}
		}
		_ = tmpl.Locate(tmpl.Spec.Validate()) // must not panic
		if err := tmpl.Spec.CheckGiven(func(string) bool { return false }); err != nil {
			t.Fatalf("CheckGiven with nothing given: %v", err)
		}
	})
}
