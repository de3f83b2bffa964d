package unistore

// The run's meter: its cost (package cost) and the target server's own
// figures (package serverstats), watched beside the orchestrator through
// orchestrator.Meter — never on a worker's loop.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/cost"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/serverstats"
	"github.com/unistore-bench/unistore/store"
)

// WithEnrich reads the server's history for the run as soon as it ends
// (`unistore run --enrich`): on Snowflake, ACCOUNT_USAGE's query history
// and metered credits, which lag by hours on a real account (the run then
// records them PENDING; `unistore runs enrich RUN_ID` later). PostgreSQL's
// pg_stat_statements figures are read at the end of every run anyway.
func WithEnrich(on bool) Option { return func(o *options) { o.enrich = on } }

// SampleInterval is how often a run samples its Snowflake warehouse's
// running clusters (SHOW WAREHOUSES) for the cost estimate.
const SampleInterval = 5 * time.Second

// meterTimeout bounds each of the meter's own statements.
const meterTimeout = 30 * time.Second

type runMeter struct {
	mr        orchestrator.MeterRun
	counter   *cost.Counter
	inProcess bool
	enrich    bool
	log       *slog.Logger
	// workers: what the orchestrator knows of the workers' own writes
	// (nil if it said nothing).
	workers *orchestrator.WorkerWrites

	conn    driver.Conn // the meter's own connection, nil if none
	connErr error
	sampler *cost.Sampler
	// measured is closed once Measure's read of the server's counters
	// has ended (nil: not begun); it then set baseline or baseErr.
	measured chan struct{}
	baseline *serverstats.Baseline
	baseErr  error
}

// newMeter is the orchestrator's Options.Meter: it opens the meter's own
// connection to the target, starts the warehouse sampler on a Snowflake
// target, and on a target with per-statement counters reads them now
// when the run has no warm-up (the measurement starts with the load).
func newMeter(counter *cost.Counter, inProcess, enrich bool, log *slog.Logger) func(orchestrator.MeterRun) orchestrator.Meter {
	return func(mr orchestrator.MeterRun) orchestrator.Meter {
		m := &runMeter{mr: mr, counter: counter, inProcess: inProcess, enrich: enrich, log: log}
		ctx, cancel := context.WithTimeout(context.Background(), meterTimeout)
		defer cancel()
		m.conn, m.connErr = mr.Connector.Connect(driver.WithAuxiliary(ctx, "unistore/"+mr.RunID+"/meter"))
		if m.connErr != nil {
			m.conn = nil
			m.log.Warn("unistore: cost and server figures: connect", "run_id", mr.RunID, "err", m.connErr)
			return m
		}
		if !orchestrator.MeterHoldsSession(m.conn) {
			// Nothing to read: the slot goes back (the preflight did not
			// count it).
			m.conn.Close()
			m.conn = nil
			return m
		}
		if ws, ok := m.conn.(driver.WarehouseSampler); ok {
			sample := ws.SampleWarehouse
			// Tagged as the run's meter ("unistore:run=ID:worker=meter:
			// phase=METER:op=warehouse" on Snowflake).
			if lb, ok := m.conn.(driver.Labeler); ok {
				sample = func(ctx context.Context) (driver.Warehouse, error) {
					return ws.SampleWarehouse(lb.Label(ctx, driver.Label{Run: mr.RunID, Worker: "meter", Phase: core.PhaseMeter, Operation: "warehouse"}))
				}
			}
			m.sampler = cost.StartSampler(sample, SampleInterval)
		}
		if _, ok := m.conn.(driver.StatementStatser); ok && mr.Spec.Warmup == 0 {
			// No warm-up: the baseline comes before the first load
			// statement, so it is read now, before any worker starts.
			m.measured = make(chan struct{})
			m.readBaseline()
			close(m.measured)
		}
		return m
	}
}

// Measure reads the server's counters on a goroutine of its own: the
// run's goroutine, which calls it at the phase change, never waits on the
// target (a slow one would hold up the run's clock). Finish waits for it.
func (m *runMeter) Measure(time.Time) {
	if _, ok := m.conn.(driver.StatementStatser); !ok || m.measured != nil {
		return
	}
	m.measured = make(chan struct{})
	go func() {
		defer close(m.measured)
		m.readBaseline()
	}()
}

// readBaseline reads the counters the measurement phase is diffed
// against (pg_stat_statements).
func (m *runMeter) readBaseline() {
	ctx, cancel := context.WithTimeout(context.Background(), meterTimeout)
	defer cancel()
	m.baseline, m.baseErr = serverstats.Before(ctx, m.conn.(driver.StatementStatser), m.mr.Spec.Workload.Operations)
}

// WorkerWrites implements orchestrator.MeterWorkerWrites.
func (m *runMeter) WorkerWrites(w orchestrator.WorkerWrites) { m.workers = &w }

func (m *runMeter) Finish(ctx context.Context, res *core.Result) {
	ctx, cancel := context.WithTimeout(ctx, 2*meterTimeout)
	defer cancel()
	baseline, baseErr := m.waitBaseline(ctx)
	defer func() {
		switch {
		case m.conn == nil:
		case m.measured != nil && baseErr == ctx.Err() && baseErr != nil:
			// The baseline read is still on the session: close it
			// once that read has given up (its own timeout).
			conn, measured := m.conn, m.measured
			go func() {
				<-measured
				conn.Close()
			}()
		default:
			m.conn.Close()
		}
	}()
	var samples []cost.Sample
	var wh driver.Warehouse
	var sampleErr error
	if m.sampler != nil {
		samples, wh, sampleErr = m.sampler.Stop()
	}
	if res.RunID == "" { // the run never reached its rollup
		return
	}
	ok := res.Warmup.Count - res.Warmup.Errors + res.Total.Count - res.Total.Errors
	price := m.mr.Spec.PricePerCredit
	var c core.CostStats
	switch {
	case m.sampler != nil:
		c = cost.Estimate(cost.Input{Warehouse: wh, Samples: samples, Start: res.StartedAt, End: res.EndedAt, OK: ok, PricePerCredit: price})
		if sampleErr != nil {
			c.Notes = append(c.Notes, "a warehouse sample failed: "+sampleErr.Error())
		}
		c.Enrichment = &core.Enrichment{Status: core.EnrichPending, Reason: "WAREHOUSE_METERING_HISTORY lags by hours: `unistore runs enrich " + res.RunID + "` replaces the estimate with metered credits", CheckedAt: time.Now().UTC().Truncate(time.Second)}
	default:
		c = core.CostStats{Source: "none", PricePerCredit: price}
		if m.connErr != nil {
			c.Notes = []string{"the meter could not connect to the target: " + m.connErr.Error()}
		}
	}
	c.ControlPlane = m.controlPlane(ctx, res, wh.Name)
	res.Cost = &c

	switch conn := m.conn.(type) {
	case driver.StatementStatser:
		switch {
		case baseErr != nil:
			res.Server = serverstats.Skipped(serverstats.SourcePgStatStatements, baseErr)
		case baseline != nil:
			res.Server = baseline.After(ctx, conn)
			serverstats.Compare(res.Server, res)
		default:
			res.Server = &core.ServerStats{Source: serverstats.SourcePgStatStatements, Status: core.EnrichSkipped,
				Reason: "the run ended before its measurement phase began", CheckedAt: time.Now().UTC().Truncate(time.Second)}
		}
	case driver.ServerHistory:
		res.Server = serverstats.Pending(serverstats.SourceAggregateQueryHistory, "AGGREGATE_QUERY_HISTORY lags by up to 3 hours: `unistore runs enrich "+res.RunID+"` reads it")
		if m.enrich {
			enrichResult(ctx, conn, res)
		}
	}
}

// waitBaseline waits for Measure's read, until ctx ends (then it is ctx's
// error, and the read's fields are left to its goroutine).
func (m *runMeter) waitBaseline(ctx context.Context) (*serverstats.Baseline, error) {
	if m.measured == nil {
		return nil, nil
	}
	select {
	case <-m.measured:
		return m.baseline, m.baseErr
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// controlPlane counts the run's control-plane writes: RUN_STATUS writes
// of this process (the orchestrator's, plus the final one still to
// come), every event (read back: `stop` and `scale` from elsewhere
// included), and the workers' heartbeats and snapshot rows — counted for
// workers in this process (through the counter) and for worker processes
// that reported theirs over the local channel; for any other worker
// (started elsewhere, or killed before it reported) its heartbeats are
// derived from its heartbeat span and cadence, and the snapshot rows are
// the stored count.
func (m *runMeter) controlPlane(ctx context.Context, res *core.Result, targetWH string) core.ControlPlaneCost {
	w := m.counter.Writes()
	w.RunStatus++ // the final RUN_STATUS write, after Finish
	st := m.counter.Unwrap()
	if evs, err := st.EventsSince(ctx, res.RunID, 0); err == nil {
		w.Events = int64(len(evs))
	}
	counted := map[string]bool{}
	if m.workers != nil {
		for _, id := range m.workers.Counted {
			counted[id] = true
		}
		w.Heartbeats += m.workers.Reported.Heartbeats
		w.SnapshotRows += m.workers.Reported.SnapshotRows
	}
	hbs, _ := st.ListHeartbeats(ctx, res.RunID)
	every := m.mr.Spec.Control.Heartbeat.D()
	var minutes float64
	var derived int64
	backs := map[int][]time.Time{}
	for _, g := range res.Workers.Gaps {
		backs[g.Group] = append(backs[g.Group], g.BackAt)
	}
	var estimated []string
	for _, h := range hbs {
		from := res.StartedAt
		if a := control.AttemptOf(h.WorkerID); a > 0 && a <= len(backs[h.Group]) && !backs[h.Group][a-1].IsZero() {
			from = backs[h.Group][a-1]
		}
		span := h.LastSeen.Sub(from)
		if span < 0 {
			span = 0
		}
		minutes += span.Minutes()
		if m.inProcess || counted[h.WorkerID] {
			continue
		}
		estimated = append(estimated, h.WorkerID)
		if every > 0 {
			derived += int64(span/every) + 2 // one per tick from the first, and the final STOPPED one
		}
	}
	if len(estimated) > 0 {
		w.Heartbeats += derived
		w.HeartbeatsEstimated, w.EstimatedWorkers = true, estimated
		// Rows of uncounted workers are known only as stored.
		if res.Store != nil && res.Store.SnapshotsStored > w.SnapshotRows {
			w.SnapshotRows = res.Store.SnapshotsStored
		}
	}
	scheme := driver.Scheme(storeDSNOf(st))
	var swh *driver.Warehouse
	shares := false
	if sw, ok := st.(cost.StoreWarehouse); ok {
		scheme = "snowflake"
		if got, err := sw.SampleWarehouse(ctx); err == nil {
			swh = &got
		}
		shares = targetWH != "" && sw.WarehouseName() != "" && strings.EqualFold(sw.WarehouseName(), targetWH)
	}
	return cost.ControlPlane(w, scheme, minutes, swh, shares, res.EndedAt.Sub(res.StartedAt), m.mr.Spec.PricePerCredit)
}

// storeDSNOf names a store's kind for the control-plane section.
func storeDSNOf(st store.Store) string {
	switch fmt.Sprintf("%T", st) {
	case "*postgres.Store":
		return "postgres://"
	case "*sqlite.Store":
		return "sqlite://"
	case "*store.Memory":
		return "memory://"
	}
	return ""
}

// enrichResult reads the Snowflake server's history for res's run: the
// measurement's per-operation figures (AGGREGATE_QUERY_HISTORY, by the
// run's query tag) and the warehouse's metered credits
// (WAREHOUSE_METERING_HISTORY). Each part records its own status.
func enrichResult(ctx context.Context, h driver.ServerHistory, res *core.Result) {
	now := time.Now().UTC().Truncate(time.Second)
	buckets, err := h.QueryHistory(ctx, serverstats.TagPrefix(res.RunID), res.StartedAt, res.EndedAt.Add(time.Minute))
	switch {
	case err != nil:
		res.Server = serverstats.Failed(serverstats.SourceAggregateQueryHistory, err)
	case len(buckets) == 0:
		res.Server = serverstats.Pending(serverstats.SourceAggregateQueryHistory, "AGGREGATE_QUERY_HISTORY holds no statement of this run yet (it lags by up to 3 hours): try again later")
	default:
		res.Server = serverstats.FromQueryHistory(buckets)
		serverstats.Compare(res.Server, res)
	}
	c := res.Cost
	if c == nil || c.Source == "none" {
		return
	}
	if c.Warehouse == "" {
		c.Enrichment = &core.Enrichment{Status: core.EnrichSkipped, Reason: "the run recorded no warehouse", CheckedAt: now}
		return
	}
	credits, newest, err := h.MeteredCredits(ctx, c.Warehouse, res.StartedAt, res.EndedAt)
	switch {
	case err != nil:
		c.Enrichment = &core.Enrichment{Status: core.EnrichFailed, Reason: err.Error(), CheckedAt: now}
	case newest.Before(res.EndedAt):
		c.Enrichment = &core.Enrichment{Status: core.EnrichPending, Reason: fmt.Sprintf("WAREHOUSE_METERING_HISTORY reaches %s, the run ended %s: try again later", newest.Format(time.RFC3339), res.EndedAt.Format(time.RFC3339)), CheckedAt: now}
	default:
		if c.Source == "estimate" {
			c.EstimatedCredits = c.Credits
		}
		c.Source = "metered"
		ok := res.Warmup.Count - res.Warmup.Errors + res.Total.Count - res.Total.Errors
		cost.SetCredits(c, credits, ok)
		c.Notes = append(c.Notes[:0:0], c.Notes...)
		c.Enrichment = &core.Enrichment{Status: core.EnrichCompleted, Reason: "metered credits of every hour the run overlapped (the warehouse's other work in those hours included)", CheckedAt: now}
	}
}

// ErrNotSnowflake is matched by Enrich's error for a target whose
// connections keep no server history.
var ErrNotSnowflake = errors.New("unistore: enrich: the target keeps no server history to read later")

// Enrich reads the server's history of a finished run — on Snowflake
// ACCOUNT_USAGE.AGGREGATE_QUERY_HISTORY (server-side latency per
// operation of the measurement) and WAREHOUSE_METERING_HISTORY (metered
// credits, replacing the estimate) — and stores it in the run's summary,
// with each part's status (PENDING while the views lag, COMPLETED,
// SKIPPED, FAILED) and reason. target is the target DSN with its secret
// ("" uses the stored one, whose password is redacted). A run whose
// target has no warehouse metering (PostgreSQL, SQLite) is recorded
// SKIPPED; a target that cannot be reached, FAILED with the reason (and
// the error returned). It returns the updated result.
func Enrich(ctx context.Context, st store.Store, runID, target string) (*Result, error) {
	run, err := st.GetRun(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("unistore: enrich %s: %w", runID, err)
	}
	if !run.Status.Terminal() || len(run.Summary) == 0 {
		return nil, fmt.Errorf("unistore: enrich %s: the run has not finished (status %s)", runID, run.Status)
	}
	res, err := Show(ctx, st, runID)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	if res.Cost == nil {
		res.Cost = &core.CostStats{Source: "none"}
	}
	if res.Cost.Source == "none" {
		res.Cost.Enrichment = &core.Enrichment{Status: core.EnrichSkipped, Reason: "the target has no warehouse metering or server history to read later (PostgreSQL's pg_stat_statements figures are read during the run)", CheckedAt: now}
		if err := saveSummary(ctx, st, runID, res); err != nil {
			return nil, err
		}
		return res, nil
	}
	if target == "" {
		target = run.Spec.Target.DSN
	}
	h, closeConn, err := historyConn(ctx, run.Spec.Target.Driver, target)
	if err != nil {
		// Recorded FAILED with the reason (no secret: errors print DSNs
		// redacted), and returned.
		res.Cost.Enrichment = &core.Enrichment{Status: core.EnrichFailed, Reason: err.Error(), CheckedAt: now}
		if res.Server == nil || res.Server.Status != core.EnrichCompleted {
			res.Server = serverstats.Failed(serverstats.SourceAggregateQueryHistory, err)
		}
		if serr := saveSummary(ctx, st, runID, res); serr != nil {
			return nil, serr
		}
		return res, fmt.Errorf("unistore: enrich %s: %w", runID, err)
	}
	defer closeConn()
	enrichResult(ctx, h, res)
	if err := saveSummary(ctx, st, runID, res); err != nil {
		return nil, err
	}
	return res, nil
}

// historyConn connects to the target for its server history.
func historyConn(ctx context.Context, name, dsn string) (driver.ServerHistory, func(), error) {
	_, c, err := driver.Open(name, dsn)
	if err != nil {
		return nil, nil, err
	}
	conn, err := c.Connect(driver.WithAuxiliary(ctx, "unistore/enrich"))
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	h, ok := conn.(driver.ServerHistory)
	if !ok {
		conn.Close()
		c.Close()
		return nil, nil, ErrNotSnowflake
	}
	return h, func() { conn.Close(); c.Close() }, nil
}

// saveSummary stores res's cost and server sections in the run's summary.
func saveSummary(ctx context.Context, st store.Store, runID string, res *Result) error {
	run, err := st.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	var sum map[string]any
	if err := json.Unmarshal(run.Summary, &sum); err != nil {
		return fmt.Errorf("unistore: run %s: bad stored summary: %w", runID, err)
	}
	sum["cost"], sum["server"] = res.Cost, res.Server
	b, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	return st.UpdateRun(ctx, runID, store.RunUpdate{Summary: b})
}

// RunCost returns a stored run's cost section (`unistore runs cost`).
func RunCost(ctx context.Context, st store.Store, runID string) (*core.CostStats, error) {
	res, err := Show(ctx, st, runID)
	if err != nil {
		return nil, err
	}
	if res.Cost == nil {
		return nil, fmt.Errorf("unistore: run %s has no cost recorded (run before cost was measured, or it never started)", runID)
	}
	return res.Cost, nil
}
