package emulator

import (
	"context"
	"fmt"
	"strings"
)

// tableModifiers are CREATE … TABLE words with no SQLite meaning here.
var tableModifiers = map[string]bool{"HYBRID": true, "TRANSIENT": true, "VOLATILE": true, "TEMPORARY": true, "TEMP": true, "LOCAL": true, "GLOBAL": true}

// ddl runs CREATE, DROP, GRANT, REVOKE, COMMENT and UNDROP.
func (s *Server) ddl(ctx context.Context, ss *session, st []token) (*result, error) {
	i := 1
	orReplace := false
	if len(st) > 2 && st[1].is("OR") && st[2].is("REPLACE") {
		orReplace, i = true, 3
	}
	isCreate := st[0].is("CREATE")
	temporary := false
	for i < len(st) && isCreate && tableModifiers[st[i].up()] {
		switch st[i].up() {
		case "TEMPORARY", "TEMP", "VOLATILE":
			temporary = true
		}
		i++
	}
	if i >= len(st) {
		return nil, &Error{Code: "001003", SQLState: "42000", Message: "SQL compilation error:\nsyntax error line 1 at position 0 unexpected '<EOF>'."}
	}
	obj := st[i].up()
	switch {
	case st[0].is("GRANT"), st[0].is("REVOKE"), st[0].is("COMMENT"):
		return statusResult(stmtDDL, "Statement executed successfully."), nil
	case obj == "DATABASE" || obj == "SCHEMA":
		return s.namespaceDDL(ss, st, i, isCreate, orReplace)
	case obj == "WAREHOUSE" || obj == "ROLE" || obj == "USER" || obj == "STAGE" || obj == "FILE":
		return statusResult(stmtDDL, "Statement executed successfully."), nil
	case obj == "TABLE" && isCreate:
		return s.createTable(ctx, ss, st, i+1, orReplace, temporary)
	}
	if orReplace && (obj == "VIEW" || obj == "INDEX") {
		// CREATE OR REPLACE VIEW v … → DROP VIEW IF EXISTS v; CREATE VIEW v …
		nameEnd := i + 1
		for nameEnd+1 < len(st) && st[nameEnd+1].text == "." {
			nameEnd += 2
		}
		drop := append([]token{{kind: tWord, text: "DROP"}, st[i], {kind: tWord, text: "IF"}, {kind: tWord, text: "EXISTS"}}, st[i+1:nameEnd+1]...)
		if err := s.execTranslated(ctx, ss, drop); err != nil {
			return nil, err
		}
		st = append([]token{st[0]}, st[i:]...)
	}
	if err := s.execTranslated(ctx, ss, st); err != nil {
		return nil, err
	}
	return statusResult(stmtDDL, "Statement executed successfully."), nil
}

func (s *Server) execTranslated(ctx context.Context, ss *session, st []token) error {
	q, err := translate(spaced(st), ss)
	if err != nil {
		return err
	}
	if _, err := ss.conn.ExecContext(ctx, q); err != nil {
		return s.sqlError(ss, err)
	}
	return nil
}

// namespaceDDL handles CREATE/DROP DATABASE/SCHEMA. CREATE makes the new
// namespace current, as Snowflake does. DROP forgets the namespace and
// drops its tables (the file stays).
func (s *Server) namespaceDDL(ss *session, st []token, i int, create, orReplace bool) (*result, error) {
	obj := st[i].up()
	i++
	ifClause := false
	if i+1 < len(st) && st[i].is("IF") {
		ifClause = true
		i += 2
		if i-1 < len(st) && st[i-1].is("NOT") {
			i++
		}
	}
	if i >= len(st) || !isIdent(st[i]) {
		return nil, &Error{Code: "001003", SQLState: "42000", Message: "SQL compilation error:\nsyntax error line 1 at position 0 unexpected '<EOF>'."}
	}
	db, schema := identName(st[i]), "PUBLIC"
	if obj == "SCHEMA" {
		db, schema = ss.db, identName(st[i])
		if i+2 < len(st) && st[i+1].text == "." && isIdent(st[i+2]) {
			db, schema = identName(st[i]), identName(st[i+2])
		}
	}
	exists := ss.srv.ns.has(db, schema)
	if obj == "DATABASE" {
		exists = ss.srv.ns.hasDB(db)
	}
	label := map[string]string{"DATABASE": "Database", "SCHEMA": "Schema"}[obj]
	name := db
	if obj == "SCHEMA" {
		name = schema
	}
	if !create {
		if !exists {
			if ifClause {
				return statusResult(stmtDDL, fmt.Sprintf("Drop statement executed successfully (%s already dropped).", name)), nil
			}
			return nil, &Error{Code: "002003", SQLState: "02000", Message: fmt.Sprintf("SQL compilation error:\n%s '%s' does not exist or not authorized.", label, name)}
		}
		if err := s.dropNamespace(ss, db, schema, obj == "DATABASE"); err != nil {
			return nil, err
		}
		return statusResult(stmtDDL, fmt.Sprintf("%s successfully dropped.", strings.ToUpper(name))), nil
	}
	if exists && !ifClause && !orReplace {
		return nil, &Error{Code: "002002", SQLState: "42710", Message: fmt.Sprintf("SQL compilation error:\nObject '%s' already exists.", name)}
	}
	if exists && orReplace {
		if err := s.dropNamespace(ss, db, schema, obj == "DATABASE"); err != nil {
			return nil, err
		}
	}
	if err := ss.use(db, schema); err != nil {
		return nil, err
	}
	if exists && ifClause {
		return statusResult(stmtDDL, fmt.Sprintf("%s already exists, statement succeeded.", strings.ToUpper(name))), nil
	}
	return statusResult(stmtDDL, fmt.Sprintf("%s %s successfully created.", label, strings.ToUpper(name))), nil
}

// dropNamespace drops every table of DB.SCHEMA (all schemas of DB when
// wholeDB) and forgets the namespace.
func (s *Server) dropNamespace(ss *session, db, schema string, wholeDB bool) error {
	ns := ss.srv.ns
	ns.mu.Lock()
	var keys [][2]string
	for k := range ns.set {
		if k[0] == db && (wholeDB || k[1] == schema) {
			keys = append(keys, k)
		}
	}
	ns.mu.Unlock()
	for _, k := range keys {
		alias, err := ss.nsAlias(k[0], k[1])
		if err != nil {
			return err
		}
		rows, err := ss.conn.QueryContext(context.Background(), "SELECT type, name FROM "+identQuote(alias)+".sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%'")
		if err != nil {
			return s.sqlError(ss, err)
		}
		var drops []string
		for rows.Next() {
			var typ, name string
			rows.Scan(&typ, &name)
			drops = append(drops, fmt.Sprintf("DROP %s IF EXISTS %s.%s", strings.ToUpper(typ), identQuote(alias), identQuote(name)))
		}
		rows.Close()
		for _, d := range drops {
			if _, err := ss.conn.ExecContext(context.Background(), d); err != nil {
				return s.sqlError(ss, err)
			}
		}
		ns.mu.Lock()
		delete(ns.set, k)
		ns.mu.Unlock()
	}
	return nil
}

// resolveTable resolves a table name of 1–3 parts starting at st[i] to an
// SQLite schema alias, the table token and the index after the name.
func resolveTable(ss *session, st []token, i int) (alias string, table token, next int, err error) {
	parts := []token{st[i]}
	j := i + 1
	for len(parts) < 3 && j+1 < len(st) && st[j].text == "." && isIdent(st[j+1]) {
		parts = append(parts, st[j+1])
		j += 2
	}
	switch len(parts) {
	case 1:
		return "main", parts[0], j, nil
	case 2:
		alias, err = ss.nsAlias("", identName(parts[0]))
		return alias, parts[1], j, err
	default:
		if !ss.hasDatabase(identName(parts[0])) {
			return "", token{}, j, &Error{Code: "002003", SQLState: "02000", Message: fmt.Sprintf("SQL compilation error:\nDatabase '%s' does not exist or not authorized.", identName(parts[0]))}
		}
		alias, err = ss.nsAlias(identName(parts[0]), identName(parts[1]))
		return alias, parts[2], j, err
	}
}

// sqliteTypeWord maps a Snowflake column type word to the SQLite declared
// type: the name stays recognisable for the rowtype, the affinity is right
// (STRING and VARIANT would get SQLite's NUMERIC affinity otherwise).
func sqliteTypeWord(w string) string {
	switch strings.ToUpper(w) {
	case "STRING", "NVARCHAR2", "CHARACTER":
		return "VARCHAR"
	case "VARIANT", "OBJECT", "ARRAY", "GEOGRAPHY", "GEOMETRY":
		return strings.ToUpper(w) + "_TEXT"
	}
	return w
}

// splitTop splits tokens at top-level commas.
func splitTop(st []token) [][]token {
	var out [][]token
	depth, start := 0, 0
	for k, t := range st {
		switch {
		case t.text == "(":
			depth++
		case t.text == ")":
			depth--
		case t.text == "," && depth == 0 && t.kind == tPunct:
			out = append(out, st[start:k])
			start = k + 1
		}
	}
	return append(out, st[start:])
}

// createTable handles CREATE [OR REPLACE] [HYBRID] TABLE [IF NOT EXISTS] name
// (columns, constraints, INDEX name (cols)) [table options]. INDEX clauses
// become CREATE INDEX statements; table options (CLUSTER BY, COMMENT,
// DATA_RETENTION_TIME_IN_DAYS …) are dropped.
//
// A TEMPORARY (or VOLATILE) table with an unqualified name goes to the
// session's SQLite connection's temp schema: like Snowflake's, it is seen
// only by its session, shadows a permanent table of the same name, and
// ends with the session.
func (s *Server) createTable(ctx context.Context, ss *session, st []token, i int, orReplace, temporary bool) (*result, error) {
	ifNotExists := false
	if i+2 < len(st) && st[i].is("IF") && st[i+1].is("NOT") && st[i+2].is("EXISTS") {
		ifNotExists, i = true, i+3
	}
	if i >= len(st) {
		return nil, &Error{Code: "001003", SQLState: "42000", Message: "SQL compilation error:\nsyntax error line 1 at position 0 unexpected '<EOF>'."}
	}
	alias, table, next, err := resolveTable(ss, st, i)
	if err != nil {
		return nil, err
	}
	if temporary && alias == "main" {
		alias = "temp"
	}
	qname := identQuote(alias) + "." + identQuote(identName(table))
	tname := identName(table)
	if next < len(st) && st[next].is("AS") {
		// CREATE TABLE t AS SELECT …
		q, err := translate(spaced(st[next+1:]), ss)
		if err != nil {
			return nil, err
		}
		if orReplace {
			if _, err := ss.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+qname); err != nil {
				return nil, s.sqlError(ss, err)
			}
		}
		if _, err := ss.conn.ExecContext(ctx, "CREATE TABLE "+qname+" AS "+q); err != nil {
			return nil, s.sqlError(ss, err)
		}
		return statusResult(stmtDDL, fmt.Sprintf("Table %s successfully created.", tname)), nil
	}
	if next >= len(st) || st[next].text != "(" {
		return nil, &Error{Code: "001003", SQLState: "42000", Message: "SQL compilation error:\nsyntax error: CREATE TABLE needs a column list."}
	}
	depth, end := 0, -1
	for k := next; k < len(st); k++ {
		if st[k].text == "(" {
			depth++
		} else if st[k].text == ")" {
			depth--
			if depth == 0 {
				end = k
				break
			}
		}
	}
	if end < 0 {
		return nil, &Error{Code: "001003", SQLState: "42000", Message: "SQL compilation error:\nsyntax error: unbalanced parentheses."}
	}
	var defs []string
	var indexes []string
	for _, item := range splitTop(st[next+1 : end]) {
		if len(item) == 0 {
			continue
		}
		first := item[0].up()
		switch {
		case item[0].kind == tWord && first == "INDEX" && len(item) > 2:
			// INDEX name (cols) [INCLUDE (cols)]
			cols := ""
			if item[2].text == "(" {
				d := 0
				for k := 2; k < len(item); k++ {
					if item[k].text == "(" {
						d++
					} else if item[k].text == ")" {
						d--
						if d == 0 {
							cols = render(spaced(item[2 : k+1]))
							break
						}
					}
				}
			}
			idx := identQuote(alias) + "." + identQuote(tname+"$"+identName(item[1]))
			indexes = append(indexes, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s %s", idx, identQuote(tname), cols))
			continue
		case item[0].kind == tWord && (first == "PRIMARY" || first == "UNIQUE" || first == "CONSTRAINT" || first == "FOREIGN" || first == "CHECK"):
			q, err := translate(spaced(item), ss)
			if err != nil {
				return nil, err
			}
			defs = append(defs, q)
			continue
		}
		// Column: name type [(args)] [constraints …]
		col := []token{item[0]}
		rest := item[1:]
		if len(rest) > 0 && rest[0].kind == tWord {
			t := rest[0]
			t.text = sqliteTypeWord(t.text)
			col = append(col, t)
			rest = rest[1:]
			if len(rest) > 0 && rest[0].text == "(" {
				k := 0
				for k < len(rest) && rest[k].text != ")" {
					k++
				}
				col = append(col, rest[:k+1]...)
				rest = rest[k+1:]
			}
		}
		for k := 0; k < len(rest); k++ {
			t := rest[k]
			switch {
			case t.is("AUTOINCREMENT") || t.is("IDENTITY"):
				if k+1 < len(rest) && rest[k+1].text == "(" {
					for k < len(rest) && rest[k].text != ")" {
						k++
					}
				}
				for k+2 < len(rest) && (rest[k+1].is("START") || rest[k+1].is("INCREMENT")) {
					k += 2
					if k < len(rest) && rest[k].is("WITH") || rest[k].is("BY") {
						k++
					}
				}
				for k+1 < len(rest) && (rest[k+1].is("ORDER") || rest[k+1].is("NOORDER")) {
					k++
				}
			case (t.is("COMMENT") || t.is("COLLATE")) && k+1 < len(rest):
				k++
			default:
				col = append(col, t)
			}
		}
		q, err := translate(spaced(col), ss)
		if err != nil {
			return nil, err
		}
		defs = append(defs, q)
	}
	if orReplace {
		if _, err := ss.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+qname); err != nil {
			return nil, s.sqlError(ss, err)
		}
	}
	create := "CREATE TABLE "
	if ifNotExists {
		var n int
		if err := ss.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+identQuote(alias)+".sqlite_master WHERE type='table' AND name = ? COLLATE NOCASE", tname).Scan(&n); err != nil {
			return nil, s.sqlError(ss, err)
		}
		if n > 0 {
			return statusResult(stmtDDL, fmt.Sprintf("%s already exists, statement succeeded.", tname)), nil
		}
	}
	if _, err := ss.conn.ExecContext(ctx, create+qname+" ("+strings.Join(defs, ", ")+")"); err != nil {
		return nil, s.sqlError(ss, err)
	}
	for _, q := range indexes {
		if _, err := ss.conn.ExecContext(ctx, q); err != nil {
			return nil, s.sqlError(ss, err)
		}
	}
	return statusResult(stmtDDL, fmt.Sprintf("Table %s successfully created.", tname)), nil
}

// alter handles ALTER TABLE … ADD [COLUMN] [IF NOT EXISTS] and passes other
// ALTER TABLE forms to SQLite; ALTER WAREHOUSE/USER/ROLE are accepted.
func (s *Server) alter(ctx context.Context, ss *session, st []token, describe bool) (*result, error) {
	if len(st) < 3 || !st[1].is("TABLE") {
		return statusResult(stmtDDL, "Statement executed successfully."), nil
	}
	if describe {
		return statusResult(stmtDDL, "Statement executed successfully."), nil
	}
	i := 2
	ifExists := false
	if i+1 < len(st) && st[i].is("IF") && st[i+1].is("EXISTS") {
		ifExists, i = true, i+2
	}
	alias, table, next, err := resolveTable(ss, st, i)
	if err != nil {
		return nil, err
	}
	qname := identQuote(alias) + "." + identQuote(identName(table))
	if next < len(st) && st[next].is("ADD") {
		j := next + 1
		if j < len(st) && st[j].is("COLUMN") {
			j++
		}
		if j+2 < len(st) && st[j].is("IF") && st[j+1].is("NOT") && st[j+2].is("EXISTS") {
			j += 3
			if j < len(st) {
				var n int
				err := ss.conn.QueryRowContext(ctx, "SELECT count(*) FROM pragma_table_info(?, ?) WHERE name = ? COLLATE NOCASE", identName(table), alias, identName(st[j])).Scan(&n)
				if err != nil {
					return nil, s.sqlError(ss, err)
				}
				if n > 0 {
					return statusResult(stmtDDL, "Statement executed successfully."), nil
				}
			}
		}
		col := append([]token(nil), st[j:]...)
		if len(col) > 1 && col[1].kind == tWord {
			col[1].text = sqliteTypeWord(col[1].text)
		}
		q, err := translate(spaced(col), ss)
		if err != nil {
			return nil, err
		}
		if _, err := ss.conn.ExecContext(ctx, "ALTER TABLE "+qname+" ADD COLUMN "+q); err != nil {
			return nil, s.sqlError(ss, err)
		}
		return statusResult(stmtDDL, "Statement executed successfully."), nil
	}
	q, err := translate(spaced(st[next:]), ss)
	if err != nil {
		return nil, err
	}
	if _, err := ss.conn.ExecContext(ctx, "ALTER TABLE "+qname+" "+q); err != nil {
		e := s.sqlError(ss, err)
		if ifExists && e.Code == "002003" {
			return statusResult(stmtDDL, "Statement executed successfully."), nil
		}
		return nil, e
	}
	return statusResult(stmtDDL, "Statement executed successfully."), nil
}

// alterSession records ALTER SESSION SET k = v [k = v …] / UNSET k [, k].
func (s *Server) alterSession(ss *session, st []token) (*result, error) {
	if len(st) < 3 {
		return nil, &Error{Code: "001003", SQLState: "42000", Message: "SQL compilation error:\nsyntax error line 1 at position 0 unexpected '<EOF>'."}
	}
	switch {
	case st[2].is("SET"):
		for k := 3; k+2 < len(st)+0 && k < len(st); {
			if !isIdent(st[k]) || k+2 >= len(st) || st[k+1].text != "=" {
				return nil, &Error{Code: "001003", SQLState: "42000", Message: fmt.Sprintf("SQL compilation error:\nsyntax error line 1 at position 0 unexpected '%s'.", st[k].text)}
			}
			v := st[k+2]
			val := v.text
			if v.kind == tString || v.kind == tQuoted {
				val = v.val
			}
			ss.srv.mu.Lock()
			ss.params[identName(st[k])] = val
			ss.srv.mu.Unlock()
			k += 3
			if k < len(st) && st[k].text == "," {
				k++
			}
		}
	case st[2].is("UNSET"):
		for k := 3; k < len(st); k++ {
			if isIdent(st[k]) {
				ss.srv.mu.Lock()
				delete(ss.params, identName(st[k]))
				ss.srv.mu.Unlock()
			}
		}
	}
	return statusResult(stmtAlterSession, "Statement executed successfully."), nil
}

// useStmt handles USE [DATABASE|SCHEMA|WAREHOUSE|ROLE] name.
func (s *Server) useStmt(ss *session, st []token) (*result, error) {
	i := 1
	kind := "DATABASE"
	if i < len(st) && st[i].kind == tWord {
		switch st[i].up() {
		case "DATABASE", "SCHEMA", "WAREHOUSE", "ROLE", "SECONDARY":
			kind = st[i].up()
			i++
		}
	}
	if i >= len(st) || !isIdent(st[i]) {
		return nil, &Error{Code: "001003", SQLState: "42000", Message: "SQL compilation error:\nsyntax error line 1 at position 0 unexpected '<EOF>'."}
	}
	name := identName(st[i])
	notExist := &Error{Code: "002043", SQLState: "02000", Message: "SQL compilation error:\nObject does not exist, or operation cannot be performed."}
	switch kind {
	case "WAREHOUSE":
		ss.warehouse = name
	case "ROLE":
		ss.role = name
	case "SECONDARY":
	case "SCHEMA":
		db, schema := ss.db, name
		if i+2 < len(st) && st[i+1].text == "." {
			db, schema = name, identName(st[i+2])
		}
		if !ss.srv.ns.has(db, schema) {
			return nil, notExist
		}
		if err := ss.use(db, schema); err != nil {
			return nil, err
		}
	default:
		if i+2 < len(st) && st[i+1].text == "." {
			// USE db.schema
			if !ss.srv.ns.has(name, identName(st[i+2])) {
				return nil, notExist
			}
			if err := ss.use(name, identName(st[i+2])); err != nil {
				return nil, err
			}
			break
		}
		if !ss.srv.ns.hasDB(name) {
			return nil, notExist
		}
		if err := ss.use(name, "PUBLIC"); err != nil {
			return nil, err
		}
	}
	return statusResult(stmtUse, "Statement executed successfully."), nil
}

// show answers SHOW WAREHOUSES with one X-Small single-cluster warehouse
// (the session's), and SHOW PARAMETERS with the session's parameters.
func (s *Server) show(ss *session, st []token) (*result, error) {
	if len(st) < 2 {
		return nil, unsupported("SHOW")
	}
	switch st[1].up() {
	case "WAREHOUSES":
		wh := ss.warehouse
		if wh == "" {
			wh = DefaultWarehouse
		}
		names := []string{"name", "state", "type", "size", "min_cluster_count", "max_cluster_count", "started_clusters", "running", "queued", "is_default", "is_current", "auto_suspend", "auto_resume", "available", "provisioning", "quiescing", "other", "created_on", "resumed_on", "updated_on", "owner", "comment", "enable_query_acceleration", "query_acceleration_max_scale_factor", "resource_monitor", "scaling_policy", "owner_role_type"}
		vals := []string{wh, "STARTED", "STANDARD", "X-Small", "1", "1", "1", "0", "0", "Y", "Y", "600", "true", "100", "0", "0", "0", "0", "0", "0", ss.role, "unistore emulator", "false", "8", "null", "STANDARD", "ROLE"}
		r := &result{stmtType: stmtShow}
		row := make([]*string, len(names))
		for k, n := range names {
			c := textCol(n)
			switch n {
			case "min_cluster_count", "max_cluster_count", "started_clusters", "running", "queued", "auto_suspend", "query_acceleration_max_scale_factor":
				c = fixedCol(n)
			case "created_on", "resumed_on", "updated_on":
				c = column{Name: n, Type: "timestamp_ltz", Scale: 3, Nullable: true}
			}
			r.columns = append(r.columns, c)
			row[k] = str(vals[k])
		}
		r.rows = [][]*string{row}
		return r, nil
	case "PARAMETERS":
		r := &result{stmtType: stmtShow, columns: []column{textCol("key"), textCol("value"), textCol("default"), textCol("level"), textCol("description"), textCol("type")}}
		ss.srv.mu.Lock()
		for k, v := range ss.params {
			r.rows = append(r.rows, []*string{str(k), str(v), str(""), str("SESSION"), str(""), str("STRING")})
		}
		ss.srv.mu.Unlock()
		return r, nil
	}
	return nil, unsupported("SHOW " + st[1].up())
}
