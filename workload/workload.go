package workload

import (
	"context"
	"math/rand/v2"

	"github.com/unistore-bench/unistore/core"
)

// Workload is a weighted mix of operations. The runner owns the loops; the
// workload supplies the operations and, per loop, their parameters.
type Workload interface {
	// Operations lists the mix, in a fixed order; operation i of a Source is
	// Operations()[i]. Weights are positive.
	Operations() []Operation
	// NewSource returns the parameter source of one loop. It is called once
	// per loop before the loop starts; the Source is used by that loop only.
	NewSource(l Loop) Source
}

// Operation is one named statement of the mix, with "?" placeholders.
type Operation struct {
	Name   string
	Weight float64
	SQL    string
}

// Loop identifies one loop of one worker. Rand is the loop's own generator,
// seeded from (run seed, group, connection); the loop also uses it to pick
// operations, so one seed reproduces one sequence of operations and
// parameters.
type Loop struct {
	Seed  uint64
	Group int
	// Groups is the number of worker groups in the run (at least 1).
	Groups int
	// Attempt is the worker's launch attempt within its group (0 first,
	// k for the k-th relaunch): a relaunched worker's sequences continue
	// in a sub-range of the group's shard that no earlier attempt used.
	Attempt int
	Conn    int
	Rand    *rand.Rand
}

// Source generates the parameters of one loop's operations.
type Source interface {
	// Args writes the parameters of operation op into dst[:0] and returns
	// the slice. Text values may alias buffers the Source reuses on its
	// next call. It must not allocate in steady state.
	Args(op int, dst []core.Value) []core.Value
}

// Querier runs a one-column query; a driver.Conn is one.
type Querier interface {
	QueryColumn(ctx context.Context, sql string) ([]core.Value, error)
}

// Preparer is implemented by workloads that read the target before the run
// starts (to sample existing keys, say). Prepare is called before any
// Source is made: by the run's preflight (worker.Preflight), then once by
// each worker as it opens. A workload shared by several in-process
// workers sees every call.
type Preparer interface {
	Prepare(ctx context.Context, q Querier) error
}

// NewRand returns the generator of one loop, derived from the run seed, the
// worker group and the connection index (see worker/doc.go).
func NewRand(seed uint64, group, conn int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(group)<<32|uint64(uint32(conn))))
}
