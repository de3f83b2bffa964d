package sqlstore

import (
	"context"

	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

var _ store.RunUpdaterIf = (*Store)(nil)

// UpdateRunIf implements store.RunUpdaterIf: one UPDATE whose WHERE holds
// the condition, so the check and the write are one statement.
func (s *Store) UpdateRunIf(ctx context.Context, runID string, updatedAt time.Time, u store.RunUpdate) (bool, error) {
	set, args := s.runSet(u)
	args = append(args, runID, s.d.Time(utc(updatedAt)),
		string(core.StatusCompleted), string(core.StatusFailed), string(core.StatusCancelled))
	n, err := s.d.Exec(ctx, s.Q(`UPDATE {run_status} SET `+set+
		` WHERE run_id = ? AND updated_at = ? AND status NOT IN (?, ?, ?)`), args...)
	if err != nil {
		return false, s.d.Errorf(err, "update run %s", runID)
	}
	if n > 0 {
		return true, nil
	}
	if _, err := s.GetRun(ctx, runID); err != nil {
		return false, err
	}
	return false, nil
}
