package emulator

import (
	"fmt"
	"strings"
)

// resolver is what translation needs from the session it runs in.
type resolver interface {
	// nsAlias returns the SQLite schema name under which DB.SCHEMA is
	// reachable on the session's connection ("main" for the current one),
	// attaching its file if needed.
	nsAlias(db, schema string) (string, error)
	// hasDatabase reports whether a database of that name exists.
	hasDatabase(db string) bool
	// hasSchema reports whether SCHEMA exists in the current database.
	hasSchema(schema string) bool
	// contextFunction returns the value of a context function such as
	// CURRENT_DATABASE for this session.
	contextFunction(name string) (string, bool)
}

// nullaryRewrites maps Snowflake functions called with no arguments to the
// SQLite expressions that replace the call.
var nullaryRewrites = map[string]string{
	"CURRENT_TIMESTAMP": "CURRENT_TIMESTAMP",
	"SYSDATE":           "CURRENT_TIMESTAMP",
	"GETDATE":           "CURRENT_TIMESTAMP",
	"LOCALTIMESTAMP":    "CURRENT_TIMESTAMP",
	"SYSTIMESTAMP":      "CURRENT_TIMESTAMP",
	"CURRENT_DATE":      "CURRENT_DATE",
	"CURRENT_TIME":      "CURRENT_TIME",
	"SEQ1":              "__seq",
	"SEQ2":              "__seq",
	"SEQ4":              "__seq",
	"SEQ8":              "__seq",
}

// renamedFunctions are Snowflake functions SQLite has under another name.
var renamedFunctions = map[string]string{
	"IFF":       "IIF",
	"NVL":       "IFNULL",
	"LEN":       "LENGTH",
	"CHARINDEX": "INSTR",
}

// translate rewrites one Snowflake statement into SQLite: qualified names
// DB.SCHEMA.T and SCHEMA.T become attached-schema names, Snowflake-only
// functions and GENERATOR become SQLite expressions, literals are
// re-quoted. It returns the SQLite text.
func translate(toks []token, r resolver) (string, error) {
	var out []token
	emit := func(text string) { out = append(out, token{kind: tPunct, text: text}) }
	// selectList[depth] is true while the tokens at that parenthesis depth
	// are a SELECT list, where a rewritten call keeps Snowflake's column name.
	depth := 0
	selectList := map[int]bool{}
	prevSig := token{kind: tSpace}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if !t.significant() {
			out = append(out, t)
			continue
		}
		switch {
		case t.kind == tPunct && t.text == "(":
			depth++
			selectList[depth] = false
		case t.kind == tPunct && t.text == ")":
			depth--
		case t.is("SELECT"):
			selectList[depth] = true
		case t.kind == tWord:
			switch t.up() {
			case "FROM", "WHERE", "GROUP", "ORDER", "LIMIT", "HAVING", "UNION", "INTO", "QUALIFY", "EXCEPT", "INTERSECT", "MINUS":
				selectList[depth] = false
			}
		}

		// TABLE(GENERATOR(ROWCOUNT => n)) and bare GENERATOR(ROWCOUNT => n).
		if t.is("TABLE") || t.is("GENERATOR") {
			if repl, end, ok, err := rewriteGenerator(toks, i); err != nil {
				return "", err
			} else if ok {
				emit(repl)
				i = end
				prevSig = toks[end]
				continue
			}
		}

		// LIMIT NULL is Snowflake's "no limit" (before an OFFSET); SQLite's is -1.
		if t.is("LIMIT") {
			if j := nextSig(toks, i); j >= 0 && toks[j].is("NULL") {
				emit("LIMIT -1")
				i = j
				prevSig = toks[j]
				continue
			}
		}

		if isIdent(t) && !(prevSig.kind == tPunct && prevSig.text == ".") {
			if alias, table, end, ok, err := qualifiedName(toks, i, r); err != nil {
				return "", err
			} else if ok {
				emit(identQuote(alias) + ".")
				out = append(out, table)
				i = end
				prevSig = toks[end]
				continue
			}
		}

		if t.kind == tWord {
			if j := nextSig(toks, i); j >= 0 && toks[j].kind == tPunct && toks[j].text == "(" {
				name := t.up()
				k := nextSig(toks, j)
				empty := k >= 0 && toks[k].kind == tPunct && toks[k].text == ")"
				var repl string
				found := false
				if empty {
					if v, ok := r.contextFunction(name); ok {
						repl, found = sqlQuote(v), true
					} else if v, ok := nullaryRewrites[name]; ok {
						repl, found = v, true
					}
				}
				if found {
					emit(repl)
					if selectList[depth] && endsSelectItem(toks, k) {
						emit(" AS " + identQuote(name+"()"))
					}
					i = k
					prevSig = toks[k]
					continue
				}
				if v, ok := renamedFunctions[name]; ok {
					emit(v)
					prevSig = t
					continue
				}
			}
			if t.is("ILIKE") {
				emit("LIKE")
				prevSig = t
				continue
			}
		}
		out = append(out, t)
		prevSig = t
	}
	return render(out), nil
}

// nextSig returns the index of the next significant token after i, or -1.
func nextSig(toks []token, i int) int {
	for j := i + 1; j < len(toks); j++ {
		if toks[j].significant() {
			return j
		}
	}
	return -1
}

// endsSelectItem reports whether the token after index k closes a SELECT
// list item without an alias of its own.
func endsSelectItem(toks []token, k int) bool {
	j := nextSig(toks, k)
	if j < 0 {
		return true
	}
	n := toks[j]
	return n.kind == tPunct && (n.text == "," || n.text == ")") || n.is("FROM") || n.is("UNION") || n.is("ORDER") || n.is("LIMIT")
}

// qualifiedName recognises DB.SCHEMA.T (DB an existing database) and
// SCHEMA.T (SCHEMA an existing schema of the current database) starting at
// toks[i]. It returns the SQLite schema alias, the table token and the index
// of the table token.
func qualifiedName(toks []token, i int, r resolver) (alias string, table token, end int, ok bool, err error) {
	var parts []int
	parts = append(parts, i)
	j := i
	for len(parts) < 3 {
		d := nextSig(toks, j)
		if d < 0 || toks[d].kind != tPunct || toks[d].text != "." {
			break
		}
		n := nextSig(toks, d)
		if n < 0 || !isIdent(toks[n]) {
			break
		}
		parts = append(parts, n)
		j = n
	}
	switch {
	case len(parts) == 3 && r.hasDatabase(identName(toks[parts[0]])):
		alias, err = r.nsAlias(identName(toks[parts[0]]), identName(toks[parts[1]]))
		return alias, toks[parts[2]], parts[2], err == nil, err
	case len(parts) >= 2 && r.hasSchema(identName(toks[parts[0]])):
		alias, err = r.nsAlias("", identName(toks[parts[0]]))
		return alias, toks[parts[1]], parts[1], err == nil, err
	case len(parts) == 3:
		// Neither a database nor a schema: Snowflake reads DB.SCHEMA.T.
		return "", token{}, 0, false, &Error{Code: "002003", SQLState: "02000", Message: fmt.Sprintf("SQL compilation error:\nDatabase '%s' does not exist or not authorized.", identName(toks[parts[0]]))}
	}
	return "", token{}, 0, false, nil
}

// rewriteGenerator turns TABLE(GENERATOR(ROWCOUNT => n)) at toks[i] into a
// recursive CTE yielding n rows whose column __seq counts from 0 (SEQ4()
// and friends are rewritten to __seq). TIMELIMIT is not supported.
func rewriteGenerator(toks []token, i int) (string, int, bool, error) {
	s := sig(toks[i:])
	idx := sigIndexes(toks, i)
	var genAt int
	switch {
	case len(s) >= 3 && s[0].is("TABLE") && s[1].text == "(" && s[2].is("GENERATOR"):
		genAt = 2
	case len(s) >= 2 && s[0].is("GENERATOR") && s[1].text == "(":
		genAt = 0
	default:
		return "", 0, false, nil
	}
	if len(s) < genAt+6 || s[genAt+1].text != "(" {
		return "", 0, false, nil
	}
	if !s[genAt+2].is("ROWCOUNT") || s[genAt+3].text != "=>" {
		return "", 0, false, fmt.Errorf("GENERATOR: only ROWCOUNT => n is emulated")
	}
	n := s[genAt+4]
	if n.kind != tNumber && n.kind != tParam {
		return "", 0, false, fmt.Errorf("GENERATOR: ROWCOUNT must be a number")
	}
	closeAt := genAt + 5
	if s[closeAt].text != ")" {
		return "", 0, false, fmt.Errorf("GENERATOR: only ROWCOUNT => n is emulated")
	}
	if genAt == 2 {
		closeAt++
		if closeAt >= len(s) || s[closeAt].text != ")" {
			return "", 0, false, nil
		}
	}
	count := n.text
	if n.kind == tParam {
		count = render([]token{n})
	}
	repl := fmt.Sprintf("(WITH RECURSIVE __gen(__seq) AS (SELECT 0 WHERE %[1]s > 0 UNION ALL SELECT __seq+1 FROM __gen WHERE __seq+1 < %[1]s) SELECT __seq FROM __gen)", count)
	return repl, idx[closeAt], true, nil
}

// sigIndexes returns the indexes in toks of the significant tokens from i on.
func sigIndexes(toks []token, i int) []int {
	var out []int
	for j := i; j < len(toks); j++ {
		if toks[j].significant() {
			out = append(out, j)
		}
	}
	return out
}

// countParams is the number of bind positions a statement declares: the
// count of ? markers, or the highest :N.
func countParams(toks []token) int {
	n, max := 0, 0
	for _, t := range toks {
		if t.kind != tParam {
			continue
		}
		if t.text == "?" {
			n++
			continue
		}
		var k int
		fmt.Sscanf(t.text[1:], "%d", &k)
		if k > max {
			max = k
		}
	}
	if max > n {
		return max
	}
	return n
}

// quotedNames is the set of names written as quoted identifiers in a
// statement: result columns keep their case only when quoted.
func quotedNames(toks []token) map[string]bool {
	m := map[string]bool{}
	for _, t := range toks {
		if t.kind == tQuoted {
			m[t.val] = true
		}
	}
	return m
}

// columnName is Snowflake's name for a result column SQLite calls n.
func columnName(n string, quoted map[string]bool) string {
	if quoted[n] {
		return n
	}
	return strings.ToUpper(n)
}
