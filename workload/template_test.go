package workload_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/workload"
)

// head is lines 1–5 of most bad templates; operations start on line 6.
const head = `name: t
connections: 4
duration: 15s
workload:
  operations:
`

// where is one expected problem: its line, field path and a piece of its message.
type where struct {
	Line int
	Path string
	Msg  string
}

func TestBadTemplates(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []where
	}{
		{"unknown generator", head + `
    - name: a
      sql: SELECT ?
      params:
        - {gen: gaussian, min: 1, max: 2}
`[1:], []where{{9, "workload.operations[0].params[0].gen", `unknown generator "gaussian": want one of choice, now, sample`}}},
		{"params count differs from placeholders", head + `
    - name: a
      sql: SELECT ? + ?
      params:
        - {gen: uniform, min: 1, max: 2}
`[1:], []where{{8, "workload.operations[0].params", "sql has 2 placeholders (?) but 1 param is given"}}},
		{"weight zero", head + `
    - name: a
      weight: 0
      sql: SELECT 1
`[1:], []where{{7, "workload.operations[0].weight", "must be positive, got 0"}}},
		{"weight negative", head + `
    - name: a
      sql: SELECT 1
    - name: b
      weight: -1.5
      sql: SELECT 2
`[1:], []where{{9, "workload.operations[1].weight", "must be positive, got -1.5"}}},
		{"missing sql points at the operation", head + `
    - name: a
      sql: SELECT 1
    - name: b
      weight: 2
`[1:], []where{{8, "workload.operations[1].sql", "missing"}}},
		{"missing name", head + `
    - sql: SELECT 1
`[1:], []where{{6, "workload.operations[0].name", "missing"}}},
		{"duplicate name", head + `
    - name: a
      sql: SELECT 1
    - name: a
      sql: SELECT 2
`[1:], []where{{8, "workload.operations[1].name", `duplicate name "a" (also operations[0])`}}},
		{"bad duration", `name: t
connections: 4
warmup: 5 parsecs
duration: 15s
workload: {operations: [{name: a, sql: SELECT 1}]}
`, []where{{3, "warmup", `bad duration "5 parsecs"`}}},
		{"duration without unit", `name: t
duration: 15
workload: {operations: [{name: a, sql: SELECT 1}]}
`, []where{{2, "duration", `bad duration "15"`}}},
		{"connections not a number", `name: t
connections: many
workload: {operations: [{name: a, sql: SELECT 1}]}
`, []where{{2, "connections", `want an integer, got "many"`}}},
		{"unknown field", head + `
    - name: a
      sqll: SELECT 1
`[1:], []where{
			{6, "workload.operations[0].sql", "missing"},
			{7, "workload.operations[0].sqll", `unknown field "sqll" (did you mean "sql"?)`},
		}},
		{"unknown top-level field", `name: t
durration: 15s
workload: {operations: [{name: a, sql: SELECT 1}]}
`, []where{{2, "durration", `unknown field "durration" (did you mean "duration"?)`}}},
		{"duplicate field", head + `
    - name: a
      sql: SELECT 1
      sql: SELECT 2
`[1:], []where{{8, "workload.operations[0].sql", "duplicate field (first at line 7)"}}},
		{"zipfian min greater than max", head + `
    - name: a
      sql: SELECT ?
      params:
        - gen: zipfian
          min: 10
          max: 5
`[1:], []where{{10, "workload.operations[0].params[0].min", "min (10) is greater than max (5)"}}},
		{"zipfian theta 1", head + `
    - name: a
      sql: SELECT ?
      params:
        - {gen: zipfian, min: 1, max: 5, theta: 1}
`[1:], []where{{9, "workload.operations[0].params[0].theta", "must be greater than 0 and not 1"}}},
		{"uniform without max", head + `
    - name: a
      sql: SELECT ?
      params:
        - {gen: uniform, min: 1}
`[1:], []where{{9, "workload.operations[0].params[0].max", "missing: uniform needs min and max"}}},
		{"empty choice", head + `
    - name: a
      sql: SELECT ?
      params:
        - gen: choice
          values: []
`[1:], []where{{10, "workload.operations[0].params[0].values", "choice needs at least one value"}}},
		{"sample without table", head + `
    - name: a
      sql: SELECT ?
      params:
        - gen: sample
          column: id
`[1:], []where{{9, "workload.operations[0].params[0].table", "missing: sample needs the table"}}},
		{"sample table is not an identifier", head + `
    - name: a
      sql: SELECT ?
      params:
        - {gen: sample, table: "t; DROP TABLE x", column: id}
`[1:], []where{{9, "workload.operations[0].params[0].table", `"t; DROP TABLE x" is not a table name`}}},
		{"field of another generator", head + `
    - name: a
      sql: SELECT ?
      params:
        - gen: uniform
          min: 1
          max: 9
          max_len: 5
`[1:], []where{{12, "workload.operations[0].params[0].max_len", "does not apply to generator uniform (it takes min, max)"}}},
		{"string without max_len", head + `
    - name: a
      sql: SELECT ?
      params:
        - {gen: string, min_len: 4}
`[1:], []where{{9, "workload.operations[0].params[0].max_len", "must be positive"}}},
		{"sequence span zero", head + `
    - name: a
      sql: SELECT ?
      params:
        - {gen: sequence, span: 0}
`[1:], []where{{9, "workload.operations[0].params[0].span", "must be positive, got 0"}}},
		{"params not a list", head + `
    - name: a
      sql: SELECT ?
      params: {gen: uniform}
`[1:], []where{{8, "workload.operations[0].params", "want a list, got a mapping"}}},
		{"no operations", `name: t
workload:
  operations: []
`, []where{{3, "workload.operations", "no operations"}}},
		{"no workload", `name: t
duration: 15s
`, []where{{1, "workload.operations", "no operations"}}},
		{"empty file", "", []where{{1, "", "empty template"}}},
		{"yaml syntax", `name: t
workload: {operations: [
`, []where{{2, "", "bad YAML: did not find expected node content"}}},
		{"two documents", `name: t
workload: {operations: [{name: a, sql: SELECT 1}]}
---
name: u
`, []where{{3, "", "a second YAML document"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := workload.Parse("bad.yaml", []byte(tt.yaml))
			checkProblems(t, tmpl, err, "bad.yaml", tt.want)
		})
	}
}

// TestBadTemplateAllProblems: one file with many problems gets all of them,
// in file order, each with its line and field.
func TestBadTemplateAllProblems(t *testing.T) {
	tmpl, err := workload.LoadFile("testdata/bad-many.yaml")
	checkProblems(t, tmpl, err, "testdata/bad-many.yaml", []where{
		{2, "connections", `want an integer, got "many"`},
		{3, "warmup", `bad duration "5 parsecs"`},
		{7, "workload.operations[0].sql", "missing"},
		{8, "workload.operations[0].weight", "must be positive, got 0"},
		{9, "workload.operations[0].sqll", `unknown field "sqll"`},
		{10, "workload.operations[1].name", `duplicate name "a"`},
		{11, "workload.operations[1].weight", "must be positive, got -2"},
		{13, "workload.operations[1].params", "sql has 2 placeholders (?) but 1 param is given"},
		{17, "workload.operations[2].params", "sql has 1 placeholder (?) but 2 params are given"},
		{19, "workload.operations[2].params[0].min", "min (10) is greater than max (5)"},
		{21, "workload.operations[2].params[1].gen", `unknown generator "bogus"`},
	})
}

func checkProblems(t *testing.T, tmpl *workload.Template, err error, file string, want []where) {
	t.Helper()
	if tmpl != nil || err == nil {
		t.Fatalf("Parse = %v, %v; want an error", tmpl, err)
	}
	if !errors.Is(err, core.ErrInvalidSpec) {
		t.Errorf("errors.Is(err, core.ErrInvalidSpec) = false for %v", err)
	}
	var e *workload.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not a *workload.Error: %v", err, err)
	}
	var got []where
	for _, p := range e.Problems {
		got = append(got, where{p.Line, p.Path, p.Msg})
	}
	msgContains := cmp.Comparer(func(a, b where) bool {
		return a.Line == b.Line && a.Path == b.Path && (strings.Contains(a.Msg, b.Msg) || strings.Contains(b.Msg, a.Msg))
	})
	if diff := cmp.Diff(got, want, msgContains); diff != "" {
		t.Errorf("problems (-got +want):\n%s\nerror:\n%v", diff, err)
	}
	// Every line of the message names the file and the line.
	lines := strings.Split(err.Error(), "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, file+":") || i < len(want) && !strings.Contains(line, want[i].Path) {
			t.Errorf("error line %q does not read %s:LINE:COL: %s: …", line, file, want[min(i, len(want)-1)].Path)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := workload.Parse("bench.yaml", []byte(head+`
    - name: a
      sql: SELECT ?
      params:
        - {gen: gaussian}
`[1:]))
	want := `bench.yaml:9:12: workload.operations[0].params[0].gen: unknown generator "gaussian": want one of choice, now, sample, sequence, string, uniform, zipfian`
	if err == nil || err.Error() != want {
		t.Errorf("error\n got %v\nwant %s", err, want)
	}
}

func TestParseTemplate(t *testing.T) {
	tmpl, err := workload.LoadFile("testdata/pgbench-select.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := core.Spec{
		Name:        "pgbench-select",
		Target:      core.Target{DSN: "postgres://postgres@127.0.0.1:5432/bench"},
		Connections: 8,
		Warmup:      core.Duration(2e9),
		Duration:    core.Duration(15e9),
		Seed:        42,
		Workload: core.WorkloadSpec{Operations: []core.OperationSpec{{
			Name:   "select_balance",
			Weight: f64(1),
			SQL:    "SELECT abalance FROM pgbench_accounts WHERE aid = ?",
			Params: []core.ParamSpec{{Gen: "uniform", Min: i64(1), Max: i64(1_000_000)}},
		}}},
	}
	if diff := cmp.Diff(tmpl.Spec, want); diff != "" {
		t.Errorf("Spec (-got +want):\n%s", diff)
	}
	c, err := tmpl.Compile()
	if err != nil {
		t.Fatal(err)
	}
	wantOps := []workload.Operation{{Name: "select_balance", Weight: 1, SQL: "SELECT abalance FROM pgbench_accounts WHERE aid = ?"}}
	if diff := cmp.Diff(c.Operations(), wantOps); diff != "" {
		t.Errorf("Operations (-got +want):\n%s", diff)
	}
}

// TestParseAnchors: YAML anchors, aliases and merge keys work.
func TestParseAnchors(t *testing.T) {
	tmpl, err := workload.Parse("a.yaml", []byte(`name: t
workload:
  operations:
    - &read
      name: read
      sql: SELECT v FROM kv WHERE k = ?
      params: [&key {gen: zipfian, min: 1, max: 1000}]
    - <<: *read
      name: read2
      weight: 3
    - {name: write, sql: "UPDATE kv SET v = ? WHERE k = ?", params: [{gen: string, max_len: 8}, *key]}
`))
	if err != nil {
		t.Fatal(err)
	}
	ops := tmpl.Spec.Workload.Operations
	if len(ops) != 3 || ops[1].SQL != ops[0].SQL || *ops[1].Weight != 3 || ops[2].Params[1].Gen != "zipfian" {
		t.Errorf("operations = %+v", ops)
	}
}

func TestLocate(t *testing.T) {
	tmpl, err := workload.Parse("run.yaml", []byte(`name: t
connections: -1
workload:
  operations:
    - name: get
      sql: SELECT * FROM users WHERE id = ?
      params:
        - gen: sample
          table: users
          column: id
`))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Spec.Validate", func(t *testing.T) {
		// A field the file lacks (target.dsn) points at its nearest parent: the root.
		err := tmpl.Locate(tmpl.Spec.Validate())
		var e *workload.Error
		if !errors.As(err, &e) || !errors.Is(err, core.ErrInvalidSpec) {
			t.Fatalf("Locate = %v, want a *workload.Error", err)
		}
		got := []where{}
		for _, p := range e.Problems {
			got = append(got, where{p.Line, p.Path, ""})
		}
		want := []where{{1, "target.dsn", ""}, {2, "connections", ""}}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("located (-got +want):\n%s\n%v", diff, err)
		}
	})
	t.Run("Prepare", func(t *testing.T) {
		c, err := tmpl.Compile()
		if err != nil {
			t.Fatal(err)
		}
		err = tmpl.Locate(c.Prepare(context.Background(), fakeQuerier{}))
		if err == nil || !strings.HasPrefix(err.Error(), "run.yaml:9:11: workload.operations[0].params[0].table: ") {
			t.Errorf("Locate(Prepare) = %v, want it at the table field, line 9", err)
		}
	})
	t.Run("other errors pass through", func(t *testing.T) {
		other := errors.New("boom")
		if got := tmpl.Locate(other); got != other {
			t.Errorf("Locate(boom) = %v", got)
		}
		if got := tmpl.Locate(nil); got != nil {
			t.Errorf("Locate(nil) = %v", got)
		}
	})
}

func TestLoadFileMissing(t *testing.T) {
	_, err := workload.LoadFile("testdata/no-such-file.yaml")
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, core.ErrInvalidSpec) {
		t.Errorf("LoadFile = %v, want a not-exist error", err)
	}
}

// TestParseAliasBomb: nested aliases that would expand to billions of nodes
// are cut off with an error instead of exhausting memory.
func TestParseAliasBomb(t *testing.T) {
	refs := func(name string, n int) string {
		return "[" + strings.Repeat("*"+name+", ", n-1) + "*" + name + "]"
	}
	y := "name: &v [" + strings.Repeat("x, ", 1999) + "x]\n" +
		"target: {driver: &p {gen: choice, values: *v}}\n" +
		"seed: &o {name: a, sql: 'SELECT ?', params: " + refs("p", 2000) + "}\n" +
		"workload: {operations: " + refs("o", 2000) + "}\n"
	_, err := workload.Parse("bomb.yaml", []byte(y))
	if err == nil || !strings.Contains(err.Error(), "template too large") {
		t.Errorf("Parse = %.300v…, want a too-large error", err)
	}
}
