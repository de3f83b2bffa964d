package core_test

import (
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/core"
)

func TestStripSecrets(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://bob:pw@db/bench?sslmode=disable", "postgres://bob@db/bench?sslmode=disable"},
		{"postgres://bob@db/bench?password=pw&sslmode=disable", "postgres://bob@db/bench?sslmode=disable"},
		{"host=db user=bob password=pw dbname=bench", "host=db user=bob dbname=bench"},
		{"snowflake://u@acct/db?private_key_file_pwd=k&warehouse=w", "snowflake://u@acct/db?warehouse=w"},
		{"sqlite://./x.db", "sqlite://./x.db"},
	}
	for _, c := range cases {
		got, changed := core.StripSecrets(c.in)
		if got != c.want || changed != (c.in != c.want) {
			t.Errorf("StripSecrets(%q) = %q, %v; want %q", c.in, got, changed, c.want)
		}
		if strings.Contains(got, "pw") || strings.Contains(got, "=k") {
			t.Errorf("StripSecrets(%q) = %q keeps a secret", c.in, got)
		}
	}
}

func TestCheckGiven(t *testing.T) {
	var s core.Spec // every defaulted field zero
	all := func(string) bool { return true }
	err := s.CheckGiven(all)
	fe, _ := err.(core.FieldErrors)
	got := map[string]bool{}
	for _, f := range fe {
		got[f.Path] = true
	}
	for _, p := range []string{"connections", "duration", "seed", "workers", "capture", "control.poll", "control.lease", "control.max_relaunches"} {
		if !got[p] {
			t.Errorf("an explicit zero %s is not reported: %v", p, err)
		}
	}
	if err := s.CheckGiven(func(string) bool { return false }); err != nil {
		t.Errorf("absent fields reported: %v", err)
	}
	if err := s.WithDefaults().CheckGiven(all); err != nil {
		t.Errorf("defaulted spec reported: %v", err)
	}
}

func TestCheckName(t *testing.T) {
	for name, bad := range map[string]bool{"ok_name-1": false, "héllo wörld": false, strings.Repeat("x", 128): false,
		strings.Repeat("x", 129): true, "a\x00b": true, "tab\there": true, "\xff": true} {
		if got := core.CheckName(name) != ""; got != bad {
			t.Errorf("CheckName(%.20q) bad = %v, want %v", name, got, bad)
		}
	}
}

// TestResources: worker resources take Kubernetes quantities; anything
// else is an error naming the field.
func TestResources(t *testing.T) {
	base := core.Spec{Target: core.Target{DSN: "sqlite://x.db"}}
	for _, ok := range []core.Resources{{}, {CPU: "2"}, {CPU: "500m", Memory: "512Mi"}, {CPU: "1.5", Memory: "2G"}, {Memory: "1e9"}} {
		s := base
		s.Resources = ok
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
	for _, bad := range []struct {
		r    core.Resources
		path string
	}{{core.Resources{CPU: "two"}, "resources.cpu"}, {core.Resources{Memory: "1 Gi"}, "resources.memory"}, {core.Resources{CPU: "-1"}, "resources.cpu"}} {
		s := base
		s.Resources = bad.r
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), bad.path) {
			t.Errorf("%+v: %v, want an error naming %s", bad.r, err, bad.path)
		}
	}
}
