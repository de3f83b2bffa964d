package sqlstore

// Find-max steps and named baselines (schema version 4): plain statements
// every dialect runs as they are. A replace is a DELETE then an INSERT,
// which Snowflake, PostgreSQL and SQLite all take (Snowflake has no ON
// CONFLICT); both tables have few rows, written by one writer at a time.

import (
	"context"
	"fmt"

	"github.com/unistore-bench/unistore/store"
)

var (
	_ store.StepStore     = (*Store)(nil)
	_ store.BaselineStore = (*Store)(nil)
)

// WriteSteps implements store.StepStore.
func (s *Store) WriteSteps(ctx context.Context, rows []store.Step) error {
	for _, r := range rows {
		if _, err := s.d.Exec(ctx, s.Q(`DELETE FROM {find_max_steps} WHERE run_id = ? AND step_no = ?`), r.RunID, int64(r.Step)); err != nil {
			return s.d.Errorf(err, "write find-max step %d of run %s", r.Step, r.RunID)
		}
		if _, err := s.d.Exec(ctx, s.Q(`INSERT INTO {find_max_steps}
			(run_id, step_no, by_kind, target, verdict, started_at, ended_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			r.RunID, int64(r.Step), r.By, r.Target, r.Verdict, s.d.Time(utc(r.StartedAt)), s.d.Time(utc(r.EndedAt)),
			string(r.Detail)); err != nil {
			return s.d.Errorf(err, "write find-max step %d of run %s", r.Step, r.RunID)
		}
	}
	return nil
}

// Steps implements store.StepStore.
func (s *Store) Steps(ctx context.Context, runID string) ([]store.Step, error) {
	rs, err := s.d.Query(ctx, s.Q(`SELECT run_id, step_no, by_kind, target, verdict, started_at, ended_at, detail
		FROM {find_max_steps} WHERE run_id = ? ORDER BY step_no`), runID)
	if err != nil {
		return nil, s.d.Errorf(err, "read find-max steps of run %s", runID)
	}
	defer rs.Close()
	out := []store.Step{}
	for rs.Next() {
		var r store.Step
		var n int64
		if err := rs.Scan(&r.RunID, &n, &r.By, &r.Target, &r.Verdict, timeCol{&r.StartedAt}, timeCol{&r.EndedAt},
			jsonCol{&r.Detail}); err != nil {
			return nil, s.d.Errorf(err, "read find-max steps of run %s", runID)
		}
		r.Step = int(n)
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, s.d.Errorf(err, "read find-max steps of run %s", runID)
	}
	return out, nil
}

// SetBaseline implements store.BaselineStore.
func (s *Store) SetBaseline(ctx context.Context, name, runID string) error {
	if _, err := s.GetRun(ctx, runID); err != nil {
		return fmt.Errorf("store: baseline %q: %w", name, err)
	}
	if _, err := s.d.Exec(ctx, s.Q(`DELETE FROM {run_baselines} WHERE name = ?`), name); err != nil {
		return s.d.Errorf(err, "set baseline %q", name)
	}
	if _, err := s.d.Exec(ctx, s.Q(`INSERT INTO {run_baselines} (name, run_id, updated_at) VALUES (?, ?, ?)`),
		name, runID, s.d.Time(now())); err != nil {
		return s.d.Errorf(err, "set baseline %q", name)
	}
	return nil
}

// Baseline implements store.BaselineStore.
func (s *Store) Baseline(ctx context.Context, name string) (string, error) {
	rs, err := s.d.Query(ctx, s.Q(`SELECT run_id FROM {run_baselines} WHERE name = ?`), name)
	if err != nil {
		return "", s.d.Errorf(err, "get baseline %q", name)
	}
	defer rs.Close()
	var id string
	found := false
	for rs.Next() {
		if err := rs.Scan(&id); err != nil {
			return "", s.d.Errorf(err, "get baseline %q", name)
		}
		found = true
	}
	if err := rs.Err(); err != nil {
		return "", s.d.Errorf(err, "get baseline %q", name)
	}
	if !found {
		return "", fmt.Errorf("store: baseline %q: %w", name, store.ErrNotFound)
	}
	return id, nil
}
