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
