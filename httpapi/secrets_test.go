package httpapi_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/testpg"
)

// TestNoPasswordAnywhere: a run against a target whose DSN holds a
// password — PostgreSQL, which the test server accepts with any password —
// never shows it: not in the API's answers, the live stream, /metrics,
// the pages, or the log.
func TestNoPasswordAnywhere(t *testing.T) {
	const password = "s3cret-Pw-9f2c"
	u, err := url.Parse(testpg.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), password)
	target := u.String()

	e := newEnv(t, "")
	yaml := `name: secret-test
connections: 2
warmup: 0s
duration: 30s
rate: 500
workload:
  operations:
    - name: one
      sql: SELECT 1 + ?
      params:
        - {gen: uniform, min: 1, max: 10}
`
	var seen []string
	check := func(what string, b []byte) {
		t.Helper()
		seen = append(seen, what)
		if strings.Contains(string(b), password) {
			t.Errorf("%s holds the password:\n%s", what, b)
		}
	}
	// A template holding the password is saved without it, and the
	// answer says so.
	withPW := strings.Replace(yaml, "name: secret-test", "name: secret-test\ntarget: {dsn: '"+target+"'}", 1)
	resp, b := e.do("PUT", "/api/v1/templates/secret", map[string]string{"spec_yaml": withPW})
	check("PUT template", b)
	e.want(resp, b, 200)
	if !strings.Contains(string(b), `"warning":"the password in target.dsn was not stored`) {
		t.Errorf("PUT of a template with a password: %s, want a warning", b)
	}
	resp, b = e.do("POST", "/api/v1/runs", map[string]any{"spec_yaml": yaml, "target": target})
	check("POST run", b)
	e.want(resp, b, 201)
	id := e.startRun(map[string]any{"spec_yaml": yaml, "target": target})
	e.waitRun(id, 20*time.Second, func(r *unistore.Result) bool { return r.Total.Count > 0 })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws, _, err := e.dial(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_, b, err = ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("live progress", b)

	for _, p := range []string{"/api/v1/runs", "/api/v1/runs/" + id, "/api/v1/runs/" + id + "/intervals", "/metrics", "/",
		"/ui/app.js", "/api/v1/templates", "/api/v1/templates/secret"} {
		_, b := e.do("GET", p, nil)
		check("GET "+p, b)
	}
	resp, b = e.do("POST", "/api/v1/runs/"+id+"/stop", nil)
	check("stop", b)
	res := e.waitRun(id, 20*time.Second, terminal)
	if res.Status != core.StatusCancelled || !strings.Contains(res.Target, "xxxxx") {
		t.Errorf("stopped run: %s, target %q (want it redacted, not dropped)", res.Status, res.Target)
	}
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			break
		}
		check("live message", b)
	}
	for _, f := range unistore.ExportFormats {
		_, b := e.do("GET", "/api/v1/runs/"+id+"/export?format="+f, nil)
		check("export "+f, b)
	}
	_, b = e.do("GET", "/api/v1/compare?runs="+id+","+id, nil)
	check("compare", b)
	// The run the template started from the API.
	resp, b = e.do("POST", "/api/v1/runs", map[string]any{"template": "secret", "duration": "1s"})
	check("POST run from template", b)
	check("log", []byte(e.log.String()))
	if len(seen) < 15 {
		t.Errorf("checked only %v", seen)
	}
}
