package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Memory is a Store held in memory, for runs that keep nothing: an
// embedded unistore.Run without WithStore goes through the same
// orchestrator and control tables as every other run, in a Memory store.
// It is safe for concurrent use and lost when the process ends.
type Memory struct {
	mu         sync.Mutex
	runs       map[string]Run
	events     map[string][]Event
	heartbeats map[string]map[string]Heartbeat
	snapshots  map[string][]Snapshot
	executions map[string][]Execution
	templates  map[string]Template
	// KeepExecutions keeps executions; off by default, when they are only
	// counted, since an embedded run has nowhere to read them from.
	KeepExecutions bool
	execCount      map[string]int64
	batches        map[[2]string]bool // (run, batch id) stored
	steps          map[string][]Step  // steps.go
	baselines      map[string]string
}

var (
	_ Store       = (*Memory)(nil)
	_ BatchWriter = (*Memory)(nil)
)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{runs: map[string]Run{}, events: map[string][]Event{}, heartbeats: map[string]map[string]Heartbeat{},
		snapshots: map[string][]Snapshot{}, executions: map[string][]Execution{}, templates: map[string]Template{},
		execCount: map[string]int64{}}
}

func memNow() time.Time { return UTC(time.Now()) }

// CreateRun implements Store.
func (m *Memory) CreateRun(_ context.Context, r Run) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.runs[r.ID]; ok {
		return fmt.Errorf("%w: run %s", ErrExists, r.ID)
	}
	r.Spec = r.Spec.Redacted()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = memNow()
	}
	r.UpdatedAt = memNow()
	m.runs[r.ID] = r
	return nil
}

// UpdateRun implements Store.
func (m *Memory) UpdateRun(_ context.Context, runID string, u RunUpdate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[runID]
	if !ok {
		return fmt.Errorf("%w: run %s", ErrNotFound, runID)
	}
	m.updateLocked(r, u)
	return nil
}

// UpdateRunIf implements RunUpdaterIf.
func (m *Memory) UpdateRunIf(_ context.Context, runID string, updatedAt time.Time, u RunUpdate) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[runID]
	if !ok {
		return false, fmt.Errorf("%w: run %s", ErrNotFound, runID)
	}
	if !r.UpdatedAt.Equal(UTC(updatedAt)) || r.Status.Terminal() {
		return false, nil
	}
	m.updateLocked(r, u)
	return true, nil
}

func (m *Memory) updateLocked(r Run, u RunUpdate) {
	set := func(dst *time.Time, v *time.Time) {
		if v != nil {
			*dst = UTC(*v)
		}
	}
	if u.Status != nil {
		r.Status = *u.Status
	}
	if u.Phase != nil {
		r.Phase = *u.Phase
	}
	set(&r.StartedAt, u.StartedAt)
	set(&r.WarmupEndedAt, u.WarmupEndedAt)
	set(&r.EndedAt, u.EndedAt)
	for _, f := range []struct {
		dst *int
		v   *int
	}{{&r.WorkersTarget, u.WorkersTarget}, {&r.WorkersLive, u.WorkersLive}, {&r.WorkersLost, u.WorkersLost}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if u.Outcome != nil {
		r.Outcome = *u.Outcome
	}
	if u.Summary != nil {
		r.Summary = slices.Clone(u.Summary)
	}
	if u.RowsDropped != nil {
		r.RowsDropped = *u.RowsDropped
	}
	r.UpdatedAt = memNow()
	m.runs[r.ID] = r
}

// GetRun implements Store.
func (m *Memory) GetRun(_ context.Context, runID string) (Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[runID]
	if !ok {
		return Run{}, fmt.Errorf("%w: run %s", ErrNotFound, runID)
	}
	return r, nil
}

// ListRuns implements Store.
func (m *Memory) ListRuns(_ context.Context, f RunFilter) ([]Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Run
	for _, r := range m.runs {
		if f.Status == "" || r.Status == f.Status {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Run) int { return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID)) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// AppendEvent implements Store.
func (m *Memory) AppendEvent(_ context.Context, e Event) (Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.runs[e.RunID]; !ok {
		return Event{}, fmt.Errorf("%w: run %s", ErrNotFound, e.RunID)
	}
	e.Seq = int64(len(m.events[e.RunID]) + 1)
	if e.CreatedAt.IsZero() {
		e.CreatedAt = memNow()
	}
	m.events[e.RunID] = append(m.events[e.RunID], e)
	return e, nil
}

// EventsSince implements Store.
func (m *Memory) EventsSince(_ context.Context, runID string, afterSeq int64) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ev := m.events[runID]
	if afterSeq >= int64(len(ev)) {
		return nil, nil
	}
	return slices.Clone(ev[max(afterSeq, 0):]), nil
}

// PutHeartbeat implements Store.
func (m *Memory) PutHeartbeat(_ context.Context, h Heartbeat) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.heartbeats[h.RunID] == nil {
		m.heartbeats[h.RunID] = map[string]Heartbeat{}
	}
	h.LastSeen = UTC(h.LastSeen)
	m.heartbeats[h.RunID][h.WorkerID] = h
	return nil
}

// ListHeartbeats implements Store.
func (m *Memory) ListHeartbeats(_ context.Context, runID string) ([]Heartbeat, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Heartbeat
	for _, h := range m.heartbeats[runID] {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Heartbeat) int { return cmp.Compare(a.WorkerID, b.WorkerID) })
	return out, nil
}

// WriteSnapshots implements Store.
func (m *Memory) WriteSnapshots(ctx context.Context, rows []Snapshot) error {
	return m.WriteSnapshotBatch(ctx, "", rows)
}

// newBatch records a batch id and reports whether it is new ("" always
// is). m.mu is held.
func (m *Memory) newBatch(runID, id string) bool {
	if id == "" {
		return true
	}
	if m.batches == nil {
		m.batches = map[[2]string]bool{}
	}
	k := [2]string{runID, id}
	if m.batches[k] {
		return false
	}
	m.batches[k] = true
	return true
}

// WriteSnapshotBatch implements BatchWriter.
func (m *Memory) WriteSnapshotBatch(_ context.Context, id string, rows []Snapshot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(rows) == 0 || !m.newBatch(rows[0].RunID, id) {
		return nil
	}
	for _, r := range rows {
		r.IntervalStart, r.IntervalEnd = UTC(r.IntervalStart), UTC(r.IntervalEnd)
		m.snapshots[r.RunID] = append(m.snapshots[r.RunID], r)
	}
	return nil
}

// Snapshots implements Store.
func (m *Memory) Snapshots(ctx context.Context, runID string) ([]Snapshot, error) {
	return m.SnapshotsSince(ctx, runID, time.Time{})
}

// SnapshotsSince implements Store.
func (m *Memory) SnapshotsSince(_ context.Context, runID string, since time.Time) ([]Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Snapshot
	for _, r := range m.snapshots[runID] {
		if r.IntervalEnd.After(since) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Snapshot) int {
		return cmp.Or(a.IntervalStart.Compare(b.IntervalStart), cmp.Compare(a.WorkerID, b.WorkerID),
			cmp.Compare(a.Phase, b.Phase), cmp.Compare(a.Operation, b.Operation))
	})
	return out, nil
}

// WriteExecutions implements Store.
func (m *Memory) WriteExecutions(ctx context.Context, rows []Execution) error {
	return m.WriteExecutionBatch(ctx, "", rows)
}

// WriteExecutionBatch implements BatchWriter.
func (m *Memory) WriteExecutionBatch(_ context.Context, id string, rows []Execution) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(rows) == 0 || !m.newBatch(rows[0].RunID, id) {
		return nil
	}
	for _, r := range rows {
		m.execCount[r.RunID]++
		if m.KeepExecutions {
			m.executions[r.RunID] = append(m.executions[r.RunID], r)
		}
	}
	return nil
}

// CountExecutions implements Store.
func (m *Memory) CountExecutions(_ context.Context, runID string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.execCount[runID], nil
}

// Executions implements Store (empty unless KeepExecutions).
func (m *Memory) Executions(_ context.Context, f ExecutionFilter) ([]Execution, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Execution
	for _, e := range m.executions[f.RunID] {
		if f.WorkerID == "" || e.WorkerID == f.WorkerID {
			out = append(out, e)
		}
	}
	out = out[min(f.Offset, len(out)):]
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// SaveTemplate implements Store.
func (m *Memory) SaveTemplate(_ context.Context, t Template) (Template, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.templates[t.Name]
	t.UpdatedAt = memNow()
	if ok {
		t.Version, t.CreatedAt = old.Version+1, old.CreatedAt
	} else {
		t.Version, t.CreatedAt = 1, t.UpdatedAt
	}
	m.templates[t.Name] = t
	return t, nil
}

// GetTemplate implements Store.
func (m *Memory) GetTemplate(_ context.Context, name string) (Template, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.templates[name]
	if !ok {
		return Template{}, fmt.Errorf("%w: template %s", ErrNotFound, name)
	}
	return t, nil
}

// ListTemplates implements Store.
func (m *Memory) ListTemplates(context.Context) ([]Template, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Template
	for _, t := range m.templates {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Template) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteTemplate implements Store.
func (m *Memory) DeleteTemplate(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.templates[name]; !ok {
		return fmt.Errorf("%w: template %s", ErrNotFound, name)
	}
	delete(m.templates, name)
	return nil
}

// Close implements Store.
func (m *Memory) Close() error { return nil }
