package emulator

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Error is a Snowflake error as the emulator answers it: Exec and Init
// return it for a statement Snowflake would refuse.
type Error struct {
	Code     string // Snowflake error code, such as "002003"
	SQLState string
	Message  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s): %s", e.Code, e.SQLState, e.Message)
}

// Snowflake statement type ids (statementTypeId in a query response).
const (
	stmtSelect       = 0x1000
	stmtInsert       = 0x3100
	stmtUpdate       = 0x3200
	stmtDelete       = 0x3300
	stmtSCL          = 0x4000
	stmtAlterSession = 0x4100
	stmtUse          = 0x4300
	stmtShow         = 0x4400
	stmtTCL          = 0x5000
	stmtDDL          = 0x6000
)

// column is one entry of a response's rowtype.
type column struct {
	Name       string `json:"name"`
	Database   string `json:"database"`
	Schema     string `json:"schema"`
	Table      string `json:"table"`
	Type       string `json:"type"`
	Nullable   bool   `json:"nullable"`
	Scale      int64  `json:"scale"`
	Precision  int64  `json:"precision"`
	Length     int64  `json:"length"`
	ByteLength int64  `json:"byteLength"`
}

// result is what a statement answers.
type result struct {
	columns  []column
	rows     [][]*string
	stmtType int64
	binds    int
}

func fixedCol(name string) column {
	return column{Name: name, Type: "fixed", Precision: 19, Nullable: false}
}

func textCol(name string) column {
	return column{Name: name, Type: "text", Nullable: true, Length: 16777216, ByteLength: 16777216}
}

func str(s string) *string { return &s }

func statusResult(stmtType int64, msg string) *result {
	return &result{columns: []column{textCol("status")}, rows: [][]*string{{str(msg)}}, stmtType: stmtType}
}

var errPrivileges = func(obj string) *Error {
	return &Error{Code: "003001", SQLState: "42501", Message: fmt.Sprintf("SQL access control error:\nInsufficient privileges to operate on %s", obj)}
}

func unsupported(what string) *Error {
	return &Error{Code: "000002", SQLState: "0A000", Message: fmt.Sprintf("Unsupported feature '%s'.", what)}
}

// execute runs one statement (toks) for a session. The caller holds ss.mu.
// args are SQLite arguments already converted from Snowflake bindings.
func (s *Server) execute(ctx context.Context, ss *session, toks []token, args []any, describe bool) (*result, error) {
	if ss.closed || ss.conn == nil {
		return nil, &Error{Code: "390112", SQLState: "08001", Message: "Your session has expired. Please login again."}
	}
	st := sig(toks)
	if len(st) == 0 {
		return nil, &Error{Code: "000900", SQLState: "42000", Message: "SQL compilation error:\nEmpty SQL statement."}
	}
	kw := st[0].up()
	kw2 := ""
	if len(st) > 1 {
		kw2 = st[1].up()
	}
	nbinds := countParams(toks)
	if !describe && len(args) < nbinds {
		return nil, &Error{Code: "002049", SQLState: "22000", Message: fmt.Sprintf("SQL compilation error: error line 1 at position 0\nBind variable ? not set.")}
	}
	switch {
	case kw == "EXECUTE" && kw2 == "JOB":
		if describe {
			return statusResult(stmtDDL, "Statement executed successfully."), nil
		}
		return s.executeJobService(ss, st)
	case (kw == "DESCRIBE" || kw == "DESC") && kw2 == "SERVICE":
		return s.describeService(st)
	case kw == "DROP" && kw2 == "SERVICE":
		return s.dropService(st)
	case kw == "SHOW" && kw2 == "SERVICE":
		return s.showServiceInstances(st)
	}
	switch kw {
	case "SELECT", "WITH":
		r, err := s.query(ctx, ss, toks, args, describe, nbinds)
		return r, err
	case "INSERT", "UPDATE", "DELETE":
		return s.dml(ctx, ss, toks, kw, args, describe, nbinds)
	case "MERGE":
		return s.merge(ctx, ss, toks, args, describe, nbinds)
	case "TRUNCATE":
		if ss.readWrite {
			return nil, errPrivileges("table")
		}
		// TRUNCATE [TABLE] [IF EXISTS] name → DELETE FROM name.
		i := 1
		if i < len(st) && st[i].is("TABLE") {
			i++
		}
		ifExists := false
		if i+1 < len(st) && st[i].is("IF") && st[i+1].is("EXISTS") {
			i += 2
			ifExists = true
		}
		q, err := translate(spaced(append([]token{{kind: tWord, text: "DELETE"}, {kind: tWord, text: "FROM"}}, st[i:]...)), ss)
		if err != nil {
			return nil, err
		}
		if describe {
			return statusResult(stmtDDL, "Statement executed successfully."), nil
		}
		if _, err := ss.conn.ExecContext(ctx, q); err != nil {
			if e := s.sqlError(ss, err); !(ifExists && e.Code == "002003") {
				return nil, e
			}
		}
		return statusResult(stmtDDL, "Statement executed successfully."), nil
	case "ALTER":
		if kw2 == "SESSION" {
			return s.alterSession(ss, st)
		}
		if ss.readWrite {
			return nil, errPrivileges(strings.ToLower(kw2))
		}
		return s.alter(ctx, ss, st, describe)
	case "CREATE", "DROP", "GRANT", "REVOKE", "COMMENT", "UNDROP":
		if ss.readWrite {
			obj := strings.ToLower(kw2)
			if kw2 == "OR" || kw2 == "HYBRID" {
				obj = "table"
			}
			return nil, errPrivileges(obj)
		}
		if describe {
			return statusResult(stmtDDL, "Statement executed successfully."), nil
		}
		return s.ddl(ctx, ss, st)
	case "USE":
		return s.useStmt(ss, st)
	case "SHOW":
		return s.show(ss, st)
	case "BEGIN", "START", "COMMIT", "ROLLBACK":
		if describe {
			return statusResult(stmtTCL, "Statement executed successfully."), nil
		}
		q := map[string]string{"BEGIN": "BEGIN", "START": "BEGIN", "COMMIT": "COMMIT", "ROLLBACK": "ROLLBACK"}[kw]
		if _, err := ss.conn.ExecContext(ctx, q); err != nil {
			// Snowflake accepts BEGIN inside a transaction and COMMIT or
			// ROLLBACK outside one; SQLite refuses both.
			msg := err.Error()
			if !strings.Contains(msg, "within a transaction") && !strings.Contains(msg, "no transaction is active") {
				return nil, s.sqlError(ss, err)
			}
		}
		ss.inTx = q == "BEGIN"
		return statusResult(stmtTCL, "Statement executed successfully."), nil
	}
	return nil, &Error{Code: "001003", SQLState: "42000", Message: fmt.Sprintf("SQL compilation error:\nsyntax error line %d at position 0 unexpected '%s'.", st[0].line, st[0].text)}
}

// spaced joins significant tokens with single spaces.
func spaced(st []token) []token {
	out := make([]token, 0, 2*len(st))
	for i, t := range st {
		if i > 0 {
			out = append(out, token{kind: tSpace, text: " "})
		}
		out = append(out, t)
	}
	return out
}

func nulls(n int) []any { return make([]any, n) }

func (s *Server) query(ctx context.Context, ss *session, toks []token, args []any, describe bool, nbinds int) (*result, error) {
	q, err := translate(toks, ss)
	if err != nil {
		return nil, err
	}
	if describe {
		// Compiled, not run: LIMIT 0 returns the columns and no rows.
		q = "SELECT * FROM (" + q + ") LIMIT 0"
		args = nulls(nbinds)
	}
	rows, err := ss.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.sqlError(ss, err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, s.sqlError(ss, err)
	}
	var data [][]any
	for rows.Next() {
		vals := make([]any, len(cts))
		ptrs := make([]any, len(cts))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, s.sqlError(ss, err)
		}
		data = append(data, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, s.sqlError(ss, err)
	}
	quoted := quotedNames(toks)
	r := &result{stmtType: stmtSelect, binds: nbinds, rows: make([][]*string, len(data))}
	for i, ct := range cts {
		col := typeFromDecl(ct.DatabaseTypeName())
		if col.Type == "" {
			col = typeFromValues(data, i)
		}
		col.Name = columnName(ct.Name(), quoted)
		col.Database, col.Schema = ss.db, ss.schema
		col.Nullable = true
		r.columns = append(r.columns, col)
	}
	for ri, row := range data {
		out := make([]*string, len(row))
		for ci, v := range row {
			out[ci] = formatValue(v, r.columns[ci])
		}
		r.rows[ri] = out
	}
	return r, nil
}

func (s *Server) dml(ctx context.Context, ss *session, toks []token, kw string, args []any, describe bool, nbinds int) (*result, error) {
	q, err := translate(toks, ss)
	if err != nil {
		return nil, err
	}
	var r *result
	switch kw {
	case "INSERT":
		r = &result{stmtType: stmtInsert, columns: []column{fixedCol("number of rows inserted")}}
	case "UPDATE":
		r = &result{stmtType: stmtUpdate, columns: []column{fixedCol("number of rows updated"), fixedCol("number of multi-joined rows updated")}}
	default:
		r = &result{stmtType: stmtDelete, columns: []column{fixedCol("number of rows deleted")}}
	}
	r.binds = nbinds
	if describe {
		rows, err := ss.conn.QueryContext(ctx, "EXPLAIN "+q, nulls(nbinds)...)
		if err != nil {
			return nil, s.sqlError(ss, err)
		}
		rows.Close()
		return r, nil
	}
	res, err := ss.conn.ExecContext(ctx, q, args...)
	if err != nil {
		return nil, s.sqlError(ss, err)
	}
	n, _ := res.RowsAffected()
	row := []*string{str(strconv.FormatInt(n, 10))}
	if kw == "UPDATE" {
		row = append(row, str("0"))
	}
	r.rows = [][]*string{row}
	return r, nil
}

// typeFromDecl maps a declared column type (as written in CREATE TABLE,
// after translation) to a Snowflake rowtype; "" when there is none.
func typeFromDecl(decl string) column {
	d := strings.ToUpper(strings.TrimSpace(decl))
	base, args, _ := strings.Cut(d, "(")
	base = strings.TrimSpace(base)
	p, sc := int64(38), int64(0)
	if args != "" {
		a := strings.TrimSuffix(strings.TrimSpace(args), ")")
		ps, ss, _ := strings.Cut(a, ",")
		if v, err := strconv.ParseInt(strings.TrimSpace(ps), 10, 64); err == nil {
			p = v
		}
		if v, err := strconv.ParseInt(strings.TrimSpace(ss), 10, 64); err == nil {
			sc = v
		}
	}
	switch {
	case base == "":
		return column{}
	case base == "NUMBER" || base == "NUMERIC" || base == "DECIMAL" || base == "DEC":
		return column{Type: "fixed", Precision: p, Scale: sc}
	case strings.Contains(base, "INT"):
		return column{Type: "fixed", Precision: 38}
	case strings.HasPrefix(base, "FLOAT") || strings.HasPrefix(base, "DOUBLE") || base == "REAL":
		return column{Type: "real"}
	case strings.HasPrefix(base, "VARIANT"):
		return column{Type: "variant", Length: 16777216, ByteLength: 16777216}
	case strings.HasPrefix(base, "OBJECT"):
		return column{Type: "object", Length: 16777216, ByteLength: 16777216}
	case strings.HasPrefix(base, "ARRAY"):
		return column{Type: "array", Length: 16777216, ByteLength: 16777216}
	case strings.Contains(base, "CHAR") || base == "TEXT" || base == "STRING":
		n := int64(16777216)
		if args != "" {
			n = p
		}
		return column{Type: "text", Length: n, ByteLength: 4 * n}
	case base == "BOOLEAN" || base == "BOOL":
		return column{Type: "boolean"}
	case strings.HasPrefix(base, "TIMESTAMP_LTZ"):
		return column{Type: "timestamp_ltz", Scale: 9}
	case strings.HasPrefix(base, "TIMESTAMP_TZ"):
		return column{Type: "timestamp_tz", Scale: 9}
	case strings.HasPrefix(base, "TIMESTAMP") || base == "DATETIME":
		return column{Type: "timestamp_ntz", Scale: 9}
	case base == "DATE":
		return column{Type: "date"}
	case base == "TIME":
		return column{Type: "time", Scale: 9}
	case strings.Contains(base, "BINARY"):
		return column{Type: "binary", Length: 8388608, ByteLength: 8388608}
	}
	return column{}
}

// typeFromValues infers a rowtype for an expression column from its values.
func typeFromValues(data [][]any, i int) column {
	kind := ""
	for _, row := range data {
		switch row[i].(type) {
		case int64:
			if kind == "" {
				kind = "fixed"
			}
		case float64:
			kind = "real"
		case string:
			return textCol("")
		case []byte:
			return column{Type: "binary", Length: 8388608, ByteLength: 8388608}
		case time.Time:
			return column{Type: "timestamp_ntz", Scale: 9}
		case bool:
			return column{Type: "boolean"}
		}
	}
	switch kind {
	case "fixed":
		return column{Type: "fixed", Precision: 38}
	case "real":
		return column{Type: "real"}
	}
	return textCol("")
}

var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 -0700",
	"2006-01-02",
}

func parseTime(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		return parseTime(x)
	case []byte:
		return parseTime(string(x))
	case int64:
		return time.Unix(x, 0).UTC(), true
	}
	return time.Time{}, false
}

// formatValue renders a SQLite value the way Snowflake's JSON rowset
// carries a value of the column's type.
func formatValue(v any, col column) *string {
	if v == nil {
		return nil
	}
	plain := func() string {
		switch x := v.(type) {
		case int64:
			return strconv.FormatInt(x, 10)
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64)
		case string:
			return x
		case []byte:
			return string(x)
		case bool:
			if x {
				return "1"
			}
			return "0"
		case time.Time:
			return x.UTC().Format("2006-01-02 15:04:05.999999999")
		}
		return fmt.Sprint(v)
	}
	switch col.Type {
	case "fixed":
		switch x := v.(type) {
		case float64:
			if col.Scale > 0 {
				return str(strconv.FormatFloat(x, 'f', int(col.Scale), 64))
			}
			if x == math.Trunc(x) && math.Abs(x) < 1e18 {
				return str(strconv.FormatInt(int64(x), 10))
			}
		case int64:
			if col.Scale > 0 {
				return str(strconv.FormatFloat(float64(x), 'f', int(col.Scale), 64))
			}
		}
	case "real":
		if x, ok := v.(float64); ok {
			return str(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case "boolean":
		switch x := v.(type) {
		case int64:
			if x != 0 {
				return str("1")
			}
			return str("0")
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				if b {
					return str("1")
				}
				return str("0")
			}
		}
	case "timestamp_ntz", "timestamp_ltz", "timestamp_tz":
		if t, ok := asTime(v); ok {
			s := fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
			if col.Type == "timestamp_tz" {
				_, off := t.Zone()
				s += " " + strconv.Itoa(off/60+1440)
			}
			return str(s)
		}
	case "date":
		if t, ok := asTime(v); ok {
			return str(strconv.FormatInt(int64(math.Floor(float64(t.Unix())/86400)), 10))
		}
	case "time":
		if s, ok := v.(string); ok {
			if t, err := time.Parse("15:04:05.999999999", s); err == nil {
				sec := t.Hour()*3600 + t.Minute()*60 + t.Second()
				return str(fmt.Sprintf("%d.%09d", sec, t.Nanosecond()))
			}
		}
	case "binary":
		switch x := v.(type) {
		case []byte:
			return str(strings.ToUpper(hex.EncodeToString(x)))
		case string:
			return str(strings.ToUpper(hex.EncodeToString([]byte(x))))
		}
	}
	return str(plain())
}

var (
	reNoTable    = regexp.MustCompile(`no such table: ([^\s(]+)`)
	reNoColumn   = regexp.MustCompile(`no such column: ([^\s(]+)`)
	reUnique     = regexp.MustCompile(`UNIQUE constraint failed: ([^\s(.,]+)`)
	reNotNull    = regexp.MustCompile(`NOT NULL constraint failed: ([^\s(]+)`)
	reSyntax     = regexp.MustCompile(`near "([^"]*)": syntax error`)
	reExists     = regexp.MustCompile(`(?:table|index|view) "?([^\s"]+)"? already exists`)
	reNoFunction = regexp.MustCompile(`no such function: ([^\s(]+)`)
	reUnknownDB  = regexp.MustCompile(`unknown database ([^\s(]+)`)
)

// sqlError maps a SQLite error onto the Snowflake error a hybrid table
// would answer. Duplicate keys use 200001 (hybrid tables enforce primary
// and unique keys; standard tables do not).
func (s *Server) sqlError(ss *session, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	msg := err.Error()
	name := func(raw string) string {
		raw = strings.Trim(raw, `"'`)
		if schema, table, ok := strings.Cut(raw, "."); ok {
			if ns := ss.nsName(schema); ns != "" {
				return ns + "." + strings.ToUpper(table)
			}
			if strings.EqualFold(schema, "main") {
				return strings.ToUpper(table)
			}
		}
		return strings.ToUpper(raw)
	}
	switch {
	case errors.Is(err, context.Canceled), strings.Contains(msg, "interrupted"):
		return &Error{Code: "000604", SQLState: "57014", Message: "SQL execution canceled"}
	case reNoTable.MatchString(msg):
		return &Error{Code: "002003", SQLState: "42S02", Message: fmt.Sprintf("SQL compilation error:\nObject '%s' does not exist or not authorized.", name(reNoTable.FindStringSubmatch(msg)[1]))}
	case reUnknownDB.MatchString(msg):
		return &Error{Code: "002003", SQLState: "02000", Message: fmt.Sprintf("SQL compilation error:\nDatabase '%s' does not exist or not authorized.", name(reUnknownDB.FindStringSubmatch(msg)[1]))}
	case reNoColumn.MatchString(msg):
		return &Error{Code: "000904", SQLState: "42000", Message: fmt.Sprintf("SQL compilation error: error line 1 at position 0\ninvalid identifier '%s'", name(reNoColumn.FindStringSubmatch(msg)[1]))}
	case reUnique.MatchString(msg):
		return &Error{Code: "200001", SQLState: "22000", Message: fmt.Sprintf("Duplicate key value violates unique constraint \"SYS_INDEX_%s_PRIMARY\"", strings.ToUpper(reUnique.FindStringSubmatch(msg)[1]))}
	case reNotNull.MatchString(msg):
		return &Error{Code: "100072", SQLState: "22000", Message: fmt.Sprintf("NULL result in a non-nullable column '%s'", name(reNotNull.FindStringSubmatch(msg)[1]))}
	case reSyntax.MatchString(msg):
		return &Error{Code: "001003", SQLState: "42000", Message: fmt.Sprintf("SQL compilation error:\nsyntax error line 1 at position 0 unexpected '%s'.", reSyntax.FindStringSubmatch(msg)[1])}
	case reExists.MatchString(msg):
		return &Error{Code: "002002", SQLState: "42710", Message: fmt.Sprintf("SQL compilation error:\nObject '%s' already exists.", name(reExists.FindStringSubmatch(msg)[1]))}
	case reNoFunction.MatchString(msg):
		return &Error{Code: "002140", SQLState: "42601", Message: fmt.Sprintf("SQL compilation error:\nUnknown function %s", strings.ToUpper(reNoFunction.FindStringSubmatch(msg)[1]))}
	}
	return &Error{Code: "000603", SQLState: "XX000", Message: "SQL execution internal error: emulator (SQLite): " + msg}
}

var _ = sql.ErrNoRows
