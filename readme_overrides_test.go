package unistore_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore"
)

// TestReadmeOverrides checks that the HTTP API table's POST /api/v1/runs
// row lists every override the body takes (Overrides' JSON names).
func TestReadmeOverrides(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| `POST /api/v1/runs`") {
			row = line
		}
	}
	if row == "" {
		t.Fatal("README.md: no `POST /api/v1/runs` row in the HTTP API table")
	}
	_, list, _ := strings.Cut(row, "plus any of `")
	list, _, _ = strings.Cut(list, "`")
	listed := map[string]bool{}
	for _, f := range strings.Split(list, ",") {
		listed[strings.TrimSpace(f)] = true
	}
	typ := reflect.TypeFor[unistore.Overrides]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if !listed[name] {
			t.Errorf("README.md: the POST /api/v1/runs row lacks the override %q", name)
		}
	}
}
