package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Step is a FIND_MAX_STEPS row: one step of a find-max run. Target is the
// value the step set — an arrival rate or a number of connections, as By
// says — as text, so every digit survives every store; Detail is the
// step's figures as JSON.
type Step struct {
	RunID     string
	Step      int
	By        string
	Target    string
	Verdict   string
	StartedAt time.Time
	EndedAt   time.Time
	Detail    json.RawMessage
}

// StepStore is the optional capability of a store that keeps find-max
// step histories (schema version 4). Every store of this module has it;
// a store without it runs find-max but keeps no history.
type StepStore interface {
	// WriteSteps stores rows; a (run, step) already there is replaced.
	WriteSteps(ctx context.Context, rows []Step) error
	// Steps returns a run's steps in step order (none: an empty slice).
	Steps(ctx context.Context, runID string) ([]Step, error)
}

// BaselineStore is the optional capability of a store that keeps named
// baseline runs (schema version 4).
type BaselineStore interface {
	// SetBaseline names runID as the baseline name, replacing an earlier
	// run of that name. The run must exist.
	SetBaseline(ctx context.Context, name, runID string) error
	// Baseline returns the run id named name; ErrNotFound if none is.
	Baseline(ctx context.Context, name string) (string, error)
}

var (
	_ StepStore     = (*Memory)(nil)
	_ BaselineStore = (*Memory)(nil)
)

// WriteSteps implements StepStore.
func (m *Memory) WriteSteps(_ context.Context, rows []Step) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.steps == nil {
		m.steps = map[string][]Step{}
	}
	for _, r := range rows {
		r.StartedAt, r.EndedAt = UTC(r.StartedAt), UTC(r.EndedAt)
		r.Detail = slices.Clone(r.Detail)
		s := m.steps[r.RunID]
		if i := slices.IndexFunc(s, func(x Step) bool { return x.Step == r.Step }); i >= 0 {
			s[i] = r
		} else {
			s = append(s, r)
		}
		slices.SortFunc(s, func(a, b Step) int { return a.Step - b.Step })
		m.steps[r.RunID] = s
	}
	return nil
}

// Steps implements StepStore.
func (m *Memory) Steps(_ context.Context, runID string) ([]Step, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Step{}, m.steps[runID]...), nil
}

// SetBaseline implements BaselineStore.
func (m *Memory) SetBaseline(_ context.Context, name, runID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.runs[runID]; !ok {
		return fmt.Errorf("store: baseline %q: run %s: %w", name, runID, ErrNotFound)
	}
	if m.baselines == nil {
		m.baselines = map[string]string{}
	}
	m.baselines[name] = runID
	return nil
}

// Baseline implements BaselineStore.
func (m *Memory) Baseline(_ context.Context, name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.baselines[name]
	if !ok {
		return "", fmt.Errorf("store: baseline %q: %w", name, ErrNotFound)
	}
	return id, nil
}
