package unistore

import (
	"context"
	"fmt"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// Overrides are the run settings a front end sets over a template's: the
// CLI's run flags, the HTTP API's POST /api/v1/runs body. A nil field
// keeps the template's value. Durations are Go durations ("30s").
type Overrides struct {
	Target      *string   `json:"target,omitempty"`
	Connections *int      `json:"connections,omitempty"`
	Warmup      *Duration `json:"warmup,omitempty"`
	Duration    *Duration `json:"duration,omitempty"`
	Rate        *float64  `json:"rate,omitempty"`
	Workers     *int      `json:"workers,omitempty"`
	Seed        *uint64   `json:"seed,omitempty"`
	Capture     *string   `json:"capture,omitempty"`
}

// Apply returns s with the fields o sets replaced.
func (o Overrides) Apply(s Spec) Spec {
	if o.Target != nil {
		s.Target = core.Target{DSN: *o.Target}
	}
	if o.Connections != nil {
		s.Connections = *o.Connections
	}
	if o.Warmup != nil {
		s.Warmup = *o.Warmup
	}
	if o.Duration != nil {
		s.Duration = *o.Duration
	}
	if o.Rate != nil {
		s.Rate = *o.Rate
	}
	if o.Workers != nil {
		s.Workers = *o.Workers
	}
	if o.Seed != nil {
		s.Seed = *o.Seed
	}
	if o.Capture != nil {
		s.Capture = *o.Capture
	}
	return s
}

// SpecFrom is the spec a front end runs from template t with overrides o:
// o applied, defaults filled, and the whole validated, each problem placed
// at its line of t's file (an error matching core.ErrInvalidSpec).
func SpecFrom(t *Template, o Overrides) (Spec, error) {
	spec := o.Apply(t.Spec).WithDefaults()
	if err := spec.Validate(); err != nil {
		return Spec{}, t.Locate(err)
	}
	return spec, nil
}

// TemplateInfo is a saved template as a listing shows it (`templates list
// --json`, GET /api/v1/templates); Body is set only when one template is
// asked for.
type TemplateInfo struct {
	Name      string    `json:"name"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Body      string    `json:"body,omitempty"`
}

// TemplateList lists the saved templates by name, without their bodies.
func TemplateList(ctx context.Context, st store.Store) ([]TemplateInfo, error) {
	ts, err := st.ListTemplates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]TemplateInfo, 0, len(ts))
	for _, t := range ts {
		out = append(out, TemplateInfo{Name: t.Name, Version: t.Version, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt})
	}
	return out, nil
}

// CompareKeys name the runs of a comparison in its JSON form, in order:
// `runs compare --json` writes {"a": …, "b": …}, and the HTTP API's compare
// of up to five runs goes on to "e".
var CompareKeys = []string{"a", "b", "c", "d", "e"}

// CompareRuns returns the results of runs ids (two to len(CompareKeys)),
// keyed by CompareKeys in order: the JSON form of a comparison.
func CompareRuns(ctx context.Context, st store.Store, ids ...string) (map[string]*Result, error) {
	if len(ids) < 2 || len(ids) > len(CompareKeys) {
		return nil, &CompareCountError{N: len(ids)}
	}
	out := make(map[string]*Result, len(ids))
	for i, id := range ids {
		r, err := Show(ctx, st, id)
		if err != nil {
			return nil, err
		}
		out[CompareKeys[i]] = r
	}
	return out, nil
}

// CompareCountError is CompareRuns' error for too few or too many runs.
type CompareCountError struct{ N int }

func (e *CompareCountError) Error() string {
	return fmt.Sprintf("unistore: compare: give 2 to %d runs, got %d", len(CompareKeys), e.N)
}
