package unistore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/workload"
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
	// PricePerCredit is the CLI's --price-per-credit.
	PricePerCredit *float64 `json:"price-per-credit,omitempty"`
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
		// A fixed warm-up replaces a steady one.
		s.Warmup, s.WarmupSteady = *o.Warmup, nil
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
	if o.PricePerCredit != nil {
		s.PricePerCredit = *o.PricePerCredit
	}
	return s
}

// OverrideFields maps a spec's field paths to the overrides that set
// them (Overrides' JSON names, which are also the CLI's flag names).
var OverrideFields = map[string]string{
	"target.dsn": "target", "target.driver": "target", "connections": "connections", "warmup": "warmup",
	"duration": "duration", "rate": "rate", "seed": "seed", "capture": "capture", "workers": "workers",
	"price_per_credit": "price-per-credit",
}

// given reports which overrides o sets, by name.
func (o Overrides) given() map[string]bool {
	return map[string]bool{"target": o.Target != nil, "connections": o.Connections != nil, "warmup": o.Warmup != nil,
		"duration": o.Duration != nil, "rate": o.Rate != nil, "seed": o.Seed != nil, "capture": o.Capture != nil,
		"workers": o.Workers != nil, "price-per-credit": o.PricePerCredit != nil}
}

// SpecFrom is the spec a front end runs from template t with overrides o,
// checked: what the CLI's run flags and the HTTP API's POST /api/v1/runs
// both call, so both say the same of the same input. A problem with a
// value an override set names the override, as label(name) gives it ("--rate:
// must not be negative" for the CLI); any other is placed at its file,
// line and field of t; an explicit zero is an error, never the default
// (core.Spec.CheckGiven); a target no linked driver claims lists the
// schemes that are. The error matches core.ErrInvalidSpec and, as a
// *SpecError, holds the located problems. Defaults are not filled: the
// run applies them once (core.Spec.WithDefaults).
func SpecFrom(t *Template, o Overrides, label func(name string) string) (Spec, error) {
	spec := o.Apply(t.Spec)
	given := o.given()
	byOverride := func(path string) string {
		if name, ok := OverrideFields[path]; ok && given[name] {
			return name
		}
		return ""
	}
	var all core.FieldErrors
	for _, err := range []error{spec.CheckGiven(func(path string) bool { return byOverride(path) != "" }), spec.Validate()} {
		if fe, ok := err.(core.FieldErrors); ok {
			all = append(all, fe...)
		}
	}
	var e SpecError
	seen := map[string]bool{}
	var inFile core.FieldErrors
	for _, fe := range all {
		if name := byOverride(fe.Path); name != "" {
			if msg := label(name) + ": " + fe.Msg; !seen[msg] {
				seen[msg] = true
				e.Lines = append(e.Lines, msg)
			}
			continue
		}
		inFile = append(inFile, fe)
	}
	if len(inFile) > 0 {
		located := t.Locate(inFile)
		e.Lines = append(e.Lines, located.Error())
		if we, ok := located.(*workload.Error); ok {
			e.Located = we
		}
	}
	if msg := checkDriver(spec.Target, byOverride("target.dsn"), label); msg != "" {
		e.Lines = append(e.Lines, msg)
	}
	if len(e.Lines) > 0 {
		return spec, &e
	}
	return spec, nil
}

// SpecError is SpecFrom's error: one line per problem, in the order a
// user fixes them (overrides, then the template's, then the target's
// driver); Located holds the template's problems with their places.
type SpecError struct {
	Lines   []string
	Located *workload.Error
}

func (e *SpecError) Error() string { return strings.Join(e.Lines, "\n") }

// Is makes errors.Is(err, core.ErrInvalidSpec) true.
func (e *SpecError) Is(target error) bool { return target == core.ErrInvalidSpec }

// checkDriver reports a target whose scheme no linked driver claims,
// listing the ones that do, and a DSN its driver refuses to parse (an
// unknown engine=, a malformed URL); override names the override that set
// it, if one did. OpenConnector parses without connecting, so nothing is
// dialled here.
func checkDriver(t core.Target, override string, label func(string) string) string {
	if t.DSN == "" {
		return "" // reported by Validate
	}
	_, d, err := driver.Resolve(t.Driver, t.DSN)
	if err == nil {
		var c driver.Connector
		if c, err = d.OpenConnector(t.DSN); err == nil {
			c.Close()
			return ""
		}
	}
	where := "target.dsn: "
	if override != "" {
		where = label(override) + ": "
	}
	if errors.Is(err, driver.ErrUnknownDriver) {
		return fmt.Sprintf("%s%v; this unistore supports %s://", where, err, strings.Join(driver.Schemes(), "://, "))
	}
	return where + err.Error()
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
