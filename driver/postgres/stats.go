package postgres

// pg_stat_statements, for the server's view of a run (package serverstats).

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/unistore-bench/unistore/driver"
)

var _ driver.StatementStatser = (*conn)(nil)

// StatementStats implements driver.StatementStatser over pg_stat_statements:
// the entries of this database and this connection's user whose query
// text, normalized, is one of sqls normalized (NormalizeStatement), summed.
// Every statement mode matches: prepared and raw statements are recorded
// with their $n parameters, extended likewise, and simple-protocol
// statements (values interpolated by the client) with each constant
// replaced by $n — the same text once normalized. Without the extension in
// this database it returns driver.ErrNoStatementStats.
func (c *conn) StatementStats(ctx context.Context, sqls []string) ([]driver.StatementStat, error) {
	c.raw.leave()
	var have bool
	if err := c.pgx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')`,
		pgx.QueryExecModeSimpleProtocol).Scan(&have); err != nil {
		return nil, fmt.Errorf("postgres: look for pg_stat_statements: %w", err)
	}
	if !have {
		return nil, fmt.Errorf("postgres: pg_stat_statements is not installed in this database (CREATE EXTENSION pg_stat_statements, with shared_preload_libraries = 'pg_stat_statements'): %w", driver.ErrNoStatementStats)
	}
	want := make(map[string][]int, len(sqls))
	for i, s := range sqls {
		k := NormalizeStatement(s)
		want[k] = append(want[k], i)
	}
	rows, err := c.pgx.Query(ctx, `SELECT query, calls, total_exec_time, max_exec_time FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND userid = (SELECT oid FROM pg_roles WHERE rolname = current_user)`, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, fmt.Errorf("postgres: read pg_stat_statements: %w", err)
	}
	defer rows.Close()
	out := make([]driver.StatementStat, len(sqls))
	for rows.Next() {
		var q string
		var st driver.StatementStat
		if err := rows.Scan(&q, &st.Calls, &st.TotalMS, &st.MaxMS); err != nil {
			return nil, fmt.Errorf("postgres: read pg_stat_statements: %w", err)
		}
		for _, i := range want[NormalizeStatement(q)] {
			o := &out[i]
			o.Calls += st.Calls
			o.TotalMS += st.TotalMS
			o.MaxMS = max(o.MaxMS, st.MaxMS)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: read pg_stat_statements: %w", err)
	}
	return out, nil
}

// NormalizeStatement is the form in which a workload's statement ("?"
// placeholders) and pg_stat_statements' text of it ($n parameters, and
// constants replaced by $n) compare equal: parameters, $n, quoted string
// literals and numeric constants all become "?", whitespace is dropped
// except between two words, letters outside literals are lower-cased,
// and a trailing ";" dropped.
func NormalizeStatement(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	// A space survives only between two word characters: "( $1 )" (how
	// pgx's simple protocol writes an argument) and "($1)" compare equal.
	var last rune
	wordy := func(r rune) bool {
		return r == '?' || r == '_' || r == '"' || unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	put := func(r rune) {
		if space && b.Len() > 0 && wordy(last) && wordy(r) {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
		last = r
	}
	rs := []rune(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s), ";")))
	prevWord := false // the previous rune is part of an identifier
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			space = true
			prevWord = false
		case r == '\'':
			j := i + 1
			for j < len(rs) {
				if rs[j] == '\'' {
					if j+1 < len(rs) && rs[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			put('?')
			i = j
			prevWord = false
		case r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			put('"')
			b.WriteString(string(rs[i+1 : min(j+1, len(rs))]))
			last = '"'
			i = j
			prevWord = true
		case r == '$' && i+1 < len(rs) && unicode.IsDigit(rs[i+1]):
			for i+1 < len(rs) && unicode.IsDigit(rs[i+1]) {
				i++
			}
			put('?')
			prevWord = false
		case !prevWord && (unicode.IsDigit(r) || (r == '-' && i+1 < len(rs) && unicode.IsDigit(rs[i+1]) && lastIsOperator(b.String()))):
			for i+1 < len(rs) && (unicode.IsDigit(rs[i+1]) || rs[i+1] == '.' || rs[i+1] == 'e' || rs[i+1] == 'E') {
				i++
			}
			put('?')
			prevWord = false
		default:
			put(unicode.ToLower(r))
			prevWord = unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'
		}
	}
	return b.String()
}

// lastIsOperator reports whether a '-' after s starts a negative constant
// (after an operator, a comma or an opening parenthesis) rather than being
// a minus between two operands.
func lastIsOperator(s string) bool {
	s = strings.TrimRight(s, " ")
	if s == "" {
		return true
	}
	return strings.ContainsAny(s[len(s)-1:], "=<>(,+-*/")
}
