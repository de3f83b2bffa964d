package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Mix picks operations by weight in O(1) with Walker's alias method (Vose's
// construction): one Float64 per pick, no allocation.
type Mix struct {
	prob  []float64 // chance of keeping column i
	alias []int32   // the other operation of column i
}

// NewMix builds the picker of ops. It panics if ops is empty or a weight
// is not positive and finite: a Workload guarantees positive weights
// (check a Go-written mix with ValidateOperations).
func NewMix(ops []Operation) *Mix {
	n := len(ops)
	if n == 0 {
		panic("workload: NewMix: no operations")
	}
	var sum float64
	for i, op := range ops {
		if !(op.Weight > 0) || math.IsInf(op.Weight, 0) {
			panic(fmt.Sprintf("workload: NewMix: operation %d (%q) has weight %v, want a positive finite number", i, op.Name, op.Weight))
		}
		sum += op.Weight
	}
	m := &Mix{prob: make([]float64, n), alias: make([]int32, n)}
	scaled := make([]float64, n)
	var small, large []int32
	for i, op := range ops {
		scaled[i] = op.Weight * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		m.prob[s], m.alias[s] = scaled[s], l
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	// What remains is 1 up to rounding.
	for _, i := range large {
		m.prob[i], m.alias[i] = 1, i
	}
	for _, i := range small {
		m.prob[i], m.alias[i] = 1, i
	}
	return m
}

// Len returns the number of operations.
func (m *Mix) Len() int { return len(m.prob) }

// Pick returns the index of the next operation.
func (m *Mix) Pick(r *rand.Rand) int {
	x := r.Float64() * float64(len(m.prob))
	i := int(x)
	if i >= len(m.prob) {
		i = len(m.prob) - 1
	}
	if x-float64(i) < m.prob[i] {
		return i
	}
	return int(m.alias[i])
}
