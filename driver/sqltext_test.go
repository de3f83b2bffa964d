package driver_test

import (
	"testing"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

func TestLeadingKeyword(t *testing.T) {
	for sql, want := range map[string]string{
		"select 1":                         "SELECT",
		"  /* hint */ (SELECT 1)":          "SELECT",
		"-- c\n// d\nwith x as (select 1)": "WITH",
		"UPDATE t SET v = 1":               "UPDATE",
		"/* unterminated":                  "",
		"-- only a comment":                "",
		"":                                 "",
	} {
		if got := driver.LeadingKeyword(sql); got != want {
			t.Errorf("LeadingKeyword(%q) = %q, want %q", sql, got, want)
		}
	}
}

func TestClassifySQLState(t *testing.T) {
	for state, want := range map[string]core.ErrorClass{
		"57014": core.ErrTimeout, "08006": core.ErrConnection, "28P01": core.ErrConnection,
		"40001": core.ErrSerialization, "23505": core.ErrConstraint, "22P02": core.ErrData,
		"42P01": core.ErrSyntax, "53300": core.ErrResource, "XX000": core.ErrOther, "": core.ErrOther,
	} {
		if got := driver.ClassifySQLState(state); got != want {
			t.Errorf("ClassifySQLState(%q) = %v, want %v", state, got, want)
		}
	}
}
