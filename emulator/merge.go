package emulator

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// stmtMerge is MERGE's statementTypeId (DML 0x3000 + 0x400): gosnowflake
// sums the row-count columns of any DML answer into RowsAffected.
const stmtMerge = 0x3400

// mergeStmt is a parsed MERGE, each part as significant tokens.
type mergeStmt struct {
	target, targetAlias []token // target name; alias, or the name's last part
	source, sourceAlias []token // "( subquery )" or a name; alias, possibly empty
	on                  []token
	update              *mergeClause // WHEN MATCHED [AND …] THEN UPDATE SET …
	insert              *mergeClause // WHEN NOT MATCHED [AND …] THEN INSERT …
}

type mergeClause struct {
	and     []token   // extra condition, empty if none
	assigns [][]token // UPDATE: "col = expr" items, the column unqualified
	cols    []token   // INSERT: "( cols )", empty if none
	values  []token   // INSERT: the expressions inside VALUES ( … )
}

func mergeSyntax(at string) *Error {
	return &Error{Code: "001003", SQLState: "42000", Message: fmt.Sprintf("SQL compilation error:\nsyntax error line 1 at position 0 unexpected '%s'.", at)}
}

// numberParams gives every "?" of toks its position, as ":N", so that the
// statements a MERGE becomes can each refer to the arguments they use.
func numberParams(toks []token) []token {
	out := make([]token, len(toks))
	n := 0
	for i, t := range toks {
		if t.kind == tParam && t.text == "?" {
			n++
			t.text = ":" + strconv.Itoa(n)
		}
		out[i] = t
	}
	return out
}

// closeParen returns the index of the ")" matching the "(" at st[i], or -1.
func closeParen(st []token, i int) int {
	depth := 0
	for j := i; j < len(st); j++ {
		if st[j].kind != tPunct {
			continue
		}
		switch st[j].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// nameEnd returns the index after the dotted name (up to three parts)
// starting at st[i].
func nameEnd(st []token, i int) int {
	if i >= len(st) || !isIdent(st[i]) {
		return i
	}
	j := i + 1
	for k := 0; k < 2 && j+1 < len(st) && st[j].text == "." && isIdent(st[j+1]); k++ {
		j += 2
	}
	return j
}

// topLevel returns the index of the first token from i on, outside
// parentheses, for which stop is true; len(st) if none.
func topLevel(st []token, i int, stop func(token) bool) int {
	depth := 0
	for j := i; j < len(st); j++ {
		t := st[j]
		if t.kind == tPunct && t.text == "(" {
			depth++
		} else if t.kind == tPunct && t.text == ")" {
			depth--
		} else if depth == 0 && stop(t) {
			return j
		}
	}
	return len(st)
}

// alias reads an optional "[AS] alias" at st[i], stopping before the
// keyword stop.
func alias(st []token, i int, stop string) ([]token, int) {
	if i < len(st) && st[i].is("AS") {
		i++
	}
	if i < len(st) && isIdent(st[i]) && !st[i].is(stop) {
		return st[i : i+1], i + 1
	}
	return nil, i
}

// parseMerge reads MERGE INTO t [[AS] a] USING src [[AS] b] ON cond
// followed by at most one WHEN MATCHED [AND c] THEN UPDATE SET … and at
// most one WHEN NOT MATCHED [AND c] THEN INSERT [(cols)] VALUES (…), in
// either order.
func parseMerge(st []token) (*mergeStmt, error) {
	m := &mergeStmt{}
	if len(st) < 2 || !st[1].is("INTO") {
		return nil, mergeSyntax(tokText(st, 1))
	}
	end := nameEnd(st, 2)
	if end == 2 {
		return nil, mergeSyntax(tokText(st, 2))
	}
	m.target = st[2:end]
	i := end
	m.targetAlias, i = alias(st, i, "USING")
	if m.targetAlias == nil {
		m.targetAlias = st[end-1 : end]
	}
	if i >= len(st) || !st[i].is("USING") {
		return nil, mergeSyntax(tokText(st, i))
	}
	i++
	if i < len(st) && st[i].text == "(" {
		j := closeParen(st, i)
		if j < 0 {
			return nil, mergeSyntax("<EOF>")
		}
		m.source, i = st[i:j+1], j+1
	} else {
		j := nameEnd(st, i)
		if j == i {
			return nil, mergeSyntax(tokText(st, i))
		}
		m.source, i = st[i:j], j
	}
	m.sourceAlias, i = alias(st, i, "ON")
	if i >= len(st) || !st[i].is("ON") {
		return nil, mergeSyntax(tokText(st, i))
	}
	isWhen := func(t token) bool { return t.is("WHEN") }
	j := topLevel(st, i+1, isWhen)
	m.on, i = st[i+1:j], j
	if len(m.on) == 0 {
		return nil, mergeSyntax(tokText(st, i))
	}
	for i < len(st) {
		// st[i] is WHEN.
		i++
		matched := true
		if i < len(st) && st[i].is("NOT") {
			matched = false
			i++
		}
		if i >= len(st) || !st[i].is("MATCHED") {
			return nil, mergeSyntax(tokText(st, i))
		}
		i++
		c := &mergeClause{}
		if i < len(st) && st[i].is("AND") {
			j := topLevel(st, i+1, func(t token) bool { return t.is("THEN") })
			c.and, i = st[i+1:j], j
		}
		if i >= len(st) || !st[i].is("THEN") {
			return nil, mergeSyntax(tokText(st, i))
		}
		i++
		end := topLevel(st, i, isWhen)
		action := st[i:end]
		switch {
		case matched && len(action) > 2 && action[0].is("UPDATE") && action[1].is("SET"):
			if m.update != nil {
				return nil, unsupported("MERGE with more than one WHEN MATCHED clause")
			}
			rest := action[2:]
			for len(rest) > 0 {
				k := topLevel(rest, 0, func(t token) bool { return t.kind == tPunct && t.text == "," })
				item := rest[:k]
				eq := topLevel(item, 0, func(t token) bool { return t.kind == tPunct && t.text == "=" })
				if eq == 0 || eq >= len(item)-1 {
					return nil, mergeSyntax(tokText(item, 0))
				}
				// SQLite's SET takes a bare column: t.col = … → col = ….
				c.assigns = append(c.assigns, append([]token{item[eq-1]}, item[eq:]...))
				if k < len(rest) {
					k++
				}
				rest = rest[k:]
			}
			m.update = c
		case matched && len(action) > 0 && action[0].is("DELETE"):
			return nil, unsupported("MERGE … WHEN MATCHED THEN DELETE")
		case !matched && len(action) > 0 && action[0].is("INSERT"):
			if m.insert != nil {
				return nil, unsupported("MERGE with more than one WHEN NOT MATCHED clause")
			}
			k := 1
			if k < len(action) && action[k].text == "(" {
				e := closeParen(action, k)
				if e < 0 {
					return nil, mergeSyntax("<EOF>")
				}
				c.cols, k = action[k:e+1], e+1
			}
			if k+1 >= len(action) || !action[k].is("VALUES") || action[k+1].text != "(" {
				return nil, mergeSyntax(tokText(action, k))
			}
			e := closeParen(action, k+1)
			if e != len(action)-1 {
				return nil, mergeSyntax(tokText(action, e+1))
			}
			c.values = action[k+2 : e]
			m.insert = c
		default:
			return nil, mergeSyntax(tokText(action, 0))
		}
		i = end
	}
	if m.update == nil && m.insert == nil {
		return nil, mergeSyntax("<EOF>")
	}
	return m, nil
}

func tokText(st []token, i int) string {
	if i < 0 || i >= len(st) {
		return "<EOF>"
	}
	return st[i].text
}

// cat joins token runs and words into one run.
func cat(parts ...any) []token {
	var out []token
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			out = append(out, tokenize(v)...)
		case []token:
			out = append(out, v...)
		}
	}
	return out
}

// sqlite returns the MERGE as SQLite statements, run in this order: the
// UPDATE of matched rows, then the INSERT of the source rows that match no
// target row.
func (m *mergeStmt) sqlite() (update, insert []token) {
	from := cat(m.source)
	if m.sourceAlias != nil {
		from = cat(from, " AS ", m.sourceAlias)
	}
	if c := m.update; c != nil {
		update = cat("UPDATE ", m.target, " AS ", m.targetAlias, " SET ")
		for k, a := range c.assigns {
			if k > 0 {
				update = cat(update, ", ")
			}
			update = cat(update, a)
		}
		update = cat(update, " FROM ", from, " WHERE (", m.on, ")")
		if len(c.and) > 0 {
			update = cat(update, " AND (", c.and, ")")
		}
	}
	if c := m.insert; c != nil {
		insert = cat("INSERT INTO ", m.target, " ", c.cols, " SELECT ", c.values, " FROM ", from,
			" WHERE NOT EXISTS (SELECT 1 FROM ", m.target, " AS ", m.targetAlias, " WHERE ", m.on, ")")
		if len(c.and) > 0 {
			insert = cat(insert, " AND (", c.and, ")")
		}
	}
	return update, insert
}

// maxParam is the highest ":N" position in toks.
func maxParam(toks []token) int {
	n := 0
	for _, t := range toks {
		if t.kind == tParam && strings.HasPrefix(t.text, ":") {
			if k, err := strconv.Atoi(t.text[1:]); err == nil && k > n {
				n = k
			}
		}
	}
	return n
}

// merge runs MERGE INTO … USING … ON … WHEN MATCHED THEN UPDATE … WHEN NOT
// MATCHED THEN INSERT … as an UPDATE … FROM and an INSERT … SELECT … WHERE
// NOT EXISTS, in one savepoint, so it is atomic as Snowflake's is. The
// UPDATE runs first; a source row it updated then matches, so the INSERT
// skips it — which is Snowflake's result as long as the UPDATE does not
// change the ON condition's columns (an upsert's key never changes).
// Bound "?" keep their positions in both statements.
func (s *Server) merge(ctx context.Context, ss *session, toks []token, args []any, describe bool, nbinds int) (*result, error) {
	m, err := parseMerge(sig(numberParams(toks)))
	if err != nil {
		return nil, err
	}
	update, insert := m.sqlite()
	r := &result{stmtType: stmtMerge, binds: nbinds}
	type piece struct {
		toks []token
		col  string
	}
	var pieces []piece
	if insert != nil {
		r.columns = append(r.columns, fixedCol("number of rows inserted"))
	}
	if update != nil {
		r.columns = append(r.columns, fixedCol("number of rows updated"))
		pieces = append(pieces, piece{update, "updated"})
	}
	if insert != nil {
		pieces = append(pieces, piece{insert, "inserted"})
	}
	qs := make([]string, len(pieces))
	for k, p := range pieces {
		if qs[k], err = translate(spaced(p.toks), ss); err != nil {
			return nil, err
		}
	}
	if describe {
		for k, p := range pieces {
			rows, err := ss.conn.QueryContext(ctx, "EXPLAIN "+qs[k], nulls(maxParam(p.toks))...)
			if err != nil {
				return nil, s.sqlError(ss, err)
			}
			rows.Close()
		}
		return r, nil
	}
	if _, err := ss.conn.ExecContext(ctx, "SAVEPOINT emulator_merge"); err != nil {
		return nil, s.sqlError(ss, err)
	}
	counts := map[string]int64{}
	for k, p := range pieces {
		res, err := ss.conn.ExecContext(ctx, qs[k], args[:min(len(args), maxParam(p.toks))]...)
		if err != nil {
			e := s.sqlError(ss, err)
			_, _ = ss.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK TO emulator_merge")
			_, _ = ss.conn.ExecContext(context.WithoutCancel(ctx), "RELEASE emulator_merge")
			return nil, e
		}
		counts[p.col], _ = res.RowsAffected()
	}
	if _, err := ss.conn.ExecContext(ctx, "RELEASE emulator_merge"); err != nil {
		return nil, s.sqlError(ss, err)
	}
	var row []*string
	if insert != nil {
		row = append(row, str(strconv.FormatInt(counts["inserted"], 10)))
	}
	if update != nil {
		row = append(row, str(strconv.FormatInt(counts["updated"], 10)))
	}
	r.rows = [][]*string{row}
	return r, nil
}
