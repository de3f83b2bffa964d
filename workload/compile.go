package workload

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/unistore-bench/unistore/core"
)

// Compiled is a workload compiled from a core.WorkloadSpec. It implements
// Workload and Preparer. The runner calls Prepare once before any
// NewSource (NewSource panics if an operation samples a table and Prepare
// has not run); after that NewSource may be called from any goroutine.
//
// A Compiled holds the run's sequence counters, so compile one per run.
type Compiled struct {
	ops     []Operation
	params  [][]param // per operation, per placeholder
	samples []*sampleGen
}

var (
	_ Workload = (*Compiled)(nil)
	_ Preparer = (*Compiled)(nil)
)

// Compile checks ws and builds its generators. Its error is a
// core.FieldErrors listing every problem, with paths from the spec root
// ("workload.operations[2].params[0].gen"); errors.Is(err,
// core.ErrInvalidSpec) holds. An omitted weight is 1.
func Compile(ws core.WorkloadSpec) (*Compiled, error) {
	var errs core.FieldErrors
	if len(ws.Operations) == 0 {
		errs.Add("workload.operations", "no operations: give at least one, each with a name, sql and params")
		return nil, errs
	}
	c := &Compiled{
		ops:    make([]Operation, len(ws.Operations)),
		params: make([][]param, len(ws.Operations)),
	}
	first := make(map[string]int, len(ws.Operations))
	for i, os := range ws.Operations {
		p := fmt.Sprintf("workload.operations[%d]", i)
		switch j, dup := first[os.Name]; {
		case strings.TrimSpace(os.Name) == "":
			errs.Add(p+".name", "missing: every operation needs a name, used in metrics")
		case core.CheckName(os.Name) != "":
			errs.Add(p+".name", core.CheckName(os.Name))
		case dup:
			errs.Add(p+".name", fmt.Sprintf("duplicate name %q (also operations[%d])", os.Name, j))
		default:
			first[os.Name] = i
		}
		w := 1.0
		if os.Weight != nil {
			w = *os.Weight
			if !(w > 0) || math.IsInf(w, 0) {
				errs.Add(p+".weight", fmt.Sprintf("must be positive, got %v", w))
			}
		}
		if strings.TrimSpace(os.SQL) == "" {
			errs.Add(p+".sql", "missing: every operation needs a SQL statement, with ? for each param")
		} else if n := core.CountPlaceholders(os.SQL); n != len(os.Params) {
			errs.Add(p+".params", fmt.Sprintf("sql has %s but %s given: give one param per ?", plural(n, "placeholder (?)", "placeholders (?)"), plural(len(os.Params), "param is", "params are")))
		}
		c.ops[i] = Operation{Name: os.Name, Weight: w, SQL: os.SQL}
		c.params[i] = make([]param, len(os.Params))
		for j, ps := range os.Params {
			pp := fmt.Sprintf("%s.params[%d]", p, j)
			g := compileParam(ps, pp, &errs)
			if s, ok := g.(*sampleGen); ok {
				s.op = os.Name
				c.samples = append(c.samples, s)
			}
			c.params[i][j] = g
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

func compileParam(ps core.ParamSpec, path string, errs *core.FieldErrors) param {
	if ps.Gen == "" {
		errs.Add(path+".gen", "missing: want one of "+generatorNames)
		return nil
	}
	g, ok := generators[ps.Gen]
	if !ok {
		errs.Add(path+".gen", fmt.Sprintf("unknown generator %q: want one of %s", ps.Gen, generatorNames))
		return nil
	}
	bad := false
	for _, f := range setFields(ps) {
		if !contains(g.fields, f) {
			takes := "takes no fields"
			if len(g.fields) > 0 {
				takes = "takes " + strings.Join(g.fields, ", ")
			}
			errs.Add(path+"."+f, fmt.Sprintf("does not apply to generator %s (it %s)", ps.Gen, takes))
			bad = true
		}
	}
	p := g.build(ps, path, errs)
	if bad {
		return nil
	}
	return p
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Operations returns the mix in template order. The slice is shared: do
// not modify it.
func (c *Compiled) Operations() []Operation { return c.ops }

// NewSource returns the parameter source of one loop. Each Source has its
// own buffers; sequence generators share one counter per worker group
// (l.Group) across the Sources of this Compiled.
func (c *Compiled) NewSource(l Loop) Source {
	s := &compiledSource{r: l.Rand, params: make([][]loopParam, len(c.params))}
	for i, ps := range c.params {
		s.params[i] = make([]loopParam, len(ps))
		for j, p := range ps {
			s.params[i][j] = p.forLoop(l)
		}
	}
	return s
}

type compiledSource struct {
	r      *rand.Rand
	params [][]loopParam
}

func (s *compiledSource) Args(op int, dst []core.Value) []core.Value {
	dst = dst[:0]
	for _, p := range s.params[op] {
		dst = append(dst, p.next(s.r))
	}
	return dst
}

// Prepare reads the keys of every sample generator through q: the
// statement is
//
//	SELECT column FROM table WHERE column IS NOT NULL ORDER BY RANDOM() LIMIT limit
//
// run once per distinct (table, column, limit). A table with no such row is
// a core.FieldErrors naming the operation's param (every empty one is
// reported); a query failure is returned wrapped as it is. Prepare must
// not run concurrently with NewSource; calling it again samples afresh.
func (c *Compiled) Prepare(ctx context.Context, q Querier) error {
	var errs core.FieldErrors
	read := make(map[string][]core.Value)
	for _, s := range c.samples {
		vals, done := read[s.query]
		if !done {
			got, err := q.QueryColumn(ctx, s.query)
			if err != nil {
				return fmt.Errorf("workload: operation %q: sample %s.%s: %w", s.op, s.table, s.column, err)
			}
			vals = make([]core.Value, 0, len(got))
			for _, v := range got {
				if v.Kind == core.KindNull {
					continue
				}
				if v.Text != nil { // the driver may reuse its buffer
					v.Text = append([]byte(nil), v.Text...)
				}
				vals = append(vals, v)
			}
			read[s.query] = vals
		}
		if len(vals) == 0 {
			errs.Add(s.path+".table", fmt.Sprintf("operation %q samples %s.%s, which has no rows (load the table first)", s.op, s.table, s.column))
			continue
		}
		s.values = vals
	}
	return errs.Err()
}

// ValidateOperations checks a mix written in Go: at least one operation,
// each with a unique name, SQL and a positive finite weight. The error is
// a core.FieldErrors with paths like "operations[1].weight".
func ValidateOperations(ops []Operation) error {
	var errs core.FieldErrors
	if len(ops) == 0 {
		errs.Add("operations", "no operations")
	}
	first := make(map[string]int, len(ops))
	for i, op := range ops {
		p := fmt.Sprintf("operations[%d]", i)
		if msg := core.CheckName(op.Name); msg != "" {
			errs.Add(p+".name", msg)
		} else if j, dup := first[op.Name]; dup {
			errs.Add(p+".name", fmt.Sprintf("duplicate name %q (also operations[%d])", op.Name, j))
		} else if op.Name == "" {
			errs.Add(p+".name", "missing")
		} else {
			first[op.Name] = i
		}
		if strings.TrimSpace(op.SQL) == "" {
			errs.Add(p+".sql", "missing")
		}
		if !(op.Weight > 0) || math.IsInf(op.Weight, 0) {
			errs.Add(p+".weight", fmt.Sprintf("must be positive, got %v", op.Weight))
		}
	}
	return errs.Err()
}
