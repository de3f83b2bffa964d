package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/workload"
)

// maxBody bounds a request body: a template is a few kilobytes.
const maxBody = 1 << 20

func (s *Server) routes(reg *prometheus.Registry) http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("POST /api/v1/runs", s.handleCreateRun)
	api.HandleFunc("GET /api/v1/runs", s.handleListRuns)
	api.HandleFunc("GET /api/v1/runs/{id}", s.handleShowRun)
	api.HandleFunc("GET /api/v1/runs/{id}/intervals", s.handleIntervals)
	api.HandleFunc("GET /api/v1/runs/{id}/export", s.handleExport)
	api.HandleFunc("POST /api/v1/runs/{id}/stop", s.handleStop)
	api.HandleFunc("POST /api/v1/runs/{id}/scale", s.handleScale)
	api.HandleFunc("POST /api/v1/runs/{id}/enrich", s.handleEnrich)
	api.HandleFunc("GET /api/v1/runs/{id}/live", s.handleLive)
	api.HandleFunc("GET /api/v1/runs/{id}/steps", s.handleSteps)
	api.HandleFunc("GET /api/v1/compare", s.handleCompare)
	api.HandleFunc("GET /api/v1/templates", s.handleListTemplates)
	api.HandleFunc("GET /api/v1/templates/{name}", s.handleGetTemplate)
	api.HandleFunc("PUT /api/v1/templates/{name}", s.handlePutTemplate)
	api.HandleFunc("DELETE /api/v1/templates/{name}", s.handleDeleteTemplate)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("/api/", s.requireToken(jsonErrors(api)))
	mux.Handle("GET /metrics", s.requireToken(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	mux.HandleFunc("POST /login", s.handleLogin)
	mux.HandleFunc("POST /logout", s.handleLogout)
	mux.Handle("/", s.uiHandler()) // GET only (its own check): a method-less "/" keeps "/api/" the more specific
	return s.guard(mux)
}

// CreateRunRequest is POST /api/v1/runs' body: a template, given inline
// (SpecYAML) or by the name it is saved under (Template), and overrides
// of its settings.
type CreateRunRequest struct {
	SpecYAML string `json:"spec_yaml,omitempty"`
	Template string `json:"template,omitempty"`
	unistore.Overrides
}

// CreateRunResponse is POST /api/v1/runs' answer (201).
type CreateRunResponse struct {
	RunID string `json:"run_id"`
}

func (s *Server) handleCreateRun(w http.ResponseWriter, r *http.Request) {
	var req CreateRunRequest
	if !decodeBody(w, r, &req) {
		return
	}
	var (
		t   *unistore.Template
		err error
	)
	switch {
	case req.SpecYAML != "" && req.Template == "":
		t, err = unistore.ReadTemplate("spec_yaml", []byte(req.SpecYAML))
	case req.Template != "" && req.SpecYAML == "":
		t, err = unistore.LoadSavedTemplate(r.Context(), s.cfg.Store, req.Template)
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("no saved template %q", req.Template))
			return
		}
	default:
		writeError(w, http.StatusBadRequest, `give one of "spec_yaml" (a template's YAML) or "template" (a saved template's name)`)
		return
	}
	if err != nil {
		s.badSpec(w, r, err)
		return
	}
	spec, err := unistore.SpecFrom(t, req.Overrides, overrideLabel)
	if err != nil {
		s.badSpec(w, r, err)
		return
	}
	id, err := s.startRun(spec, req.Template)
	switch {
	case err == nil:
		w.Header().Set("Location", "/api/v1/runs/"+id)
		writeJSON(w, http.StatusCreated, CreateRunResponse{RunID: id})
	case errors.Is(err, errClosing):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, core.ErrInvalidSpec), errors.Is(err, driver.ErrUnknownDriver):
		s.badSpec(w, r, t.Locate(err))
	default:
		// The target refused the run before any load: unreachable, a
		// statement that does not prepare, a missing table.
		writeError(w, http.StatusUnprocessableEntity, scrub(err.Error()))
	}
}

// SpecError is a 400's body for a template that does not check: the
// message the CLI prints, one line per problem — an override's named as
// `override NAME: message` where the CLI says `--NAME: message`, the
// template's as FILE:LINE:COL: FIELD: message with FILE "spec_yaml" or
// "template NAME" — and the template's problems with their places.
type SpecError struct {
	Error    string        `json:"error"`
	Problems []SpecProblem `json:"problems,omitempty"`
}

// SpecProblem is one problem of a template: its place (0 if unknown) and
// field path.
type SpecProblem struct {
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// overrideLabel names an override in messages, as "--NAME" names a flag
// in the CLI's.
func overrideLabel(name string) string { return "override " + name }

func (s *Server) badSpec(w http.ResponseWriter, r *http.Request, err error) {
	body := SpecError{Error: scrub(err.Error())}
	te, _ := err.(*workload.Error)
	if se, ok := err.(*unistore.SpecError); ok {
		te = se.Located
	}
	if te != nil {
		for _, p := range te.Problems {
			body.Problems = append(body.Problems, SpecProblem{Line: p.Line, Col: p.Col, Field: p.Path, Message: scrub(p.Msg)})
		}
	}
	writeJSON(w, http.StatusBadRequest, body)
}

func (s *Server) handleListRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := unistore.RunFilter{Limit: DefaultRunsLimit}
	if v := q.Get("status"); v != "" {
		st := core.Status(strings.ToUpper(v))
		if !knownStatus(st) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("status %q: want one of %s", v, statusList()))
			return
		}
		f.Status = st
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want a count, 0 for all", v))
			return
		}
		f.Limit = n
	}
	f.Enrichment = q.Get("enrichment")
	runs, err := unistore.Runs(r.Context(), s.cfg.Store, f)
	if errors.Is(err, unistore.ErrBadFilter) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, runs)
}

var statuses = []core.Status{core.StatusPrepared, core.StatusRunning, core.StatusStopping,
	core.StatusCompleted, core.StatusFailed, core.StatusCancelled}

func knownStatus(st core.Status) bool {
	for _, k := range statuses {
		if k == st {
			return true
		}
	}
	return false
}

func statusList() string {
	var b []string
	for _, k := range statuses {
		b = append(b, string(k))
	}
	return strings.Join(b, ", ")
}

func (s *Server) handleShowRun(w http.ResponseWriter, r *http.Request) {
	res, err := unistore.Show(r.Context(), s.cfg.Store, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleIntervals(w http.ResponseWriter, r *http.Request) {
	width := time.Second
	if v := r.URL.Query().Get("width"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("width %q: want a positive duration like 1s", v))
			return
		}
		width = d
	}
	ivs, err := unistore.Intervals(r.Context(), s.cfg.Store, r.PathValue("id"), width)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ivs == nil {
		ivs = []unistore.Interval{}
	}
	writeJSON(w, http.StatusOK, ivs)
}

var exportTypes = map[string]string{"hdr": "text/plain; charset=utf-8", "csv": "text/csv; charset=utf-8", "json": "application/json"}

func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "hdr" // the CLI's default
	}
	ct, ok := exportTypes[format]
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("format %q: want hdr, csv or json", format))
		return
	}
	phase := r.URL.Query().Get("phase")
	if phase == "" {
		phase = unistore.ExportMeasurement // the CLI's default
	}
	if phase != unistore.ExportMeasurement && phase != unistore.ExportAll {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("phase %q: want measurement or all", phase))
		return
	}
	// Whole, then sent: an error half-way must still be an error status.
	var buf bytes.Buffer
	if err := unistore.Export(r.Context(), s.cfg.Store, id, format, &buf, unistore.ExportPhase(phase)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": id + "." + format}))
	_, _ = buf.WriteTo(w)
}

// ControlResponse is the answer (202) to stop and scale: the request is
// in the run's control events; the run acts on it within a poll.
type ControlResponse struct {
	RunID       string      `json:"run_id"`
	Status      core.Status `json:"status,omitempty"`
	Connections int         `json:"connections,omitempty"`
}

// liveStored returns the run's row if it exists and has not finished,
// having answered 404 or 409 otherwise.
func (s *Server) liveStored(w http.ResponseWriter, r *http.Request, id string) bool {
	run, err := s.cfg.Store.GetRun(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	if run.Status.Terminal() {
		writeError(w, http.StatusConflict, fmt.Sprintf("run %s is already %s", id, run.Status))
		return false
	}
	return true
}

func (s *Server) handleStop(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !s.liveStored(w, r, id) {
		return
	}
	if lr := s.run(id); lr != nil {
		lr.stop()
	} else if err := unistore.Stop(r.Context(), s.cfg.Store, id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("httpapi: stop requested", "run_id", id)
	writeJSON(w, http.StatusAccepted, ControlResponse{RunID: id, Status: core.StatusStopping})
}

// ScaleRequest is POST /api/v1/runs/{id}/scale's body.
type ScaleRequest struct {
	Connections int   `json:"connections"`
	Groups      []int `json:"groups,omitempty"`
}

func (s *Server) handleScale(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req ScaleRequest
	if !decodeBody(w, r, &req) || !s.liveStored(w, r, id) {
		return
	}
	if err := unistore.Scale(r.Context(), s.cfg.Store, id, req.Connections, req.Groups...); errors.Is(err, unistore.ErrOrchestratorLost) {
		s.fail(w, r, err)
		return
	} else if err != nil {
		// The run exists and goes on: what is left is a bad count or group.
		writeError(w, http.StatusBadRequest, scrub(err.Error()))
		return
	}
	s.log.Info("httpapi: scale requested", "run_id", id, "connections", req.Connections, "groups", req.Groups)
	writeJSON(w, http.StatusAccepted, ControlResponse{RunID: id, Connections: req.Connections})
}

// EnrichRequest is POST /api/v1/runs/{id}/enrich's body, which may be
// empty: Target is the run's target DSN with its secret, for a target
// the stored (redacted) DSN cannot reach. It is used for the request
// only: never stored, logged or answered.
type EnrichRequest struct {
	Target string `json:"target,omitempty"`
}

// EnrichResponse is what `runs enrich --json` prints: the run's cost and
// server sections as stored after the enrichment, each with its status
// (PENDING, COMPLETED, SKIPPED, FAILED) and reason.
type EnrichResponse struct {
	RunID  string            `json:"run_id"`
	Cost   *core.CostStats   `json:"cost"`
	Server *core.ServerStats `json:"server"`
}

func (s *Server) handleEnrich(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req EnrichRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "body: "+scrub(err.Error()))
		return
	}
	run, err := s.cfg.Store.GetRun(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !run.Status.Terminal() {
		writeError(w, http.StatusConflict, fmt.Sprintf("run %s is %s: enrich reads a finished run", id, run.Status))
		return
	}
	res, err := unistore.Enrich(r.Context(), s.cfg.Store, id, req.Target)
	if err != nil && res == nil {
		s.fail(w, r, err)
		return
	}
	// A target that could not be read is recorded FAILED with its reason
	// (in the answer too): the request itself succeeded.
	s.log.Info("httpapi: enrich", "run_id", id, "err", scrubErr(err))
	writeJSON(w, http.StatusOK, EnrichResponse{RunID: id, Cost: res.Cost, Server: res.Server})
}

// scrubErr is err's text without secrets ("" for nil).
func scrubErr(err error) string {
	if err == nil {
		return ""
	}
	return scrub(err.Error())
}

func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request) {
	var ids []string
	for _, id := range strings.Split(r.URL.Query().Get("runs"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	rs, err := unistore.CompareRuns(r.Context(), s.cfg.Store, ids...)
	var cerr *unistore.CompareCountError
	if errors.As(err, &cerr) {
		writeError(w, http.StatusBadRequest, err.Error()+": runs=A,B[,C…]")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rs)
}

func (s *Server) handleListTemplates(w http.ResponseWriter, r *http.Request) {
	ts, err := unistore.TemplateList(r.Context(), s.cfg.Store)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ts)
}

func (s *Server) handleGetTemplate(w http.ResponseWriter, r *http.Request) {
	t, err := unistore.GetTemplate(r.Context(), s.cfg.Store, r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Scrubbed: a template saved by other means (`unistore templates
	// save`) may hold a DSN with its password.
	writeJSON(w, http.StatusOK, unistore.TemplateInfo{Name: t.Name, Version: t.Version, CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt, Body: scrub(t.Body)})
}

// PutTemplateRequest is PUT /api/v1/templates/{name}'s JSON body; a body
// sent as application/yaml is the template itself.
type PutTemplateRequest struct {
	SpecYAML string `json:"spec_yaml"`
}

func (s *Server) handlePutTemplate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var body []byte
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); strings.Contains(ct, "yaml") {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeError(w, http.StatusBadRequest, "body: "+err.Error())
			return
		}
		body = b
	} else {
		var req PutTemplateRequest
		if !decodeBody(w, r, &req) {
			return
		}
		body = []byte(req.SpecYAML)
	}
	// A secret is never stored: SaveTemplate strips one from target.dsn,
	// saves the rest and says so (ErrSecretStripped), which the answer
	// passes on as a warning.
	t, err := unistore.SaveTemplate(r.Context(), s.cfg.Store, "template "+name, name, body)
	var warning string
	switch {
	case errors.Is(err, unistore.ErrSecretStripped):
		warning = "the password in target.dsn was not stored: give the full DSN as a run's \"target\" override, or the password in the workers' environment"
	case errors.Is(err, core.ErrInvalidSpec):
		s.badSpec(w, r, err)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, PutTemplateResponse{TemplateInfo: unistore.TemplateInfo{Name: t.Name, Version: t.Version,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}, Warning: warning})
}

// PutTemplateResponse is PUT /api/v1/templates/{name}'s answer: the saved
// template, and a warning when a secret was left out of it.
type PutTemplateResponse struct {
	unistore.TemplateInfo
	Warning string `json:"warning,omitempty"`
}

func (s *Server) handleDeleteTemplate(w http.ResponseWriter, r *http.Request) {
	if err := unistore.DeleteTemplate(r.Context(), s.cfg.Store, r.PathValue("name")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// fail answers err: 404 for a run or template that does not exist, 400
// for invalid input, 500 (logged) for the rest. The message is scrubbed
// of secrets either way.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	msg := scrub(err.Error())
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, msg)
	case errors.Is(err, core.ErrInvalidSpec):
		writeError(w, http.StatusBadRequest, msg)
	case errors.Is(err, unistore.ErrOrchestratorLost):
		// Stop or scale on a run whose orchestrator is gone: marked
		// FAILED on the way, so it has ended, as for any ended run.
		writeError(w, http.StatusConflict, msg)
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
	default:
		s.log.Error("httpapi: request failed", "method", r.Method, "path", r.URL.Path, "err", msg)
		writeError(w, http.StatusInternalServerError, msg)
	}
}

// decodeBody decodes a JSON body into v, answering 400 on an error (an
// unknown field included: a misspelt override must not pass silently).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}

// ErrorBody is every error's body.
type ErrorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, ErrorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// jsonErrors turns the plain-text errors http.ServeMux writes itself (404
// for no such endpoint, 405 for a method a path does not take) into JSON
// ones.
func jsonErrors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&jsonErrorWriter{ResponseWriter: w}, r)
	})
}

type jsonErrorWriter struct {
	http.ResponseWriter
	swallow bool
}

func (j *jsonErrorWriter) WriteHeader(code int) {
	if code >= 400 && strings.HasPrefix(j.Header().Get("Content-Type"), "text/plain") {
		j.swallow = true
		j.Header().Del("X-Content-Type-Options")
		writeError(j.ResponseWriter, code, http.StatusText(code))
		return
	}
	j.ResponseWriter.WriteHeader(code)
}

func (j *jsonErrorWriter) Write(b []byte) (int, error) {
	if j.swallow {
		return len(b), nil
	}
	return j.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (and the WebSocket upgrade, through
// it) reach the connection.
func (j *jsonErrorWriter) Unwrap() http.ResponseWriter { return j.ResponseWriter }
