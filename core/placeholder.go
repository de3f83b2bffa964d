package core

import "strings"

// Templates use one placeholder style: "?" for each bound parameter, in
// order. Placeholders inside string literals, quoted identifiers, dollar-quoted
// strings and comments are not placeholders.

// CountPlaceholders returns the number of "?" placeholders in sql.
func CountPlaceholders(sql string) int {
	n := 0
	scanPlaceholders(sql, func(int) { n++ })
	return n
}

// RewritePlaceholders replaces the i-th placeholder (from 1) with repl(i),
// e.g. "$1" for PostgreSQL. Text outside placeholders is kept as is.
func RewritePlaceholders(sql string, repl func(i int) string) string {
	var b strings.Builder
	last, n := 0, 0
	scanPlaceholders(sql, func(pos int) {
		n++
		b.WriteString(sql[last:pos])
		b.WriteString(repl(n))
		last = pos + 1
	})
	if n == 0 {
		return sql
	}
	b.WriteString(sql[last:])
	return b.String()
}

func scanPlaceholders(s string, found func(pos int)) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '?':
			found(i)
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(s, i, c)
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return
			}
			i += 2 + end + 1
		case c == '$':
			// dollar quoting: $$…$$ or $tag$…$tag$
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9' && j > i+1) {
				j++
			}
			if j < len(s) && s[j] == '$' {
				tag := s[i : j+1]
				end := strings.Index(s[j+1:], tag)
				if end < 0 {
					return
				}
				i = j + 1 + end + len(tag) - 1
			}
		}
	}
}

// skipQuoted returns the index of the quote closing the literal opened at i;
// a doubled quote is an escaped quote.
func skipQuoted(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j
		}
	}
	return len(s)
}
