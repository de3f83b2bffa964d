package store

// This file is the spool: rows (and a run's final status) the store could
// not take, kept on local disk as JSON lines until Recover loads them.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/unistore-bench/unistore/core"
)

// EnvSpoolDir names the spool directory, overriding DefaultSpoolDir.
const EnvSpoolDir = "UNISTORE_SPOOL_DIR"

// DefaultSpoolDir is where runs spool what their store could not take:
// $UNISTORE_SPOOL_DIR, else a "spool" directory beside the default store
// (DefaultPath), in the per-user data directory. One directory serves
// every store: each run spools under its own id, and Recover loads a run
// only into the store that holds its RUN_STATUS row.
func DefaultSpoolDir() string {
	if d := os.Getenv(EnvSpoolDir); d != "" {
		return d
	}
	return filepath.Join(filepath.Dir(DefaultPath()), "spool")
}

// spoolVersion is the format of a spool line; Recover refuses others.
const spoolVersion = 1

// spoolLine is one line of a spool file: one batch, as the writer had it.
type spoolLine struct {
	V          int         `json:"v"`
	BatchID    string      `json:"batch_id"`
	Snapshots  []Snapshot  `json:"snapshots,omitempty"`
	Executions []Execution `json:"executions,omitempty"`
}

// spooledStatus is a run's final RUN_STATUS update that could not be
// written (status.json).
type spooledStatus struct {
	V      int       `json:"v"`
	RunID  string    `json:"run_id"`
	Update RunUpdate `json:"update"`
	// Events are control events the orchestrator could not append, in
	// order, stamped when they were made.
	Events    []Event   `json:"events,omitempty"`
	SpooledAt time.Time `json:"spooled_at"`
}

// MergeRunUpdate returns a with every field b sets set as b has it.
func MergeRunUpdate(a, b RunUpdate) RunUpdate {
	setIf(&a.Status, b.Status)
	setIf(&a.Phase, b.Phase)
	setIf(&a.StartedAt, b.StartedAt)
	setIf(&a.WarmupEndedAt, b.WarmupEndedAt)
	setIf(&a.EndedAt, b.EndedAt)
	setIf(&a.WorkersTarget, b.WorkersTarget)
	setIf(&a.WorkersLive, b.WorkersLive)
	setIf(&a.WorkersLost, b.WorkersLost)
	setIf(&a.Outcome, b.Outcome)
	if b.Summary != nil {
		a.Summary = b.Summary
	}
	setIf(&a.RowsDropped, b.RowsDropped)
	return a
}

// setIf sets *dst to v when v is set.
func setIf[T any](dst **T, v *T) {
	if v != nil {
		*dst = v
	}
}

// Spool is one run's spool: DIR/RUN_ID/, holding WORKER.snapshots.jsonl
// and WORKER.executions.jsonl (one line per batch, with its batch id) and
// status.json (the final RUN_STATUS update). Each worker writes its own
// files, so the workers of a run — goroutines or processes — never share
// one; every write is synced before it returns. Nothing is created until
// something is spooled. It is safe for concurrent use.
type Spool struct {
	dir string
	mu  sync.Mutex
}

// OpenSpool returns the spool of run runID under dir (DefaultSpoolDir if
// empty).
func OpenSpool(dir, runID string) *Spool {
	if dir == "" {
		dir = DefaultSpoolDir()
	}
	return &Spool{dir: filepath.Join(dir, runID)}
}

// Dir is the run's spool directory.
func (s *Spool) Dir() string { return s.dir }

// Snapshots appends a batch of snapshot rows for worker.
func (s *Spool) Snapshots(worker, batchID string, rows []Snapshot) error {
	return s.append(worker+"."+KindSnapshots+".jsonl", spoolLine{V: spoolVersion, BatchID: batchID, Snapshots: rows})
}

// Executions appends a batch of execution rows for worker.
func (s *Spool) Executions(worker, batchID string, rows []Execution) error {
	return s.append(worker+"."+KindExecutions+".jsonl", spoolLine{V: spoolVersion, BatchID: batchID, Executions: rows})
}

func (s *Spool) append(name string, line spoolLine) error {
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("store: spool: %w", err)
	}
	b = append(b, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("store: spool: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: spool: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: spool: %w", err)
	}
	return nil
}

// Status writes the run's final RUN_STATUS update, and the control events
// that could not be appended before it, replacing any earlier status
// (written to a temporary file, synced and renamed: never half there).
func (s *Spool) Status(runID string, u RunUpdate, events ...Event) error {
	b, err := json.Marshal(spooledStatus{V: spoolVersion, RunID: runID, Update: u, Events: events, SpooledAt: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("store: spool: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("store: spool: %w", err)
	}
	f, err := os.CreateTemp(s.dir, ".status-*")
	if err != nil {
		return fmt.Errorf("store: spool: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(s.dir, "status.json"))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("store: spool: %w", err)
	}
	return nil
}

// Recovered is what Recover did with one spooled run.
type Recovered struct {
	RunID string `json:"run_id"`
	// Snapshots and Executions count the spooled rows now in the store
	// (those a retry had stored already included: their batches are
	// skipped, not stored twice).
	Snapshots  int64 `json:"snapshots"`
	Executions int64 `json:"executions"`
	// Status is set when the run's final RUN_STATUS was written from the
	// spool; it is the status then.
	Status core.Status `json:"status,omitempty"`
	// Skipped says why the run was left in the spool (its spool is then
	// kept): the store does not hold the run, or a write failed.
	Skipped string `json:"skipped,omitempty"`
}

// Recover loads every run spooled under dir (DefaultSpoolDir if empty)
// whose RUN_STATUS row st holds: its rows, batch by batch through
// BatchWriter (so loading twice, or loading batches a retry stored
// already, stores each row once), then its final RUN_STATUS, with the
// summary's store.recovered_at set. A run loaded whole leaves the spool.
// Runs the store does not hold are skipped (they belong to another store)
// and stay; so do runs whose load failed, with the reason. The error is
// for a spool directory that cannot be read, or a store that fails every
// run; per-run failures are in the result.
func Recover(ctx context.Context, st Store, dir string) ([]Recovered, error) {
	if dir == "" {
		dir = DefaultSpoolDir()
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: recover: %w", err)
	}
	bw, ok := st.(BatchWriter)
	if !ok {
		return nil, fmt.Errorf("store: recover: %T cannot write batches idempotently", st)
	}
	var out []Recovered
	failed := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		r := recoverRun(ctx, st, bw, filepath.Join(dir, e.Name()), e.Name())
		if r.Skipped != "" && !strings.HasPrefix(r.Skipped, skipNotHere) {
			failed++
		}
		out = append(out, r)
	}
	if failed > 0 && failed == len(out) {
		return out, fmt.Errorf("store: recover: no spooled run could be loaded: %s", out[0].Skipped)
	}
	return out, nil
}

const skipNotHere = "not in this store"

func recoverRun(ctx context.Context, st Store, bw BatchWriter, dir, runID string) Recovered {
	r := Recovered{RunID: runID}
	if _, err := st.GetRun(ctx, runID); err != nil {
		if errors.Is(err, ErrNotFound) {
			r.Skipped = skipNotHere + " (spooled for another store?)"
		} else {
			r.Skipped = err.Error()
		}
		return r
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		r.Skipped = err.Error()
		return r
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		if strings.HasSuffix(f.Name(), ".jsonl") {
			names = append(names, f.Name())
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if err := loadSpoolFile(ctx, bw, filepath.Join(dir, name), &r); err != nil {
			r.Skipped = fmt.Sprintf("%s: %v", name, err)
			return r
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "status.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		r.Skipped = err.Error()
		return r
	default:
		var ss spooledStatus
		if err := json.Unmarshal(b, &ss); err != nil || ss.V != spoolVersion || ss.RunID != runID {
			r.Skipped = fmt.Sprintf("status.json: unreadable (version %d, run %q): %v", ss.V, ss.RunID, err)
			return r
		}
		if err := appendMissing(ctx, st, runID, ss.Events); err != nil {
			r.Skipped = err.Error()
			return r
		}
		u := ss.Update
		u.Summary = markRecovered(u.Summary, time.Now().UTC())
		if err := st.UpdateRun(ctx, runID, u); err != nil {
			r.Skipped = err.Error()
			return r
		}
		if u.Status != nil {
			r.Status = *u.Status
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		r.Skipped = "loaded, but the spool could not be removed: " + err.Error()
	}
	return r
}

// appendMissing appends the spooled control events the run does not have
// yet (the same kind and time): loading twice appends each once.
func appendMissing(ctx context.Context, st Store, runID string, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	have, err := st.EventsSince(ctx, runID, 0)
	if err != nil {
		return err
	}
	for _, e := range events {
		if slices.ContainsFunc(have, func(h Event) bool { return h.Kind == e.Kind && h.CreatedAt.Equal(UTC(e.CreatedAt)) }) {
			continue
		}
		e.RunID = runID
		if _, err := st.AppendEvent(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// markRecovered sets store.recovered_at in a summary (a core.Result).
func markRecovered(summary json.RawMessage, at time.Time) json.RawMessage {
	if len(summary) == 0 || string(summary) == "null" {
		return nil
	}
	var res core.Result
	if json.Unmarshal(summary, &res) != nil {
		return summary
	}
	if res.Store == nil {
		res.Store = &core.StoreStats{}
	}
	res.Store.RecoveredAt = &at
	b, err := json.Marshal(&res)
	if err != nil {
		return summary
	}
	return b
}

func loadSpoolFile(ctx context.Context, bw BatchWriter, path string, r *Recovered) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<30)
	for n := 1; sc.Scan(); n++ {
		var l spoolLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.V != spoolVersion {
			return fmt.Errorf("line %d: unreadable (version %d): %v", n, l.V, err)
		}
		switch {
		case len(l.Snapshots) > 0:
			if err := bw.WriteSnapshotBatch(ctx, l.BatchID, l.Snapshots); err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			r.Snapshots += int64(len(l.Snapshots))
		case len(l.Executions) > 0:
			if err := bw.WriteExecutionBatch(ctx, l.BatchID, l.Executions); err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			r.Executions += int64(len(l.Executions))
		}
	}
	return sc.Err()
}
