package emulator_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/emulator"
)

// FuzzQueryRequest feeds arbitrary bodies to the emulator's query-request
// decoding path (JSON body, parameters, positional bindings, SQL
// translation) on a logged-in session, through its http.Handler: whatever
// the body, the emulator answers — a 400 for a body that is not a request,
// else a Snowflake JSON response — and never panics.
func FuzzQueryRequest(f *testing.F) {
	s, err := emulator.Start(emulator.Config{}, "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	if err := s.Exec("CREATE TABLE t (id INT PRIMARY KEY, v STRING)"); err != nil {
		f.Fatal(err)
	}
	base := "http://" + s.Addr()
	login := postF(f, s, base+"/session/v1/login-request?databaseName=app", "", `{"data": {"LOGIN_NAME": "u", "PASSWORD": "p", "ACCOUNT_NAME": "EMULATOR"}}`)
	data, _ := login["data"].(map[string]any)
	token, _ := data["token"].(string)
	if token == "" {
		f.Fatalf("login: %v", login)
	}

	for _, seed := range []string{
		`{"sqlText": "SELECT v FROM t WHERE id = ?", "bindings": {"1": {"type": "FIXED", "value": "1"}}}`,
		`{"sqlText": "INSERT INTO t (id, v) VALUES (?, ?)", "bindings": {"1": {"type": "FIXED", "value": ["1","2"]}, "2": {"type": "TEXT", "value": ["a", null]}}}`,
		`{"sqlText": "SELECT 1", "describeOnly": true, "parameters": {"QUERY_TAG": "unistore:run=x"}}`,
		`{"sqlText": "SELECT ?", "bindings": {"name": {"type": "TEXT", "value": "x"}}}`,
		`{"sqlText": "SELECT ?", "bindings": {"1": {"type": "REAL", "value": "NaN"}}}`,
		`{"sqlText": "SELECT ?", "bindings": {"1": {"type": "TEXT", "value": "a\u0000b"}}}`,
		`{"sqlText": "SELECT ?", "bindings": {"99999999999999999999": {"type": "FIXED", "value": "1"}}}`,
		`{"sqlText": "SELECT ?", "bindings": {"1": {"type": "FIXED", "value": {"nested": true}}}}`,
		`{"sqlText": "` + strings.Repeat("x", 1<<16) + `"}`,
		`{"sqlText": 5}`, `[]`, `null`, ``, "\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/queries/v1/query-request?requestId=f", bytes.NewReader(body))
		req.Header.Set("Authorization", `Snowflake Token="`+token+`"`)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code == http.StatusBadRequest {
			return
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("status %d, not a JSON response: %v\n%.300s", rec.Code, err, rec.Body.String())
		}
		if _, ok := out["success"].(bool); !ok {
			t.Fatalf("response without success: %.300s", rec.Body.String())
		}
	})
}

func postF(f *testing.F, s *emulator.Server, url, token, body string) map[string]any {
	req := httptest.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", `Snowflake Token="`+token+`"`)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		f.Fatalf("%s: %v\n%s", url, err, rec.Body.String())
	}
	return out
}
