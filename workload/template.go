package workload

import (
	"bytes"
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/unistore-bench/unistore/core"
	"go.yaml.in/yaml/v3"
)

// Template is a core.Spec read from a YAML file, with what is needed to
// point at the file's lines.
type Template struct {
	// Spec is the decoded spec, without defaults applied (see
	// core.Spec.WithDefaults) and without Spec.Validate having run.
	Spec core.Spec
	// File is the name given to Parse, used in messages.
	File string

	root  *yaml.Node            // the document's top node
	index map[string]*yaml.Node // field path → key node (fields) or item node (list items)
}

// Error is what a bad template gets: every problem, each located in the
// file. errors.Is(err, core.ErrInvalidSpec) holds.
type Error struct {
	File     string
	Problems []Problem // in file order
}

// Problem is one located problem of a template.
type Problem struct {
	Line, Col int    // 1-based; 0 if unknown
	Path      string // the field path, as in core.FieldError; "" for the file as a whole
	Msg       string
}

// Error returns one line per problem: "FILE:LINE:COL: FIELD: message".
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Col > 0 {
				fmt.Fprintf(&b, ":%d", p.Col)
			}
		}
		b.WriteString(": ")
		if p.Path != "" {
			b.WriteString(p.Path)
			b.WriteString(": ")
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// Is makes errors.Is(err, core.ErrInvalidSpec) true.
func (e *Error) Is(target error) bool { return target == core.ErrInvalidSpec }

func (e *Error) sort() {
	slices.SortStableFunc(e.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// LoadFile reads and parses a template file; see Parse.
func LoadFile(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a template strictly — an unknown field, a value of the
// wrong type or a duplicate field is an error — and compiles its workload
// section. It reports every problem at once, as an *Error whose lines name
// filename, line, column and field. It neither applies defaults nor calls
// Spec.Validate: the caller applies its overrides (a --target flag, say),
// then reports t.Locate(spec.Validate()).
func Parse(filename string, data []byte) (*Template, error) {
	t := &Template{File: filename, index: make(map[string]*yaml.Node)}
	e := &Error{File: filename}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			e.Problems = append(e.Problems, Problem{Line: 1, Msg: "empty template: want a mapping with name, connections, duration, workload"})
		} else {
			e.Problems = append(e.Problems, syntaxProblem(err))
		}
		return nil, e
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		e.Problems = append(e.Problems, Problem{Line: extra.Line, Col: extra.Column, Msg: "a second YAML document: a template is one document"})
	case !errors.Is(err, io.EOF):
		e.Problems = append(e.Problems, syntaxProblem(err))
	}
	t.root = &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		t.root = doc.Content[0]
	}
	t.index[""] = t.root
	d := &decoder{index: t.index, budget: maxNodes}
	// warmup: is a duration or, for a steady-state warm-up, a mapping
	// (core.SteadyWarmup), which goes to Spec.WarmupSteady.
	d.mappings = map[string]func(n *yaml.Node, path string){"warmup": func(n *yaml.Node, path string) {
		t.Spec.WarmupSteady = new(core.SteadyWarmup)
		d.mapping(n, reflect.ValueOf(t.Spec.WarmupSteady).Elem(), path)
	}}
	d.decode(t.root, reflect.ValueOf(&t.Spec).Elem(), "")
	e.Problems = append(e.Problems, d.probs...)

	// A value written as zero is not a value left out: only an absent one
	// takes the default (core.Spec.CheckGiven).
	var given core.FieldErrors
	if err := t.Spec.CheckGiven(t.has); err != nil {
		given = err.(core.FieldErrors)
	}
	for i, op := range t.Spec.Workload.Operations {
		for j, ps := range op.Params {
			if p := fmt.Sprintf("workload.operations[%d].params[%d].limit", i, j); ps.Limit == 0 && t.has(p) {
				given.Add(p, fmt.Sprintf("must be positive, got 0 (leave it out for the default, %d)", DefaultSampleLimit))
			}
		}
	}
	{
		for _, f := range given {
			if !d.covers(f.Path) {
				e.Problems = append(e.Problems, t.problem(f))
			}
		}
	}

	// A template cut off for size is partial: compiling it would add noise.
	if d.budget >= 0 {
		if _, err := Compile(t.Spec.Workload); err != nil {
			var fe core.FieldErrors
			errors.As(err, &fe)
			for _, f := range fe {
				if !d.covers(f.Path) {
					e.Problems = append(e.Problems, t.problem(f))
				}
			}
		}
	}
	if len(e.Problems) > 0 {
		e.sort()
		return nil, e
	}
	return t, nil
}

// has reports whether the file sets the field at path (a null counts as
// set: "connections: ~" is written, not left out).
func (t *Template) has(path string) bool { return t.index[path] != nil }

// Compile compiles t.Spec.Workload (see Compile); its error is located in
// the file. Compile afresh for each run: a Compiled holds run state.
func (t *Template) Compile() (*Compiled, error) {
	c, err := Compile(t.Spec.Workload)
	if err != nil {
		return nil, t.Locate(err)
	}
	return c, nil
}

// Locate turns a core.FieldErrors (from Spec.Validate, Compile or
// Compiled.Prepare) into an *Error whose problems carry this file's line
// and column: those of the field, or, for a field the file does not have,
// those of its nearest parent (a missing sql points at its operation).
// Any other error is returned as it is.
func (t *Template) Locate(err error) error {
	var fe core.FieldErrors
	if !errors.As(err, &fe) {
		return err
	}
	e := &Error{File: t.File}
	for _, f := range fe {
		e.Problems = append(e.Problems, t.problem(f))
	}
	e.sort()
	return e
}

func (t *Template) problem(f core.FieldError) Problem {
	for path := f.Path; ; path = parentPath(path) {
		if n := t.index[path]; n != nil {
			return Problem{Line: n.Line, Col: n.Column, Path: f.Path, Msg: f.Msg}
		}
		if path == "" {
			return Problem{Path: f.Path, Msg: f.Msg}
		}
	}
}

// parentPath strips the last ".field" or "[i]" of path.
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// syntaxProblem turns the parser's "yaml: line N: msg" into a Problem.
func syntaxProblem(err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if line, err := strconv.Atoi(rest[:i]); err == nil {
				return Problem{Line: line, Msg: "bad YAML: " + rest[i+2:]}
			}
		}
	}
	return Problem{Msg: "bad YAML: " + msg}
}

// maxNodes bounds the nodes decoded, aliases expanded, so a small file of
// nested aliases cannot expand into gigabytes. Real templates have a few
// hundred nodes.
const maxNodes = 1 << 18

// decoder decodes a node tree into a value strictly, collecting every
// problem with its field path and position, and indexing the position of
// every field it meets.
type decoder struct {
	index  map[string]*yaml.Node
	probs  []Problem
	bad    []string // paths with a problem
	budget int
	// mappings decode a mapping found at a path (instead of the field's
	// own type there).
	mappings map[string]func(n *yaml.Node, path string)
}

// describe names what n holds, except under target, whose values may hold
// secrets (a password in a DSN) and are never echoed.
func (d *decoder) describe(n *yaml.Node, path string) string {
	if n.Kind == yaml.ScalarNode && (path == "target" || strings.HasPrefix(path, "target.")) {
		return "a single value"
	}
	return describe(n)
}

func (d *decoder) fail(n *yaml.Node, path, msg string) {
	d.probs = append(d.probs, Problem{Line: n.Line, Col: n.Column, Path: path, Msg: msg})
	d.bad = append(d.bad, path)
}

// covers reports whether path is at or under a path that already has a
// decoding problem, so that, say, "connections: many" does not also get
// "must be at least 1", or a params entry that is not a mapping does not
// also get "unknown generator".
func (d *decoder) covers(path string) bool {
	for _, b := range d.bad {
		if b == "" || path == b || strings.HasPrefix(path, b) && (path[len(b)] == '.' || path[len(b)] == '[') {
			return true
		}
	}
	return false
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	yamlUnmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.fail(n, path, "template too large (too many nodes once aliases are expanded)")
		}
		return
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // leave the zero value, as yaml does
	}
	t := v.Type()
	if pt := reflect.PointerTo(t); pt.Implements(textUnmarshalerType) || pt.Implements(yamlUnmarshalerType) {
		if n.Kind != yaml.ScalarNode && pt.Implements(textUnmarshalerType) {
			d.fail(n, path, "want a single value, got "+d.describe(n, path))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, path, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "want a list, got "+d.describe(n, path))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			d.index[p] = item
			d.decode(item, s.Index(i), p)
		}
		v.Set(s)
	case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "want "+want(t)+", got "+d.describe(n, path))
			return
		}
		if t.Kind() == reflect.String && n.Tag == "!!str" { // the common case, without a decoder
			v.SetString(n.Value)
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, path, "want "+want(t)+", got "+d.describe(n, path))
		}
	default:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, path, strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
}

// mapping decodes a mapping into the struct v: each key must be a field
// (by its yaml tag) and appear once; "<<" merges are honoured.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of fields, got "+d.describe(n, path))
		return
	}
	fields := yamlFields(v.Type())
	// Merged mappings first, so the mapping's own keys override them.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Tag == "!!merge" {
			m := n.Content[i+1]
			if m.Kind == yaml.AliasNode && m.Alias != nil {
				m = m.Alias
			}
			if m.Kind == yaml.SequenceNode {
				for _, c := range m.Content {
					d.decode(c, v, path)
				}
			} else {
				d.decode(m, v, path)
			}
		}
	}
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "want a field name, got "+describe(k))
			continue
		}
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		idx, ok := fields[k.Value]
		if !ok {
			d.fail(k, p, "unknown field "+strconv.Quote(k.Value)+suggest(k.Value, v.Type()))
			continue
		}
		if first := seen[k.Value]; first != nil {
			d.fail(k, p, fmt.Sprintf("duplicate field (first at line %d)", first.Line))
			continue
		}
		seen[k.Value] = k
		d.index[p] = k
		if f := d.mappings[p]; f != nil {
			if m := val; m.Kind == yaml.MappingNode || m.Kind == yaml.AliasNode && m.Alias != nil && m.Alias.Kind == yaml.MappingNode {
				if m.Kind == yaml.AliasNode {
					m = m.Alias
				}
				f(m, p)
				continue
			}
		}
		d.decode(val, v.Field(idx), p)
	}
}

// yamlFields maps a struct's yaml names to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return name
}

// suggest names the closest field of t, or lists them all.
func suggest(key string, t reflect.Type) string {
	var names []string
	best, bestD := "", 3
	for i := range t.NumField() {
		name := yamlName(t.Field(i))
		if name == "" {
			continue
		}
		names = append(names, name)
		if dist := editDistance(strings.ToLower(key), name); dist < bestD {
			best, bestD = name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (want one of " + strings.Join(names, ", ") + ")"
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// want describes what a scalar of type t looks like.
func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	}
	return "a string"
}

// describe names what a node holds, for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return strconv.Quote(v)
	}
	return "nothing"
}

// StripSecrets returns a template's text with the password and secret
// parameters removed from its target.dsn (core.StripSecrets), and whether
// there were any: what is saved must not hold a secret. A template without
// one is returned as it is, byte for byte; one with a secret is
// re-encoded, its comments kept.
func StripSecrets(body []byte) ([]byte, bool, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return nil, false, fmt.Errorf("workload: %w", err)
	}
	dsn := mappingValue(mappingValue(&doc, "target"), "dsn")
	if dsn == nil || dsn.Kind != yaml.ScalarNode {
		return body, false, nil
	}
	stripped, changed := core.StripSecrets(dsn.Value)
	if !changed {
		return body, false, nil
	}
	dsn.Value, dsn.Style, dsn.Tag = stripped, yaml.DoubleQuotedStyle, "!!str"
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, false, fmt.Errorf("workload: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, false, fmt.Errorf("workload: %w", err)
	}
	return b.Bytes(), true, nil
}

// mappingValue returns the value of key in the mapping n (or in the
// document n holds), following aliases; nil if there is none.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var v *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v = n.Content[i+1] // the last one, as a duplicate would be (Parse rejects duplicates anyway)
		}
	}
	if v != nil && v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	return v
}
