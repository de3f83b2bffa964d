package schema

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed postgres/*.sql sqlite/*.sql snowflake/*.sql
var files embed.FS

// The dialects with a schema. Each has the same numbered scripts.
const (
	Postgres  = "postgres"
	SQLite    = "sqlite"
	Snowflake = "snowflake"
)

// Dialects lists the dialects, sorted.
func Dialects() []string { return []string{Postgres, Snowflake, SQLite} }

// Script is one numbered DDL script of a dialect.
type Script struct {
	// Name is the file name, e.g. "0001_initial.sql".
	Name string
	// Version is the number the name starts with; the script records it in
	// SCHEMA_VERSION as its last statement.
	Version int
	// SQL is the script's text.
	SQL string
}

// Statements splits the script into its statements (see Statements).
func (s Script) Statements() []string { return Statements(s.SQL) }

// Version is the schema version this binary expects: the highest script
// number, the same in every dialect (a test holds them in step).
var Version = mustVersion()

func mustVersion() int {
	scripts, err := Files(Postgres)
	if err != nil || len(scripts) == 0 {
		panic(fmt.Sprintf("schema: no embedded postgres scripts: %v", err))
	}
	return scripts[len(scripts)-1].Version
}

// Files returns the dialect's scripts in the order they are applied.
func Files(dialect string) ([]Script, error) {
	entries, err := fs.ReadDir(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("schema: unknown dialect %q (have %s)", dialect, strings.Join(Dialects(), ", "))
	}
	var out []Script
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("schema: %s/%s: name must start with a positive number and '_', like 0001_initial.sql", dialect, e.Name())
		}
		b, err := fs.ReadFile(files, path.Join(dialect, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		out = append(out, Script{Name: e.Name(), Version: v, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("schema: %s: two scripts numbered %d", dialect, out[i].Version)
		}
	}
	return out, nil
}

// FS returns the embedded scripts as a file system, one directory per
// dialect, for tools that want to print or copy them.
func FS() fs.FS { return files }

// Statements splits SQL text into statements at semicolons outside string
// literals, quoted identifiers and comments. Comments are kept inside the
// statement they precede; statements that are only whitespace and comments
// are dropped. Dollar-quoted bodies are not understood: the scripts do not
// use them.
func Statements(sql string) []string {
	var out []string
	start := 0
	emit := func(end int) {
		s := strings.TrimSpace(sql[start:end])
		if strings.TrimSpace(StripComments(s)) != "" {
			out = append(out, s)
		}
	}
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == '\'' || c == '"':
			for i++; i < len(sql) && sql[i] != c; i++ {
			}
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			if j := strings.Index(sql[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(sql)
			}
		case c == ';':
			emit(i)
			start = i + 1
		}
	}
	emit(len(sql))
	return out
}

// StripComments removes "--" line comments and "/* */" block comments
// outside string literals and quoted identifiers.
func StripComments(sql string) string {
	var b strings.Builder
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(sql) && sql[j] != c {
				j++
			}
			if j < len(sql) {
				j++
			}
			b.WriteString(sql[i:j])
			i = j - 1
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			b.WriteByte('\n')
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			if j := strings.Index(sql[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(sql)
			}
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
