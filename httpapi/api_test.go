package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/httpapi"
	"github.com/unistore-bench/unistore/store"
)

func TestHealthz(t *testing.T) {
	e := newEnv(t, "")
	resp, b := e.do("GET", "/healthz", nil)
	e.want(resp, b, http.StatusOK)
	if strings.TrimSpace(string(b)) != `{"status":"ok"}` {
		t.Errorf("healthz: %s", b)
	}
}

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr  string
		token bool
		ok    bool
	}{
		{"127.0.0.1:8080", false, true},
		{"localhost:8080", false, true},
		{"[::1]:8080", false, true},
		{"127.0.0.2:8080", false, true},
		{":8080", false, false},
		{"0.0.0.0:8080", false, false},
		{"10.1.2.3:8080", false, false},
		{"example.com:8080", false, false},
		{"0.0.0.0:8080", true, true},
		{"nonsense", false, false},
	} {
		err := httpapi.CheckListen(c.addr, c.token)
		if (err == nil) != c.ok {
			t.Errorf("CheckListen(%q, token %v) = %v, want ok %v", c.addr, c.token, err, c.ok)
		}
	}
}

// TestAuth: with a token, /api/* and /metrics need it (Bearer, or the
// cookie /?token= and the login form set); /healthz and the page do not.
func TestAuth(t *testing.T) {
	const token = "t0ken-for-tests"
	e := newEnv(t, token)
	get := func(path string, hdr ...string) int {
		req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		path string
		hdr  []string
		want int
	}{
		{"/api/v1/runs", nil, 401},
		{"/api/v1/runs", []string{"Authorization", "Bearer wrong"}, 401},
		{"/api/v1/runs", []string{"Authorization", "Basic " + token}, 401},
		{"/api/v1/runs", []string{"Authorization", "Bearer " + token}, 200},
		{"/api/v1/runs", []string{"Authorization", "bearer " + token}, 200},
		{"/api/v1/templates", nil, 401},
		{"/api/v1/nothing-here", nil, 401},
		{"/metrics", nil, 401},
		{"/metrics", []string{"Authorization", "Bearer " + token}, 200},
		{"/api/v1/runs?token=" + token, nil, 401}, // ?token= is for the WebSocket only
		{"/api/v1/runs", []string{"Cookie", "unistore_session=" + token}, 401},
		{"/healthz", nil, 200},
		{"/", nil, 200},
		{"/ui/app.js", nil, 200},
	} {
		if got := get(c.path, c.hdr...); got != c.want {
			t.Errorf("GET %s %v: %d, want %d", c.path, c.hdr, got, c.want)
		}
	}
	// A 401 is JSON and says what to send.
	resp, b := (&env{t: t, ts: e.ts}).do("GET", "/api/v1/runs", nil)
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(string(b), `"error"`) {
		t.Errorf("401: %d %v %s", resp.StatusCode, resp.Header, b)
	}

	// /?token= sets the session cookie and drops the token from the URL.
	resp, err := noRedirect.Get(e.ts.URL + "/?token=" + url.QueryEscape(token))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("/?token=: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := sessionCookie(t, resp)
	if got := get("/api/v1/runs", "Cookie", cookie.Name+"="+cookie.Value); got != 200 {
		t.Errorf("with the session cookie: %d", got)
	}
	if strings.Contains(cookie.Value, token) {
		t.Error("the cookie holds the token itself")
	}

	// A wrong token sets nothing.
	resp, err = noRedirect.Get(e.ts.URL + "/?token=wrong")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) != 0 || !strings.Contains(resp.Header.Get("Location"), "login=failed") {
		t.Errorf("/?token=wrong: cookies %v, location %q", resp.Cookies(), resp.Header.Get("Location"))
	}

	// The login form.
	resp, err = noRedirect.PostForm(e.ts.URL+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := sessionCookie(t, resp); c.Value != cookie.Value {
		t.Errorf("login form cookie %q, want %q", c.Value, cookie.Value)
	}
	resp, err = noRedirect.PostForm(e.ts.URL+"/login", url.Values{"token": {"nope"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) != 0 {
		t.Errorf("a wrong login set %v", resp.Cookies())
	}
	if strings.Contains(e.log.String(), token) {
		t.Error("the token is in the log")
	}
}

func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "unistore_session" {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
			}
			return c
		}
	}
	t.Fatalf("no session cookie in %v", resp.Cookies())
	return nil
}

// TestGuard: without a token only loopback host names are answered, and
// a change from another origin is refused either way.
func TestGuard(t *testing.T) {
	e := newEnv(t, "")
	resp, b := e.do("GET", "/api/v1/runs", nil, "Host", "rebound.example.com")
	e.want(resp, b, http.StatusForbidden)
	resp, b = e.do("GET", "/api/v1/runs", nil, "Host", "localhost")
	e.want(resp, b, http.StatusOK)
	resp, b = e.do("POST", "/api/v1/runs", map[string]any{"spec_yaml": testYAML}, "Origin", "http://evil.example.com")
	e.want(resp, b, http.StatusForbidden)
	resp, b = e.do("PUT", "/api/v1/templates/x", map[string]any{"spec_yaml": testYAML}, "Origin", e.ts.URL)
	e.want(resp, b, http.StatusOK)
}

// TestBadSpec: a template that does not check is a 400 carrying the
// message the CLI prints for the same file, problem by problem.
func TestBadSpec(t *testing.T) {
	e := newEnv(t, "")
	for _, c := range []struct {
		name, yaml string
		over       map[string]any
		field      string
	}{
		{"validation", strings.Replace(testYAML, "connections: 2", "connections: -3", 1), nil, "connections"},
		{"override", testYAML, map[string]any{"capture": "sometimes"}, ""}, // named as the override, not in the file
		{"workload", strings.Replace(testYAML, "gen: uniform, min: 1, max: 1000}\n    - name: bump", "gen: unifrom, min: 1, max: 1000}\n    - name: bump", 1), nil, "workload.operations[0].params[0].gen"},
		{"syntax", "name: [unclosed\n", nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			body := map[string]any{"spec_yaml": c.yaml, "target": e.target}
			for k, v := range c.over {
				body[k] = v
			}
			resp, b := e.do("POST", "/api/v1/runs", body)
			e.want(resp, b, http.StatusBadRequest)
			var got httpapi.SpecError
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			// What the CLI says for the same template as a file.
			path := filepath.Join(t.TempDir(), "t.yaml")
			if err := os.WriteFile(path, []byte(c.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			var cliErr error
			tpl, err := unistore.LoadTemplate(path)
			if err == nil {
				over := unistore.Overrides{Target: &e.target}
				if v, ok := c.over["capture"].(string); ok {
					over.Capture = &v
				}
				_, err = unistore.SpecFrom(tpl, over, func(flag string) string { return "--" + flag })
			}
			cliErr = err
			if cliErr == nil {
				t.Fatal("the CLI path accepts the template")
			}
			// The CLI names the file and its flags; the API its field and
			// overrides.
			want := strings.ReplaceAll(cliErr.Error(), path, "spec_yaml")
			want = strings.ReplaceAll(want, "--capture:", "override capture:")
			if got.Error != want {
				t.Errorf("error\n%s\nwant the CLI's\n%s", got.Error, want)
			}
			if c.over != nil && !strings.HasPrefix(got.Error, "override capture: ") {
				t.Errorf("error %q: want it to name the override", got.Error)
			}
			if c.field != "" {
				found := false
				for _, p := range got.Problems {
					found = found || (p.Field == c.field && p.Line > 0)
				}
				if !found {
					t.Errorf("no located problem for %s in %+v", c.field, got.Problems)
				}
			}
		})
	}
	for _, c := range []struct {
		name string
		body any
		code int
	}{
		{"neither", map[string]any{"connections": 2}, 400},
		{"both", map[string]any{"spec_yaml": testYAML, "template": "x"}, 400},
		{"unknown template", map[string]any{"template": "nope"}, 400},
		{"unknown field", map[string]any{"spec_yaml": testYAML, "conections": 2}, 400},
		{"not json", "{", 400},
		{"unknown driver", map[string]any{"spec_yaml": testYAML, "target": "mysql://root@localhost/db"}, 400},
		{"unreachable target", map[string]any{"spec_yaml": testYAML, "target": "postgres://u:s3cret-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"}, 422},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			resp, b := e.do("POST", "/api/v1/runs", c.body)
			e.want(resp, b, c.code)
			var eb httpapi.ErrorBody
			if err := json.Unmarshal(b, &eb); err != nil || eb.Error == "" {
				t.Errorf("body %s: want {\"error\": …}", b)
			}
			if strings.Contains(string(b), "s3cret") {
				t.Errorf("password in the response: %s", b)
			}
		})
	}
	if strings.Contains(e.log.String(), "s3cret") {
		t.Errorf("password in the log:\n%s", e.log)
	}
	// No run was recorded for any of them.
	if runs, err := unistore.Runs(context.Background(), e.st, unistore.RunFilter{}); err != nil || len(runs) != 0 {
		t.Errorf("runs after bad input: %v %v", runs, err)
	}
}

// TestUnknown404: every endpoint naming a run or template that does not
// exist answers 404 in JSON.
func TestUnknown404(t *testing.T) {
	e := newEnv(t, "")
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/runs/nope"},
		{"GET", "/api/v1/runs/nope/intervals"},
		{"GET", "/api/v1/runs/nope/export?format=csv"},
		{"POST", "/api/v1/runs/nope/stop"},
		{"GET", "/api/v1/runs/nope/live"},
		{"GET", "/api/v1/compare?runs=nope,nada"},
		{"GET", "/api/v1/templates/nope"},
		{"DELETE", "/api/v1/templates/nope"},
		{"GET", "/api/v1/no-such-endpoint"},
	} {
		resp, b := e.do(c.method, c.path, nil)
		var eb httpapi.ErrorBody
		if resp.StatusCode != http.StatusNotFound || json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			t.Errorf("%s %s: %d %s, want 404 {\"error\": …}", c.method, c.path, resp.StatusCode, b)
		}
	}
	resp, b := e.do("POST", "/api/v1/runs/nope/scale", map[string]int{"connections": 2})
	e.want(resp, b, http.StatusNotFound)
	resp, b = e.do("DELETE", "/api/v1/runs", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || !strings.HasPrefix(string(b), `{"error"`) {
		t.Errorf("DELETE /api/v1/runs: %d %s, want a JSON 405", resp.StatusCode, b)
	}
	for _, p := range []string{"/api/v1/runs?status=BOGUS", "/api/v1/runs?limit=-1", "/api/v1/compare?runs=one"} {
		resp, b := e.do("GET", p, nil)
		e.want(resp, b, http.StatusBadRequest)
	}
}

// TestRunShapes: a run started through the API, once finished, reads the
// same through every endpoint as through the library the CLI calls, byte
// for byte: list, show, intervals, export, compare.
func TestRunShapes(t *testing.T) {
	e := newEnv(t, "")
	a := e.startRun(nil)
	b := e.startRun(map[string]any{"connections": 1, "duration": "1s"})
	for _, id := range []string{a, b} {
		r := e.waitRun(id, 30*time.Second, terminal)
		if r.Status != core.StatusCompleted || r.Total.Count == 0 {
			t.Fatalf("run %s: %s with %d operations", id, r.Status, r.Total.Count)
		}
	}
	ctx := context.Background()
	same := func(path string, want any) {
		t.Helper()
		resp, got := e.do("GET", path, nil)
		e.want(resp, got, http.StatusOK)
		w, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.TrimSpace(got), w) {
			t.Errorf("GET %s:\n%s\nwant\n%s", path, got, w)
		}
	}
	runs, err := unistore.Runs(ctx, e.st, unistore.RunFilter{Limit: httpapi.DefaultRunsLimit})
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs: %v %v", runs, err)
	}
	same("/api/v1/runs", runs)
	done, _ := unistore.Runs(ctx, e.st, unistore.RunFilter{Status: core.StatusCompleted, Limit: 1})
	same("/api/v1/runs?status=completed&limit=1", done)
	res, _ := unistore.Show(ctx, e.st, a)
	same("/api/v1/runs/"+a, res)
	if res.Connections != 2 || len(res.Operations) != 2 {
		t.Errorf("show: %d connections, %d operations", res.Connections, len(res.Operations))
	}
	ivs, _ := unistore.Intervals(ctx, e.st, a, time.Second)
	same("/api/v1/runs/"+a+"/intervals", ivs)
	ivs2, _ := unistore.Intervals(ctx, e.st, a, 500*time.Millisecond)
	same("/api/v1/runs/"+a+"/intervals?width=500ms", ivs2)
	cmp, _ := unistore.CompareRuns(ctx, e.st, a, b)
	same("/api/v1/compare?runs="+a+","+b, cmp)
	if _, ok := cmp["b"]; !ok {
		t.Errorf("compare keys: %v", cmp)
	}
	for _, f := range unistore.ExportFormats {
		var want bytes.Buffer
		if err := unistore.Export(ctx, e.st, a, f, &want); err != nil {
			t.Fatal(err)
		}
		resp, got := e.do("GET", "/api/v1/runs/"+a+"/export?format="+f, nil)
		e.want(resp, got, http.StatusOK)
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("export %s differs from unistore.Export", f)
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, a+"."+f) {
			t.Errorf("export %s: Content-Disposition %q", f, cd)
		}
	}
	resp, body := e.do("GET", "/api/v1/runs/"+a+"/export?format=xml", nil)
	e.want(resp, body, http.StatusBadRequest)
	// Warm-up's intervals only when asked for, as the CLI's --phase all.
	var all bytes.Buffer
	if err := unistore.Export(ctx, e.st, a, "hdr", &all, unistore.ExportPhase(unistore.ExportAll)); err != nil {
		t.Fatal(err)
	}
	resp, body = e.do("GET", "/api/v1/runs/"+a+"/export?format=hdr&phase=all", nil)
	e.want(resp, body, http.StatusOK)
	if !bytes.Equal(body, all.Bytes()) {
		t.Errorf("export ?phase=all differs from unistore.Export with ExportAll")
	}
	resp, body = e.do("GET", "/api/v1/runs/"+a+"/export?format=hdr&phase=cooldown", nil)
	e.want(resp, body, http.StatusBadRequest)
	// A finished run cannot be stopped or scaled.
	resp, body = e.do("POST", "/api/v1/runs/"+a+"/stop", nil)
	e.want(resp, body, http.StatusConflict)
}

// TestStopScale: a run started from the API scales and stops live, and
// ends CANCELLED with its summary.
func TestStopScale(t *testing.T) {
	e := newEnv(t, "")
	id := e.startRun(map[string]any{"duration": "60s"})
	e.waitRun(id, 20*time.Second, func(r *unistore.Result) bool { return r.Total.Count > 0 })
	resp, b := e.do("POST", "/api/v1/runs/"+id+"/scale", map[string]int{"connections": 0})
	e.want(resp, b, http.StatusBadRequest)
	resp, b = e.do("POST", "/api/v1/runs/"+id+"/scale", map[string]int{"connections": 3})
	e.want(resp, b, http.StatusAccepted)
	resp, b = e.do("POST", "/api/v1/runs/"+id+"/stop", nil)
	e.want(resp, b, http.StatusAccepted)
	r := e.waitRun(id, 20*time.Second, terminal)
	if r.Status != core.StatusCancelled || r.Total.Count == 0 {
		t.Errorf("stopped run: %s with %d operations, want CANCELLED with a summary", r.Status, r.Total.Count)
	}
	if r.EndedAt.Sub(r.StartedAt) > 30*time.Second {
		t.Errorf("the run went on for %s after a stop", r.EndedAt.Sub(r.StartedAt))
	}
}

// TestShutdownCancelsRuns: Shutdown stops every run the server drives;
// each ends CANCELLED with its result stored.
func TestShutdownCancelsRuns(t *testing.T) {
	e := newEnv(t, "")
	ids := []string{e.startRun(map[string]any{"duration": "60s"}), e.startRun(map[string]any{"duration": "60s", "connections": 1})}
	for _, id := range ids {
		e.waitRun(id, 20*time.Second, func(r *unistore.Result) bool { return r.Total.Count > 0 })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		r, err := unistore.Show(ctx, e.st, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != core.StatusCancelled || r.Total.Count == 0 {
			t.Errorf("run %s after shutdown: %s with %d operations", id, r.Status, r.Total.Count)
		}
	}
	resp, b := e.do("POST", "/api/v1/runs", map[string]any{"spec_yaml": testYAML, "target": e.target})
	e.want(resp, b, http.StatusServiceUnavailable)
}

func TestTemplates(t *testing.T) {
	e := newEnv(t, "")
	resp, b := e.do("GET", "/api/v1/templates", nil)
	e.want(resp, b, http.StatusOK)
	if strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("no templates: %s", b)
	}
	resp, b = e.do("PUT", "/api/v1/templates/mix", map[string]string{"spec_yaml": testYAML})
	e.want(resp, b, http.StatusOK)
	resp, b = e.do("PUT", "/api/v1/templates/mix", testYAML, "Content-Type", "application/yaml")
	e.want(resp, b, http.StatusOK)
	var info unistore.TemplateInfo
	if err := json.Unmarshal(b, &info); err != nil || info.Version != 2 || info.Name != "mix" {
		t.Errorf("second save: %s", b)
	}
	resp, b = e.do("PUT", "/api/v1/templates/bad", map[string]string{"spec_yaml": "workload: {operations: [{name: x}]}"})
	e.want(resp, b, http.StatusBadRequest)
	if !strings.Contains(string(b), "template bad:") {
		t.Errorf("bad template: %s", b)
	}
	list, _ := unistore.TemplateList(context.Background(), e.st)
	resp, b = e.do("GET", "/api/v1/templates", nil)
	if w, _ := json.Marshal(list); !bytes.Equal(bytes.TrimSpace(b), w) {
		t.Errorf("list %s, want %s", b, w)
	}
	resp, b = e.do("GET", "/api/v1/templates/mix", nil)
	e.want(resp, b, http.StatusOK)
	if err := json.Unmarshal(b, &info); err != nil || info.Body != testYAML {
		t.Errorf("get: %s", b)
	}
	// A run from the saved template, with overrides.
	resp, b = e.do("POST", "/api/v1/runs", map[string]any{"template": "mix", "target": e.target, "duration": "1s"})
	e.want(resp, b, http.StatusCreated)
	var cr httpapi.CreateRunResponse
	_ = json.Unmarshal(b, &cr)
	r := e.waitRun(cr.RunID, 30*time.Second, terminal)
	if r.Status != core.StatusCompleted || r.Name != "api-test" {
		t.Errorf("run from template: %s %q", r.Status, r.Name)
	}
	runs, _ := unistore.Runs(context.Background(), e.st, unistore.RunFilter{})
	if len(runs) != 1 || runs[0].Template != "mix" {
		t.Errorf("run's template: %+v", runs)
	}
	resp, b = e.do("DELETE", "/api/v1/templates/mix", nil)
	e.want(resp, b, http.StatusNoContent)
	resp, b = e.do("GET", "/api/v1/templates/mix", nil)
	e.want(resp, b, http.StatusNotFound)
}

// TestOrchestratorLostAPI: the controller marks a run nobody renewed for
// its lease FAILED (orchestrator lost) as the CLI does: stop and scale
// answer 409 saying so, and the run reads FAILED in the list and alone.
func TestOrchestratorLostAPI(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	spec := core.Spec{Name: "gone", Workers: 1, Connections: 2, Control: core.ControlSpec{Lease: core.Duration(500 * time.Millisecond)}}
	for _, id := range []string{"gone-stop", "gone-scale", "gone-read"} {
		if err := e.st.CreateRun(ctx, store.Run{ID: id, Name: id, Spec: spec, Status: core.StatusRunning}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // the lease lapses: nobody renews these rows
	resp, body := e.do("POST", "/api/v1/runs/gone-stop/stop", nil)
	e.want(resp, body, http.StatusConflict)
	if !strings.Contains(string(body), "marked FAILED (orchestrator lost)") {
		t.Errorf("stop: %s", body)
	}
	resp, body = e.do("POST", "/api/v1/runs/gone-scale/scale", map[string]int{"connections": 3})
	e.want(resp, body, http.StatusConflict)
	resp, body = e.do("GET", "/api/v1/runs/gone-read", nil)
	e.want(resp, body, http.StatusOK)
	var res unistore.Result
	if err := json.Unmarshal(body, &res); err != nil || res.Status != core.StatusFailed || !strings.HasPrefix(res.Error, unistore.OutcomeOrchestratorLost) {
		t.Errorf("GET run: %v, %s", err, body)
	}
	resp, body = e.do("GET", "/api/v1/runs", nil)
	e.want(resp, body, http.StatusOK)
	var list []unistore.RunInfo
	if err := json.Unmarshal(body, &list); err != nil || len(list) != 3 {
		t.Fatalf("GET runs: %v, %s", err, body)
	}
	for _, l := range list {
		if l.Status != core.StatusFailed || !strings.HasPrefix(l.Outcome, unistore.OutcomeOrchestratorLost) {
			t.Errorf("%s: %s %q", l.RunID, l.Status, l.Outcome)
		}
	}
}
