package drivertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// Types are a dialect's column types for each core.Kind.
type Types struct {
	Int, Float, Text, Bool, Time string
}

// Target is what a driver's test gives Run.
type Target struct {
	// Connector opens connections to an empty database.
	Connector driver.Connector
	// Exec runs setup SQL (DDL, fixtures) on the same database, outside
	// the connector; it fails the test on error.
	Exec func(t *testing.T, sql string)
	// Types are the column types the round-trip check creates.
	Types Types
}

// Run runs every conformance check against the target open returns. open
// is called once; Run closes the Connector when it ends. If the Connector
// is a driver.Multiplexer with an engine, Run calls open a second time and
// runs every check again with each Exec going through the engine
// (subtests under "Multiplexed").
func Run(t *testing.T, open func(t *testing.T) Target) {
	t.Helper()
	tg := open(t)
	if tg.Connector == nil || tg.Exec == nil {
		t.Fatal("drivertest: Target needs a Connector and an Exec")
	}
	t.Cleanup(func() { _ = tg.Connector.Close() })
	checks := []check{
		{"Connect", testConnect},
		{"PrepareMissingTable", testPrepareMissingTable},
		{"Placeholders", testPlaceholders},
		{"SelectRowCount", testSelectRowCount},
		{"RowsAffected", testRowsAffected},
		{"RoundTrip", testRoundTrip},
		{"QueryColumn", testQueryColumn},
		{"ConstraintViolation", testConstraint},
		{"CancelledContext", testCancelledContext},
		{"IndependentConnections", testIndependent},
		{"ConcurrentConnections", testConcurrent},
		{"CloseTwice", testCloseTwice},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, tg)
		})
	}
	if _, ok := tg.Connector.(driver.Multiplexer); ok {
		t.Run("Multiplexed", func(t *testing.T) { runMultiplexed(t, open, checks) })
	}
}

type check struct {
	name string
	fn   func(t *testing.T, tg Target)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func connect(t *testing.T, tg Target) driver.Conn {
	t.Helper()
	c, err := tg.Connector.Connect(ctxT(t))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func prepare(t *testing.T, c driver.Conn, sql string) driver.Stmt {
	t.Helper()
	s, err := c.Prepare(ctxT(t), sql)
	if err != nil {
		t.Fatalf("Prepare(%q): %v", sql, err)
	}
	return s
}

func exec(t *testing.T, s driver.Stmt, args ...core.Value) int64 {
	t.Helper()
	n, err := s.Exec(ctxT(t), args)
	if err != nil {
		t.Fatalf("Exec(%v): %v", args, err)
	}
	return n
}

func testConnect(t *testing.T, tg Target) {
	c := connect(t, tg)
	s := prepare(t, c, "SELECT 1")
	if got := exec(t, s); got != 1 {
		t.Errorf("SELECT 1 returned %d rows, want 1", got)
	}
}

func testPrepareMissingTable(t *testing.T, tg Target) {
	c := connect(t, tg)
	_, err := c.Prepare(ctxT(t), "SELECT a FROM drivertest_no_such_table WHERE a = ?")
	if err == nil {
		t.Fatal("Prepare of a missing table succeeded, want an error")
	}
	if class, _ := driver.Classify(tg.Connector, err); class != core.ErrSyntax {
		t.Errorf("missing table classified %v, want %v (err: %v)", class, core.ErrSyntax, err)
	}
	// The connection stays usable after a failed prepare.
	if got := exec(t, prepare(t, c, "SELECT 1")); got != 1 {
		t.Errorf("SELECT 1 after failed prepare returned %d rows, want 1", got)
	}
}

func testPlaceholders(t *testing.T, tg Target) {
	tg.Exec(t, "CREATE TABLE dt_ph (id INTEGER PRIMARY KEY, s "+tg.Types.Text+")")
	tg.Exec(t, "INSERT INTO dt_ph VALUES (1, '?'), (2, 'two'), (3, 'three'), (4, '?')")
	c := connect(t, tg)
	cases := []struct {
		sql  string
		args []core.Value
		want int64
	}{
		{"SELECT id FROM dt_ph WHERE s = '?'", nil, 2},
		{"SELECT id FROM dt_ph WHERE id = ?", []core.Value{core.Int(2)}, 1},
		{"SELECT id FROM dt_ph WHERE s = '?' AND id > ?", []core.Value{core.Int(1)}, 1},
		{"SELECT id FROM dt_ph WHERE id IN (?, ?, ?) AND s <> '?' -- trailing ? comment", []core.Value{core.Int(1), core.Int(2), core.Int(3)}, 2},
		{"SELECT id FROM dt_ph /* ? */ WHERE s = ? OR s = ? OR id = ?", []core.Value{core.Text("two"), core.Text("?"), core.Int(3)}, 4},
	}
	for _, tc := range cases {
		s := prepare(t, c, tc.sql)
		if got := exec(t, s, tc.args...); got != tc.want {
			t.Errorf("%s with %d args: got %d rows, want %d", tc.sql, len(tc.args), got, tc.want)
		}
	}
	// A wrong argument count is an error, not a panic.
	s := prepare(t, c, "SELECT id FROM dt_ph WHERE id = ?")
	if _, err := s.Exec(ctxT(t), nil); err == nil {
		t.Error("Exec with 0 args for 1 placeholder succeeded, want an error")
	}
}

func testSelectRowCount(t *testing.T, tg Target) {
	tg.Exec(t, "CREATE TABLE dt_sel (id INTEGER PRIMARY KEY, v INTEGER)")
	tg.Exec(t, "INSERT INTO dt_sel VALUES (1, 10), (2, 20), (3, 30), (4, 40), (5, 50)")
	c := connect(t, tg)
	s := prepare(t, c, "SELECT id, v FROM dt_sel WHERE id >= ?")
	for _, tc := range []struct{ from, want int64 }{{1, 5}, {3, 3}, {5, 1}, {6, 0}} {
		// Twice each: a reused statement must give the same answer.
		for range 2 {
			if got := exec(t, s, core.Int(tc.from)); got != tc.want {
				t.Errorf("id >= %d: got %d rows, want %d", tc.from, got, tc.want)
			}
		}
	}
}

func testRowsAffected(t *testing.T, tg Target) {
	tg.Exec(t, "CREATE TABLE dt_dml (id INTEGER PRIMARY KEY, v INTEGER)")
	c := connect(t, tg)
	ins := prepare(t, c, "INSERT INTO dt_dml (id, v) VALUES (?, ?)")
	for i := int64(1); i <= 4; i++ {
		if got := exec(t, ins, core.Int(i), core.Int(i*10)); got != 1 {
			t.Errorf("INSERT returned %d, want 1", got)
		}
	}
	upd := prepare(t, c, "UPDATE dt_dml SET v = v + 1 WHERE id <= ?")
	if got := exec(t, upd, core.Int(3)); got != 3 {
		t.Errorf("UPDATE id <= 3 returned %d, want 3", got)
	}
	if got := exec(t, upd, core.Int(0)); got != 0 {
		t.Errorf("UPDATE id <= 0 returned %d, want 0", got)
	}
	del := prepare(t, c, "DELETE FROM dt_dml WHERE id > ?")
	if got := exec(t, del, core.Int(2)); got != 2 {
		t.Errorf("DELETE id > 2 returned %d, want 2", got)
	}
	ret := prepare(t, c, "INSERT INTO dt_dml (id, v) VALUES (?, ?) RETURNING id")
	if got := exec(t, ret, core.Int(9), core.Int(90)); got != 1 {
		t.Errorf("INSERT … RETURNING returned %d, want 1", got)
	}
}

// roundTripValues are the values every driver must store and read back.
func roundTripValues() []core.Value {
	tm := time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC)
	return []core.Value{
		core.Int(-9007199254740993),
		{Kind: core.KindFloat, Float: 0.1},
		core.Text("héllo, ? 'quoted'"),
		{Kind: core.KindBool, Int: 1},
		{Kind: core.KindTime, Time: tm},
	}
}

func testRoundTrip(t *testing.T, tg Target) {
	ty := tg.Types
	tg.Exec(t, fmt.Sprintf("CREATE TABLE dt_rt (id INTEGER PRIMARY KEY, v_int %s, v_float %s, v_text %s, v_bool %s, v_time %s)",
		ty.Int, ty.Float, ty.Text, ty.Bool, ty.Time))
	c := connect(t, tg)
	ins := prepare(t, c, "INSERT INTO dt_rt (id, v_int, v_float, v_text, v_bool, v_time) VALUES (?, ?, ?, ?, ?, ?)")
	vals := roundTripValues()
	rows := [][]core.Value{
		append([]core.Value{core.Int(1)}, vals...),
		{core.Int(2), {}, {}, {}, {}, {}}, // NULLs
		{core.Int(3), core.Int(0), {Kind: core.KindFloat, Float: -2.5e300}, {Kind: core.KindText, Text: []byte{}},
			{Kind: core.KindBool}, {Kind: core.KindTime, Time: time.Date(1999, 12, 31, 23, 59, 59, 0, time.FixedZone("x", 5*3600))}},
	}
	for _, r := range rows {
		if got := exec(t, ins, r...); got != 1 {
			t.Fatalf("INSERT returned %d, want 1", got)
		}
	}
	for col, name := range []string{"v_int", "v_float", "v_text", "v_bool", "v_time"} {
		got, err := c.QueryColumn(ctxT(t), "SELECT "+name+" FROM dt_rt ORDER BY id")
		if err != nil {
			t.Fatalf("QueryColumn(%s): %v", name, err)
		}
		if len(got) != len(rows) {
			t.Fatalf("QueryColumn(%s) returned %d values, want %d", name, len(got), len(rows))
		}
		for i, r := range rows {
			if want := r[col+1]; !equal(got[i], want) {
				t.Errorf("%s row %d: got %s, want %s", name, i+1, show(got[i]), show(want))
			}
		}
	}
}

func equal(a, b core.Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case core.KindNull:
		return true
	case core.KindInt, core.KindBool:
		return a.Int == b.Int
	case core.KindFloat:
		return a.Float == b.Float
	case core.KindText:
		return string(a.Text) == string(b.Text)
	case core.KindTime:
		return a.Time.Equal(b.Time)
	}
	return false
}

func show(v core.Value) string {
	kinds := [...]string{"null", "int", "float", "text", "bool", "time"}
	k := "?"
	if int(v.Kind) < len(kinds) {
		k = kinds[v.Kind]
	}
	switch v.Kind {
	case core.KindText:
		return fmt.Sprintf("%s(%q)", k, v.Text)
	case core.KindFloat:
		return fmt.Sprintf("%s(%v)", k, v.Float)
	case core.KindTime:
		return fmt.Sprintf("%s(%s)", k, v.Time.Format(time.RFC3339Nano))
	case core.KindNull:
		return k
	}
	return fmt.Sprintf("%s(%d)", k, v.Int)
}

func testQueryColumn(t *testing.T, tg Target) {
	tg.Exec(t, "CREATE TABLE dt_qc (id INTEGER PRIMARY KEY)")
	c := connect(t, tg)
	got, err := c.QueryColumn(ctxT(t), "SELECT id FROM dt_qc")
	if err != nil || len(got) != 0 {
		t.Errorf("QueryColumn on an empty table = %v, %v; want no values, no error", got, err)
	}
	tg.Exec(t, "INSERT INTO dt_qc VALUES (7), (8)")
	got, err = c.QueryColumn(ctxT(t), "SELECT id, id * 2 FROM dt_qc ORDER BY id")
	if err != nil {
		t.Fatalf("QueryColumn: %v", err)
	}
	if len(got) != 2 || !equal(got[0], core.Int(7)) || !equal(got[1], core.Int(8)) {
		t.Errorf("QueryColumn = %v, want [int(7) int(8)]", got)
	}
	if _, err := c.QueryColumn(ctxT(t), "SELECT x FROM drivertest_no_such_table"); err == nil {
		t.Error("QueryColumn on a missing table succeeded, want an error")
	}
}

func testConstraint(t *testing.T, tg Target) {
	tg.Exec(t, "CREATE TABLE dt_uniq (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
	c := connect(t, tg)
	ins := prepare(t, c, "INSERT INTO dt_uniq (id, v) VALUES (?, ?)")
	exec(t, ins, core.Int(1), core.Int(1))
	for _, args := range [][]core.Value{{core.Int(1), core.Int(2)}, {core.Int(2), {}}} {
		_, err := ins.Exec(ctxT(t), args)
		if err == nil {
			t.Fatalf("INSERT %v succeeded, want a constraint violation", args)
		}
		if class, code := driver.Classify(tg.Connector, err); class != core.ErrConstraint {
			t.Errorf("INSERT %v: classified %v (code %q), want %v; err: %v", args, class, code, core.ErrConstraint, err)
		}
	}
	// The statement still works after a failure.
	if got := exec(t, ins, core.Int(3), core.Int(3)); got != 1 {
		t.Errorf("INSERT after violation returned %d, want 1", got)
	}
}

func testCancelledContext(t *testing.T, tg Target) {
	tg.Exec(t, "CREATE TABLE dt_cancel (id INTEGER PRIMARY KEY)")
	c := connect(t, tg)
	s := prepare(t, c, "INSERT INTO dt_cancel (id) VALUES (?)")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	_, err := s.Exec(ctx, []core.Value{core.Int(1)})
	if err == nil {
		t.Fatal("Exec with a cancelled context succeeded, want an error")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Exec with a cancelled context took %v, want < 1s", d)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Exec with a cancelled context: %v, want an error matching context.Canceled", err)
	}
	// Nothing ran, and the connection is still usable.
	if got := exec(t, prepare(t, c, "SELECT id FROM dt_cancel")); got != 0 {
		t.Errorf("cancelled INSERT left %d rows, want 0", got)
	}
}

func testIndependent(t *testing.T, tg Target) {
	tg.Exec(t, "CREATE TABLE dt_ind (id INTEGER PRIMARY KEY)")
	tg.Exec(t, "INSERT INTO dt_ind VALUES (1), (2)")
	a, b := connect(t, tg), connect(t, tg)
	// Session state stays with its connection: a temporary table on a is
	// invisible on b.
	exec(t, prepare(t, a, "CREATE TEMPORARY TABLE dt_tmp (x INTEGER)"))
	if got := exec(t, prepare(t, a, "SELECT x FROM dt_tmp")); got != 0 {
		t.Errorf("SELECT from a's temp table on a: %d rows, want 0", got)
	}
	if _, err := b.Prepare(ctxT(t), "SELECT x FROM dt_tmp"); err == nil {
		t.Error("b sees a's temporary table, want independent connections")
	}
	sa := prepare(t, a, "SELECT id FROM dt_ind")
	sb := prepare(t, b, "SELECT id FROM dt_ind")
	if err := a.Close(); err != nil {
		t.Errorf("Close a: %v", err)
	}
	if got := exec(t, sb); got != 2 {
		t.Errorf("b after a closed: %d rows, want 2", got)
	}
	if _, err := sa.Exec(ctxT(t), nil); err == nil {
		t.Error("Exec on a closed connection's statement succeeded, want an error")
	}
}

func testConcurrent(t *testing.T, tg Target) {
	tg.Exec(t, "CREATE TABLE dt_conc (id INTEGER PRIMARY KEY, v INTEGER)")
	const loops, each = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, loops)
	for l := range loops {
		c := connect(t, tg)
		wg.Go(func() {
			ctx := ctxT(t)
			ins, err := c.Prepare(ctx, "INSERT INTO dt_conc (id, v) VALUES (?, ?)")
			if err != nil {
				errs <- err
				return
			}
			sel, err := c.Prepare(ctx, "SELECT v FROM dt_conc WHERE id = ?")
			if err != nil {
				errs <- err
				return
			}
			for i := range each {
				id := int64(l*each + i)
				if n, err := ins.Exec(ctx, []core.Value{core.Int(id), core.Int(id)}); err != nil || n != 1 {
					errs <- fmt.Errorf("insert %d: n=%d err=%v", id, n, err)
					return
				}
				if n, err := sel.Exec(ctx, []core.Value{core.Int(id)}); err != nil || n != 1 {
					errs <- fmt.Errorf("select %d: n=%d err=%v", id, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testCloseTwice(t *testing.T, tg Target) {
	c, err := tg.Connector.Connect(ctxT(t))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("first Close: %v", err)
	}
	_ = c.Close() // must not panic; an error is allowed
}
