package workload

import "github.com/unistore-bench/unistore/core"

// Static is a workload written in Go: a fixed mix and a function that
// makes each loop's Source. NewSourceFunc nil means the operations take no
// parameters.
//
//	w := &workload.Static{
//		Ops: []workload.Operation{{Name: "get", Weight: 1, SQL: "SELECT v FROM kv WHERE k = ?"}},
//		NewSourceFunc: func(l workload.Loop) workload.Source {
//			return workload.SourceFunc(func(op int, dst []core.Value) []core.Value {
//				return append(dst[:0], core.Int(1+l.Rand.Int64N(1_000_000)))
//			})
//		},
//	}
type Static struct {
	Ops           []Operation
	NewSourceFunc func(l Loop) Source
}

var _ Workload = (*Static)(nil)

// Operations returns s.Ops.
func (s *Static) Operations() []Operation { return s.Ops }

// NewSource calls s.NewSourceFunc, or returns a Source of no parameters.
func (s *Static) NewSource(l Loop) Source {
	if s.NewSourceFunc == nil {
		return SourceFunc(func(_ int, dst []core.Value) []core.Value { return dst[:0] })
	}
	return s.NewSourceFunc(l)
}

// SourceFunc adapts a function to the Source interface.
type SourceFunc func(op int, dst []core.Value) []core.Value

// Args calls f.
func (f SourceFunc) Args(op int, dst []core.Value) []core.Value { return f(op, dst) }
