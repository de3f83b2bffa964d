package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore/emulator"
)

// post sends a raw Snowflake REST request, as gosnowflake would.
func post(t *testing.T, url, token string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", `Snowflake Token="`+token+`"`)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRawProtocol(t *testing.T) {
	s := start(t, emulator.Config{})
	if err := s.Exec("CREATE TABLE t (id INT PRIMARY KEY, v STRING)"); err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr()
	q := map[string]any{"sqlText": "SELECT v FROM t WHERE id = ? AND v <> ?", "describeOnly": true}
	if r := post(t, base+"/queries/v1/query-request?requestId=x", "", q); r["success"] != false || r["code"] != "390104" {
		t.Errorf("no token: %v", r)
	}
	login := post(t, base+"/session/v1/login-request?databaseName=app&warehouse=wh1", "", map[string]any{
		"data": map[string]any{"LOGIN_NAME": "u", "PASSWORD": "p", "ACCOUNT_NAME": "EMULATOR",
			"SESSION_PARAMETERS": map[string]any{"QUERY_TAG": "t0"}},
	})
	data := login["data"].(map[string]any)
	info := data["sessionInfo"].(map[string]any)
	if info["databaseName"] != "APP" || info["schemaName"] != "PUBLIC" || info["warehouseName"] != "WH1" {
		t.Errorf("sessionInfo %v", info)
	}
	token := data["token"].(string)
	r := post(t, base+"/queries/v1/query-request?requestId=y", token, map[string]any{"sqlText": "CREATE TABLE t (id INT PRIMARY KEY, v STRING)"})
	if r["success"] != true {
		t.Fatalf("create in APP.PUBLIC: %v", r)
	}
	r = post(t, base+"/queries/v1/query-request?requestId=z", token, q)
	d := r["data"].(map[string]any)
	if d["numberOfBinds"] != 2.0 || d["statementTypeId"] != float64(0x1000) || len(d["rowtype"].([]any)) != 1 {
		t.Errorf("describe: %v", r)
	}
	r = post(t, base+"/queries/v1/abort-request", token, map[string]any{"requestId": "nothing"})
	if r["code"] != "000605" {
		t.Errorf("abort of nothing: %v", r)
	}
	r = post(t, base+"/session?delete=true", token, nil)
	if r["success"] != true {
		t.Errorf("delete: %v", r)
	}
	if r := post(t, base+"/queries/v1/query-request", token, q); r["code"] != "390112" {
		t.Errorf("after delete: %v", r)
	}
	if r := post(t, base+"/session/token-request", data["masterToken"].(string), map[string]any{"requestType": "RENEW"}); r["code"] != "390114" {
		t.Errorf("renew after delete: %v", r)
	}
}

func TestMainServesUntilCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := &syncBuffer{ch: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- emulator.Main(ctx, "127.0.0.1:0", "", nil, out) }()
	select {
	case <-out.ch:
	case <-ctx.Done():
		t.Fatal("no banner")
	}
	line := out.String()
	if !strings.HasPrefix(line, "emulator: Snowflake endpoint on 127.0.0.1:") || !strings.Contains(line, "DSN snowflake://USER:PASSWORD@127.0.0.1:") {
		t.Errorf("banner %q", line)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

type syncBuffer struct {
	ch  chan struct{}
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	n, err := b.buf.Write(p)
	select {
	case b.ch <- struct{}{}:
	default:
	}
	return n, err
}

func (b *syncBuffer) String() string { return b.buf.String() }
