package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// writeTimeout bounds one WebSocket write: a client that takes longer to
// accept a message is cut off (its hub buffer never grows past its size
// meanwhile).
const writeTimeout = 10 * time.Second

// GapMessage tells a client how many messages it has lost so far by
// reading slower than they came; it precedes the next message it gets.
type GapMessage struct {
	Type    string `json:"type"` // "gap"
	Dropped int64  `json:"dropped"`
}

// handleLive is GET /api/v1/runs/{id}/live: the run's progress once per
// interval, then its result. A run this server drives streams from its
// hub; any other (finished, or driven by another process) from the store.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	lr := s.run(id)
	if lr == nil {
		if _, err := s.cfg.Store.GetRun(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	conn, err := websocket.Accept(w, r, nil) // same-origin only (Accept's default)
	if err != nil {
		return // Accept has answered
	}
	defer conn.CloseNow()
	// Nothing is read from the client; CloseRead answers pings and ends
	// ctx when the client goes.
	ctx := conn.CloseRead(r.Context())
	if lr != nil {
		s.streamHub(ctx, conn, lr.hub)
		return
	}
	s.streamStore(ctx, conn, id)
}

func (s *Server) streamHub(ctx context.Context, conn *websocket.Conn, h *hub) {
	c := h.subscribe()
	defer h.unsubscribe(c)
	var told int64
	for {
		select {
		case <-ctx.Done():
			return
		case b, ok := <-c.ch:
			if !ok {
				conn.Close(websocket.StatusNormalClosure, "run ended")
				return
			}
			if d := c.dropped.Load(); d > told {
				told = d
				gap, _ := json.Marshal(GapMessage{Type: "gap", Dropped: d})
				if write(ctx, conn, gap) != nil {
					return
				}
			}
			if write(ctx, conn, b) != nil {
				return
			}
		}
	}
}

// streamStore follows a run this server does not drive: its status and
// phase from the store each second (the figures are its driver's), then
// its result once it has ended.
func (s *Server) streamStore(ctx context.Context, conn *websocket.Conn, id string) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		run, err := s.cfg.Store.GetRun(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			conn.Close(websocket.StatusInternalError, "store unreachable")
			return
		}
		if err == nil {
			if run.Status.Terminal() {
				res, err := unistore.Show(ctx, s.cfg.Store, id)
				if write(ctx, conn, resultMessage(res, err)) == nil {
					conn.Close(websocket.StatusNormalClosure, "run ended")
				}
				return
			}
			var elapsed float64
			if !run.StartedAt.IsZero() {
				elapsed = time.Since(run.StartedAt).Seconds()
			}
			b, _ := json.Marshal(ProgressMessage{Type: "progress", RunID: id, Status: run.Status, Phase: run.Phase,
				ElapsedS: elapsed, Operations: map[string]core.OpStats{},
				Workers: LiveWorkers{Live: run.WorkersLive, Lost: run.WorkersLost, PerWorker: []LiveWorker{}}})
			if write(ctx, conn, b) != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.runCtx.Done():
			conn.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-tick.C:
		}
	}
}

func write(ctx context.Context, conn *websocket.Conn, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, b)
}
