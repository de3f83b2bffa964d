package httpapi

// This file holds the runs the server drives: each one's pump (the one
// goroutine that turns the orchestrator's progress into messages and
// metrics) and its hub (the fan-out to WebSocket clients).

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
)

// progressQueue bounds the progress the orchestrator hands a run's pump
// (one a second): it only fills if the pump is stuck for that long, and
// then the oldest is dropped, never the orchestrator made to wait.
const progressQueue = 64

// liveRun is a run this server started.
type liveRun struct {
	s    *Server
	spec unistore.Spec
	h    *unistore.Handle
	hub  *hub

	progress chan unistore.Progress
	dropped  atomic.Int64 // progress the pump never saw
	stopping atomic.Bool

	// Owned by the pump.
	targets map[int]int // group → connections, from SET_WORKER_TARGET events
	seq     int64       // last control event read
}

func newLiveRun(s *Server, spec unistore.Spec) *liveRun {
	// The run fills the defaults itself; the stream needs the same figures
	// (connections, workers, heartbeat timeout).
	spec = spec.WithDefaults()
	return &liveRun{s: s, spec: spec, hub: newHub(s.cfg.ClientBuffer), progress: make(chan unistore.Progress, progressQueue),
		targets: map[int]int{}}
}

func (lr *liveRun) started(h *unistore.Handle) { lr.h = h }

// observe is the run's observer: called from the orchestrator's loop, it
// must not block, so it only queues (dropping the oldest when full).
func (lr *liveRun) observe(p unistore.Progress) {
	for {
		select {
		case lr.progress <- p:
			return
		default:
		}
		select {
		case <-lr.progress:
			lr.dropped.Add(1)
		default:
		}
	}
}

// stop asks the run to stop (Handle.Stop): it ends CANCELLED.
func (lr *liveRun) stop() {
	lr.stopping.Store(true)
	lr.h.Stop()
}

// hurry makes the run end at once (Handle.Hurry): it ends CANCELLED, what
// the store has not taken spooled.
func (lr *liveRun) hurry() {
	lr.stopping.Store(true)
	lr.h.Hurry()
}

// pump turns progress into metrics and messages until the run ends, then
// publishes its result and closes the hub. It is the run's one goroutine
// in this package.
func (lr *liveRun) pump() {
	id := lr.h.ID()
	lr.s.metrics.begin(id, lr.spec)
	for {
		select {
		case p := <-lr.progress:
			lr.handle(p)
			continue
		case <-lr.h.Done():
		}
		break
	}
	for { // what was queued before the end
		select {
		case p := <-lr.progress:
			lr.handle(p)
			continue
		default:
		}
		break
	}
	res, err := lr.h.Wait()
	if res == nil {
		// Start returned, so the run has a row; its result failed to
		// compute. Read what the store holds.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, _ = unistore.Show(ctx, lr.s.cfg.Store, id)
		cancel()
	}
	status := core.StatusFailed
	if res != nil {
		status = res.Status
	}
	lr.s.metrics.end(id)
	lr.hub.finish(resultMessage(res, err))
	if res != nil && !res.FullyRecorded() {
		// The store missed some of it (an outage, a hurried end): say
		// where the rest is, as `unistore run` does.
		var spooled int64
		dir := ""
		if res.Store != nil {
			spooled, dir = res.RowsSpooled, res.Store.SpoolDir
		}
		lr.s.log.Warn("httpapi: run ended, NOT fully recorded: run `unistore runs recover` once the store is back", "run_id", id,
			"status", status, "rows_spooled", spooled, "status_spooled", res.Store != nil && res.Store.StatusSpooled,
			"rows_dropped", res.RowsDropped, "spool_dir", dir)
		return
	}
	lr.s.log.Info("httpapi: run ended", "run_id", id, "status", status, "progress_dropped", lr.dropped.Load())
}

// handle is one progress: metrics first, then the message.
func (lr *liveRun) handle(p unistore.Progress) {
	lr.readTargets()
	m := lr.message(p)
	lr.s.metrics.observe(p, m.Workers)
	b, err := json.Marshal(m)
	if err != nil {
		lr.s.log.Error("httpapi: progress message", "run_id", p.RunID, "err", err)
		return
	}
	lr.hub.publish(b)
}

// readTargets applies the run's new SET_WORKER_TARGET events to the
// per-group targets: whoever sent them (this API, `unistore scale`).
func (lr *liveRun) readTargets() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	evs, err := lr.s.cfg.Store.EventsSince(ctx, lr.h.ID(), lr.seq)
	if err != nil {
		return // the next progress reads them
	}
	for _, e := range evs {
		lr.seq = e.Seq
		if e.Kind != control.EventSetWorkerTarget {
			continue
		}
		for g := range lr.spec.Workers {
			if n, ok := control.TargetFor(e.Payload, g); ok {
				lr.targets[g] = n
			}
		}
	}
}

// Worker health as the live stream reports it.
const (
	HealthHealthy = "HEALTHY" // heartbeating
	HealthStale   = "STALE"   // heartbeat older than the run's heartbeat timeout
	HealthLost    = "LOST"    // replaced by a relaunch, or silent for twice the timeout
	HealthStopped = "STOPPED" // stopped with the run
)

// ProgressMessage is the live stream's message per interval.
type ProgressMessage struct {
	Type       string                  `json:"type"` // "progress"
	RunID      string                  `json:"run_id"`
	Status     core.Status             `json:"status"`
	Phase      core.Phase              `json:"phase"`
	ElapsedS   float64                 `json:"elapsed_s"`
	Count      int64                   `json:"count"`
	QPS        float64                 `json:"qps"`
	Latency    LiveLatency             `json:"latency_ms"`
	Errors     int64                   `json:"errors"`
	Operations map[string]core.OpStats `json:"operations"`
	Workers    LiveWorkers             `json:"workers"`
}

// LiveLatency is the interval's latency percentiles, in milliseconds.
type LiveLatency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
}

// LiveWorkers is the workers' state in a progress message.
type LiveWorkers struct {
	Live       int          `json:"live"`
	Lost       int          `json:"lost"`
	Relaunched int          `json:"relaunched"`
	PerWorker  []LiveWorker `json:"per_worker"`
}

// LiveWorker is one worker in a progress message.
type LiveWorker struct {
	ID                string     `json:"id"`
	Group             int        `json:"group"`
	Health            string     `json:"health"`
	Phase             core.Phase `json:"phase,omitempty"`
	ConnectionsActive int        `json:"connections_active"`
	ConnectionsTarget int        `json:"connections_target"`
	QPS               float64    `json:"qps"`
	LastSeen          time.Time  `json:"last_seen"`
}

// ResultMessage ends the live stream: the run's result, the shape of
// `unistore run --json`.
type ResultMessage struct {
	Type   string           `json:"type"` // "result"
	Result *unistore.Result `json:"result"`
	Error  string           `json:"error,omitempty"`
}

func (lr *liveRun) message(p unistore.Progress) ProgressMessage {
	status := core.StatusRunning
	if lr.stopping.Load() {
		status = core.StatusStopping
	}
	l := p.Total.Latency
	m := ProgressMessage{Type: "progress", RunID: p.RunID, Status: status, Phase: p.Phase, ElapsedS: p.Elapsed.Seconds(),
		Count: p.Count, QPS: p.QPS, Errors: p.Errors, Operations: p.Operations,
		Latency: LiveLatency{P50: l.P50, P95: l.P95, P99: l.P99, P999: l.P999},
		Workers: LiveWorkers{Live: p.Live, Lost: p.Lost, PerWorker: []LiveWorker{}}}
	if m.Operations == nil {
		m.Operations = map[string]core.OpStats{}
	}
	timeout := lr.spec.Control.HeartbeatTimeout.D()
	newest := map[int]int{} // group → newest attempt
	for _, w := range p.Workers {
		if a := control.AttemptOf(w.WorkerID); a >= newest[w.Group] {
			newest[w.Group] = a
		}
	}
	for _, w := range p.Workers {
		attempt := control.AttemptOf(w.WorkerID)
		if attempt > 0 {
			m.Workers.Relaunched++
		}
		health := HealthHealthy
		switch {
		case attempt < newest[w.Group]:
			health = HealthLost
		case w.State == control.WorkerStopped:
			health = HealthStopped
		case time.Since(w.LastSeen) > 2*timeout:
			health = HealthLost
		case w.Silent:
			health = HealthStale
		}
		target, ok := lr.targets[w.Group]
		if !ok {
			target = lr.spec.Connections
		}
		m.Workers.PerWorker = append(m.Workers.PerWorker, LiveWorker{ID: w.WorkerID, Group: w.Group, Health: health,
			Phase: w.Phase, ConnectionsActive: w.Connections, ConnectionsTarget: target, QPS: p.WorkerQPS[w.WorkerID],
			LastSeen: w.LastSeen})
	}
	sort.SliceStable(m.Workers.PerWorker, func(i, j int) bool {
		a, b := m.Workers.PerWorker[i], m.Workers.PerWorker[j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		return a.ID < b.ID
	})
	return m
}

func resultMessage(res *unistore.Result, err error) []byte {
	m := ResultMessage{Type: "result", Result: res}
	if err != nil {
		m.Error = scrub(err.Error())
	}
	b, _ := json.Marshal(m)
	return b
}

// hub fans a run's messages out to its WebSocket clients. Publishing never
// blocks: each client has a bounded buffer, and a client that lags loses
// its oldest unsent messages (counted, and told on the next it gets).
type hub struct {
	size int

	mu    sync.Mutex
	last  []byte // the newest message, for a late subscriber
	final []byte // the result, once the run has ended
	subs  map[*client]struct{}
}

// client is one subscriber: its buffer and what it lost.
type client struct {
	ch      chan []byte // closed after the result is queued
	dropped atomic.Int64
}

func newHub(size int) *hub { return &hub{size: size, subs: map[*client]struct{}{}} }

// subscribe returns a client that starts with the newest state: the
// result if the run has ended (and its channel closed), else the newest
// progress, if any.
func (h *hub) subscribe() *client {
	c := &client{ch: make(chan []byte, h.size)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.final != nil {
		c.ch <- h.final
		close(c.ch)
		return c
	}
	if h.last != nil {
		c.ch <- h.last
	}
	h.subs[c] = struct{}{}
	return c
}

func (h *hub) unsubscribe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[c]; ok {
		delete(h.subs, c)
		close(c.ch)
	}
}

// publish queues b for every client, dropping a lagging client's oldest.
func (h *hub) publish(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = b
	for c := range h.subs {
		c.send(b)
	}
}

// finish queues the result for every client and closes them: the last
// message each gets.
func (h *hub) finish(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.final, h.last = b, b
	for c := range h.subs {
		c.send(b)
		close(c.ch)
		delete(h.subs, c)
	}
}

// send queues b without blocking: when the buffer is full the oldest
// message goes. The hub's lock makes it the only sender.
func (c *client) send(b []byte) {
	for {
		select {
		case c.ch <- b:
			return
		default:
		}
		select {
		case <-c.ch:
			c.dropped.Add(1)
		default:
		}
	}
}
