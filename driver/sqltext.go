package driver

import (
	"strings"

	"github.com/unistore-bench/unistore/core"
)

// ClassifySQLState maps a SQL-standard SQLSTATE to its error class by the
// standard's two-character class (08 connection, 22 data, 23 constraint,
// 28 authorization, 40 transaction rollback, 42 syntax or access, 53/54
// resources; 57014 is a cancelled statement). Drivers check their vendor
// codes first and fall back to it.
func ClassifySQLState(state string) core.ErrorClass {
	if state == "57014" {
		return core.ErrTimeout
	}
	if len(state) < 2 {
		return core.ErrOther
	}
	switch state[:2] {
	case "08", "28":
		return core.ErrConnection
	case "40":
		return core.ErrSerialization
	case "23":
		return core.ErrConstraint
	case "22":
		return core.ErrData
	case "42":
		return core.ErrSyntax
	case "53", "54":
		return core.ErrResource
	}
	return core.ErrOther
}

// LeadingKeyword returns the first word of sql in upper case, after
// whitespace, comments (-- … and /* … */, and Snowflake's // …) and
// opening parentheses: "SELECT" for "/* x */ (select 1)". Drivers use it
// to tell statements that return rows from those that do not.
func LeadingKeyword(sql string) string {
	s := sql
	for {
		s = strings.TrimLeft(s, "( \t\r\n")
		switch {
		case strings.HasPrefix(s, "--"), strings.HasPrefix(s, "//"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
			continue
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s[2:], "*/")
			if i < 0 {
				return ""
			}
			s = s[2+i+2:]
			continue
		}
		break
	}
	if end := strings.IndexFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') }); end >= 0 {
		s = s[:end]
	}
	return strings.ToUpper(s)
}
