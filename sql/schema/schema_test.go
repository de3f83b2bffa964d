package schema_test

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/unistore-bench/unistore/sql/schema"
)

// controlTables are the Snowflake HYBRID tables: the control plane's, and
// stored_batches, whose primary key makes bulk writes idempotent (only
// hybrid tables enforce one).
var controlTables = []string{"run_status", "run_control_events", "worker_heartbeats", "stored_batches"}

func scripts(t *testing.T, dialect string) []schema.Script {
	t.Helper()
	s, err := schema.Files(dialect)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) == 0 {
		t.Fatalf("%s: no scripts", dialect)
	}
	return s
}

func TestFilesUnknownDialect(t *testing.T) {
	_, err := schema.Files("oracle")
	if err == nil || !strings.Contains(err.Error(), `unknown dialect "oracle"`) {
		t.Fatalf("got %v, want an unknown dialect error", err)
	}
}

// Every dialect has the same numbered scripts, the last one is
// schema.Version, and each script records its own number.
func TestDialectsInStepVersions(t *testing.T) {
	var want []int
	for _, d := range schema.Dialects() {
		var got []int
		for _, sc := range scripts(t, d) {
			got = append(got, sc.Version)
			pat := fmt.Sprintf(`(?is)(INSERT\s+INTO\s+\S*schema_version\s*\(version\)\s*VALUES\s*\(%d\)\s*ON\s+CONFLICT\s*\(version\)\s*DO\s+NOTHING|MERGE\s+INTO\s+\S*SCHEMA_VERSION.*SELECT\s+%d\s+AS\s+VERSION)`, sc.Version, sc.Version)
			stmts := sc.Statements()
			if !regexp.MustCompile(pat).MatchString(stmts[len(stmts)-1]) {
				t.Errorf("%s/%s: the last statement does not record schema version %d:\n%s", d, sc.Name, sc.Version, stmts[len(stmts)-1])
			}
		}
		if want == nil {
			want = got
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: script numbers differ from %s (-want +got):\n%s", d, schema.Dialects()[0], diff)
		}
		if got[len(got)-1] != schema.Version {
			t.Errorf("%s: last script %d, schema.Version %d", d, got[len(got)-1], schema.Version)
		}
	}
}

var (
	createTable = regexp.MustCompile(`(?is)^CREATE\s+(HYBRID\s+)?TABLE\s+IF\s+NOT\s+EXISTS\s+([\w.]+)\s*\((.*)\)\s*$`)
	alterAdd    = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+([\w.]+)\s+ADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\s+(\w+)\s`)
	rerunnable  = []*regexp.Regexp{
		regexp.MustCompile(`(?is)^CREATE\s+(HYBRID\s+)?TABLE\s+IF\s+NOT\s+EXISTS\s`),
		regexp.MustCompile(`(?is)^CREATE\s+(UNIQUE\s+)?INDEX\s+IF\s+NOT\s+EXISTS\s`),
		regexp.MustCompile(`(?is)^CREATE\s+(SCHEMA|DATABASE)\s+IF\s+NOT\s+EXISTS\s`),
		regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+\S+\s+ADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\s`),
		regexp.MustCompile(`(?is)^INSERT\s+INTO\s.*\sON\s+CONFLICT\s*(\([^)]*\))?\s*DO\s+NOTHING$`),
		regexp.MustCompile(`(?is)^MERGE\s+INTO\s.*\sWHEN\s+NOT\s+MATCHED\s+THEN\s+INSERT\s`),
	}
)

// table is a table's parsed DDL.
type table struct {
	hybrid  bool
	pk      bool
	columns []string // lower case, sorted
}

// parse reads a dialect's tables and columns from its scripts, lower-cased
// and without schema qualifiers.
func parse(t *testing.T, dialect string) map[string]*table {
	t.Helper()
	tables := map[string]*table{}
	for _, sc := range scripts(t, dialect) {
		for _, st := range sc.Statements() {
			st = strings.TrimSpace(schema.StripComments(st))
			if m := createTable.FindStringSubmatch(st); m != nil {
				tb := &table{hybrid: m[1] != ""}
				for _, def := range splitTop(m[3]) {
					f := strings.Fields(def)
					if len(f) == 0 {
						continue
					}
					switch strings.ToUpper(f[0]) {
					case "PRIMARY", "CONSTRAINT", "UNIQUE", "FOREIGN", "CHECK":
						if strings.EqualFold(f[0], "PRIMARY") {
							tb.pk = true
						}
						continue
					}
					if strings.Contains(strings.ToUpper(def), "PRIMARY KEY") {
						tb.pk = true
					}
					tb.columns = append(tb.columns, strings.ToLower(f[0]))
				}
				tables[bare(m[2])] = tb
			} else if m := alterAdd.FindStringSubmatch(st); m != nil {
				tb := tables[bare(m[1])]
				if tb == nil {
					t.Fatalf("%s/%s: ALTER of unknown table %s", dialect, sc.Name, m[1])
				}
				tb.columns = append(tb.columns, strings.ToLower(m[2]))
			}
		}
	}
	for _, tb := range tables {
		sort.Strings(tb.columns)
	}
	return tables
}

func bare(name string) string {
	return strings.ToLower(name[strings.LastIndex(name, ".")+1:])
}

// splitTop splits s at commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

func TestEveryStatementRerunnable(t *testing.T) {
	for _, d := range schema.Dialects() {
		for _, sc := range scripts(t, d) {
			for _, st := range sc.Statements() {
				st = strings.TrimSpace(schema.StripComments(st))
				if regexp.MustCompile(`(?i)\bOR\s+(ALTER|REPLACE)\b`).MatchString(st) {
					t.Errorf("%s/%s: CREATE OR ALTER/REPLACE is not allowed:\n%s", d, sc.Name, st)
				}
				ok := slices.ContainsFunc(rerunnable, func(re *regexp.Regexp) bool { return re.MatchString(st) })
				if !ok {
					t.Errorf("%s/%s: statement is not one of the rerunnable forms (CREATE … IF NOT EXISTS, ALTER TABLE … ADD COLUMN IF NOT EXISTS, INSERT … ON CONFLICT DO NOTHING, MERGE … WHEN NOT MATCHED):\n%s", d, sc.Name, st)
				}
				if d == schema.Snowflake && regexp.MustCompile(`(?is)^MERGE\s.*\sWHEN\s+MATCHED\s`).MatchString(st) {
					t.Errorf("%s/%s: MERGE must not update matched rows:\n%s", d, sc.Name, st)
				}
			}
		}
	}
}

func TestSnowflakeControlTablesAreHybrid(t *testing.T) {
	tables := parse(t, schema.Snowflake)
	for _, name := range controlTables {
		tb := tables[name]
		switch {
		case tb == nil:
			t.Errorf("snowflake: no CREATE HYBRID TABLE IF NOT EXISTS for %s", strings.ToUpper(name))
		case !tb.hybrid:
			t.Errorf("snowflake: %s must be a HYBRID table", strings.ToUpper(name))
		case !tb.pk:
			t.Errorf("snowflake: hybrid table %s has no PRIMARY KEY", strings.ToUpper(name))
		}
	}
	for name, tb := range tables {
		if tb.hybrid && !slices.Contains(controlTables, name) {
			t.Errorf("snowflake: %s is HYBRID; only %v should be (the rest are standard tables)", strings.ToUpper(name), controlTables)
		}
	}
	// The hybrid tables are named in the database and schemas the design fixes.
	for _, sc := range scripts(t, schema.Snowflake) {
		for _, st := range sc.Statements() {
			st = schema.StripComments(st)
			if m := createTable.FindStringSubmatch(strings.TrimSpace(st)); m != nil {
				if !regexp.MustCompile(`^UNISTORE_BENCHMARK\.(TEST_RESULTS|CONFIG)\.[A-Z_]+$`).MatchString(m[2]) {
					t.Errorf("snowflake: table %s is not UNISTORE_BENCHMARK.TEST_RESULTS|CONFIG.<UPPER_NAME>", m[2])
				}
			}
		}
	}
}

// The three dialects declare the same tables and columns.
func TestDialectsSameTablesAndColumns(t *testing.T) {
	want := parse(t, schema.Postgres)
	for _, name := range append(controlTables, "worker_metrics_snapshots", "query_executions", "test_templates", "schema_version") {
		if want[name] == nil {
			t.Errorf("postgres: no table %s", name)
		}
	}
	cols := func(m map[string]*table) map[string][]string {
		out := map[string][]string{}
		for n, tb := range m {
			out[n] = tb.columns
		}
		return out
	}
	for _, d := range []string{schema.Snowflake, schema.SQLite} {
		if diff := cmp.Diff(cols(want), cols(parse(t, d))); diff != "" {
			t.Errorf("%s tables/columns differ from postgres (-postgres +%s):\n%s", d, d, diff)
		}
	}
}

func TestStatements(t *testing.T) {
	got := schema.Statements(`-- head; not a split
CREATE TABLE a (x text DEFAULT 'a;b'); /* c; d */
INSERT INTO "we;ird" VALUES (1);
-- only a comment;
`)
	want := []string{
		"-- head; not a split\nCREATE TABLE a (x text DEFAULT 'a;b')",
		`/* c; d */` + "\n" + `INSERT INTO "we;ird" VALUES (1)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Statements (-want +got):\n%s", diff)
	}
}
