package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/unistore-bench/unistore/core"
)

// BenchmarkFanout20: what 20 live clients cost the serve process per
// interval — one progress message (four operations, two workers) sent
// through the hub to 20 WebSocket clients over loopback and read by them
// — in CPU time, clients' reads included (in use they are browsers on
// other machines). Since the process publishes one such message a second
// per run, cpu-us/op is the controller's CPU per second of a run with 20
// clients, and qps-ratio-bound = 1 - cpu/(GOMAXPROCS s) the lowest QPS
// ratio (20 clients over none) it can cause on a machine the run keeps
// busy — a figure the machine's noise cannot blur, unlike the ratio
// itself (BenchmarkLiveClientsQPS).
//
//	go test -run x -bench Fanout20 ./httpapi
func BenchmarkFanout20(b *testing.B) {
	const clients = 20
	h := newHub(DefaultClientBuffer)
	var s Server
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		s.streamHub(conn.CloseRead(r.Context()), conn, h)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan struct{}, clients)
	done := make(chan struct{})
	for range clients {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			defer c.CloseNow()
			for {
				if _, _, err := c.Read(ctx); err != nil {
					done <- struct{}{}
					return
				}
				got <- struct{}{}
			}
		}()
	}
	msg := sampleProgress(b)
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	for b.Loop() {
		h.publish(msg)
		for range clients {
			<-got
		}
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(b.N)
	b.ReportMetric(float64(cpu.Microseconds()), "cpu-us/op")
	b.ReportMetric(1-cpu.Seconds()/float64(runtime.GOMAXPROCS(0)), "qps-ratio-bound")
	b.ReportMetric(float64(len(msg)), "bytes/msg")
	h.finish([]byte(`{"type":"result"}`))
	for range clients {
		<-got // the result
		<-done
	}
}

func sampleProgress(b *testing.B) []byte {
	lat := core.Latency{Mean: 0.05, P50: 0.04, P90: 0.08, P95: 0.1, P99: 0.2, P999: 1.1, Max: 4.2}
	ops := map[string]core.OpStats{}
	for _, n := range []string{"point_select", "range_scan", "update_balance", "insert_history"} {
		ops[n] = core.OpStats{Count: 12345, QPS: 12345, Latency: lat, ErrorsByClass: map[string]int64{}}
	}
	m := ProgressMessage{Type: "progress", RunID: "20261204-150050-8ebb0b", Status: core.StatusRunning,
		Phase: core.PhaseMeasurement, ElapsedS: 42.1, Count: 49380, QPS: 49380,
		Latency: LiveLatency{P50: 0.04, P95: 0.1, P99: 0.2, P999: 1.1}, Operations: ops,
		Workers: LiveWorkers{Live: 2, PerWorker: []LiveWorker{
			{ID: "worker-0", Health: HealthHealthy, Phase: core.PhaseMeasurement, ConnectionsActive: 4, ConnectionsTarget: 4, QPS: 24690, LastSeen: time.Now()},
			{ID: "worker-1", Group: 1, Health: HealthHealthy, Phase: core.PhaseMeasurement, ConnectionsActive: 4, ConnectionsTarget: 4, QPS: 24690, LastSeen: time.Now()},
		}}}
	out, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
