package orchestrator_test

import (
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/sleepdriver"
	"github.com/unistore-bench/unistore/workload"
)

// sleepConnector: statements of a fixed (virtual, in synctest) time.
type sleepConnector = sleepdriver.Connector

// oneOpSpec is a one-operation workload: SELECT ? over 1..100.
func oneOpSpec() core.WorkloadSpec {
	lo, hi := int64(1), int64(100)
	return core.WorkloadSpec{Operations: []core.OperationSpec{{
		Name: "op", SQL: "SELECT ?", Params: []core.ParamSpec{{Gen: "uniform", Min: &lo, Max: &hi}},
	}}}
}

func compile(ws core.WorkloadSpec) workload.Workload {
	w, err := workload.Compile(ws)
	if err != nil {
		panic(err)
	}
	return w
}
