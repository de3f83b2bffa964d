package emulator

import (
	"strings"
)

// tokKind classifies a lexical token of Snowflake SQL.
type tokKind int

const (
	tSpace   tokKind = iota // whitespace
	tComment                // -- … , // … or /* … */
	tWord                   // bare identifier or keyword
	tQuoted                 // "quoted identifier" (val holds the unquoted name)
	tString                 // '…' or $$…$$ literal (val holds the decoded text)
	tNumber                 // numeric literal
	tParam                  // ? or :N placeholder
	tPunct                  // operator or punctuation
)

type token struct {
	kind tokKind
	text string // source text
	val  string // decoded value for tString and tQuoted
	line int    // 1-based line of the token's first character
}

// up is the token's text uppercased, the way Snowflake folds unquoted identifiers.
func (t token) up() string { return strings.ToUpper(t.text) }

// is reports whether t is the bare word w (case-insensitive).
func (t token) is(w string) bool { return t.kind == tWord && strings.EqualFold(t.text, w) }

// significant is false for whitespace and comments.
func (t token) significant() bool { return t.kind != tSpace && t.kind != tComment }

// tokenize splits Snowflake SQL into tokens. It never fails: an unterminated
// literal or comment runs to the end of the input, and SQLite reports it.
func tokenize(s string) []token {
	var toks []token
	line := 1
	for i := 0; i < len(s); {
		start := i
		c := s[i]
		t := token{line: line}
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			for i < len(s) && strings.IndexByte(" \t\n\r\f", s[i]) >= 0 {
				i++
			}
			t.kind = tSpace
		case c == '-' && strings.HasPrefix(s[i:], "--"), c == '/' && strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
			t.kind = tComment
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += end + 4
			}
			t.kind = tComment
		case c == '\'':
			var b strings.Builder
			i++
			for i < len(s) {
				if s[i] == '\\' && i+1 < len(s) {
					switch s[i+1] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case 'r':
						b.WriteByte('\r')
					case '0':
						b.WriteByte(0)
					default:
						b.WriteByte(s[i+1])
					}
					i += 2
					continue
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			t.kind, t.val = tString, b.String()
		case c == '$' && strings.HasPrefix(s[i:], "$$"):
			end := strings.Index(s[i+2:], "$$")
			if end < 0 {
				t.val = s[i+2:]
				i = len(s)
			} else {
				t.val = s[i+2 : i+2+end]
				i += end + 4
			}
			t.kind = tString
		case c == '"':
			var b strings.Builder
			i++
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			t.kind, t.val = tQuoted, b.String()
		case isIdentStart(c):
			for i < len(s) && isIdentPart(s[i]) {
				i++
			}
			t.kind = tWord
		case c >= '0' && c <= '9', c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
				i++
			}
			if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
				j := i + 1
				if j < len(s) && (s[j] == '+' || s[j] == '-') {
					j++
				}
				if j < len(s) && s[j] >= '0' && s[j] <= '9' {
					i = j
					for i < len(s) && s[i] >= '0' && s[i] <= '9' {
						i++
					}
				}
			}
			t.kind = tNumber
		case c == '?':
			i++
			t.kind = tParam
		case c == ':' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			i++
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			t.kind = tParam
		default:
			i++
			if i < len(s) {
				switch s[start : i+1] {
				case "=>", "::", "<=", ">=", "<>", "!=", "||":
					i++
				}
			}
			t.kind = tPunct
		}
		t.text = s[start:i]
		line += strings.Count(t.text, "\n")
		toks = append(toks, t)
	}
	return toks
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '$' }

// statement is one SQL statement of a script, with the line it starts on.
type statement struct {
	toks []token
	line int
}

// splitStatements cuts a token stream at top-level semicolons (literals,
// quoted identifiers and comments are single tokens, so a ';' inside them
// never splits). Statements with no significant token are dropped.
func splitStatements(toks []token) []statement {
	var out []statement
	var cur []token
	flush := func() {
		line := 0
		for _, t := range cur {
			if t.significant() {
				line = t.line
				break
			}
		}
		if line > 0 {
			out = append(out, statement{toks: cur, line: line})
		}
		cur = nil
	}
	for _, t := range toks {
		if t.kind == tPunct && t.text == ";" {
			flush()
			continue
		}
		cur = append(cur, t)
	}
	flush()
	return out
}

// sig returns the significant tokens of toks.
func sig(toks []token) []token {
	out := make([]token, 0, len(toks))
	for _, t := range toks {
		if t.significant() {
			out = append(out, t)
		}
	}
	return out
}

// sqlQuote renders s as an SQLite string literal.
func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// identQuote renders s as an SQLite quoted identifier.
func identQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// render joins tokens back into SQLite text: string literals are re-quoted
// the SQLite way (Snowflake's backslash escapes and $$…$$ are not SQLite's),
// comments dropped, :N placeholders become ?N.
func render(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		switch t.kind {
		case tComment:
			b.WriteByte(' ')
		case tString:
			b.WriteString(sqlQuote(t.val))
		case tParam:
			if strings.HasPrefix(t.text, ":") {
				b.WriteString("?" + t.text[1:])
			} else {
				b.WriteString(t.text)
			}
		default:
			b.WriteString(t.text)
		}
	}
	return b.String()
}

// identName is the name an identifier token denotes: unquoted names fold to
// upper case as in Snowflake, quoted ones keep their case.
func identName(t token) string {
	if t.kind == tQuoted {
		return t.val
	}
	return strings.ToUpper(t.text)
}

func isIdent(t token) bool { return t.kind == tWord || t.kind == tQuoted }
