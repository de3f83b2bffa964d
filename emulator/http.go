package emulator

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// envelope is the body of every Snowflake REST answer.
type envelope struct {
	Data    any  `json:"data"`
	Code    any  `json:"code"`
	Message any  `json:"message"`
	Success bool `json:"success"`
	Headers any  `json:"headers,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func ok(w http.ResponseWriter, data any) {
	writeJSON(w, http.StatusOK, envelope{Data: data, Success: true})
}

func fail(w http.ResponseWriter, e *Error, data any) {
	if data == nil {
		data = map[string]any{"sqlState": e.SQLState}
	}
	writeJSON(w, http.StatusOK, envelope{Data: data, Code: e.Code, Message: e.Message})
}

var (
	errSessionExpired = &Error{Code: "390112", SQLState: "08001", Message: "Your session has expired. Please login again."}
	errMasterExpired  = &Error{Code: "390114", SQLState: "08001", Message: "Authentication token has expired.  The user must authenticate again."}
	errNoToken        = &Error{Code: "390104", SQLState: "08001", Message: "User must login again to access the service."}
)

// ServeHTTP routes the Snowflake REST endpoints gosnowflake uses.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "emulator: only POST is served", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case "/session/v1/login-request":
		s.login(w, r)
	case "/queries/v1/query-request":
		s.queryRequest(w, r)
	case "/queries/v1/abort-request":
		s.abortRequest(w, r)
	case "/session/token-request":
		s.renew(w, r)
	case "/session":
		if r.URL.Query().Get("delete") == "true" {
			s.deleteSession(w, r)
			return
		}
		http.NotFound(w, r)
	case "/session/heartbeat":
		ss, e := s.sessionFor(r)
		s.stats.heartbeats.Add(1)
		req := Request{Time: time.Now(), Kind: "heartbeat", Status: 200}
		if e != nil {
			req.Code = e.Code
			s.record(req)
			fail(w, e, nil)
			return
		}
		req.SessionID, req.User = ss.id, ss.user
		s.record(req)
		ok(w, nil)
	case "/telemetry/send":
		s.stats.telemetry.Add(1)
		req := Request{Time: time.Now(), Kind: "telemetry", Status: 200}
		if ss, e := s.sessionFor(r); e == nil {
			req.SessionID, req.User = ss.id, ss.user
		}
		s.record(req)
		ok(w, nil)
	default:
		http.NotFound(w, r)
	}
}

// bearer extracts the token of an `Authorization: Snowflake Token="…"` header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const p = `Snowflake Token="`
	if !strings.HasPrefix(h, p) || !strings.HasSuffix(h, `"`) {
		return ""
	}
	return h[len(p) : len(h)-1]
}

// sessionFor finds the session of the request's session token: 390112 for
// a token that was valid once (the driver renews), 390104 for none.
func (s *Server) sessionFor(r *http.Request) (*session, *Error) {
	tok := bearer(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, ok := s.tokens[tok]; ok {
		return ss, nil
	}
	if s.retired[tok] {
		return nil, errSessionExpired
	}
	return nil, errNoToken
}

// execRequest is what gosnowflake posts to query-request.
type execRequest struct {
	SQLText      string                     `json:"sqlText"`
	AsyncExec    bool                       `json:"asyncExec"`
	SequenceID   uint64                     `json:"sequenceId"`
	DescribeOnly bool                       `json:"describeOnly"`
	Parameters   map[string]any             `json:"parameters"`
	Bindings     map[string]json.RawMessage `json:"bindings"`
	BindStage    string                     `json:"bindStage"`
}

type bindParam struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
	Fmt   string          `json:"fmt"`
}

// binding is one decoded positional binding: a scalar or an array (array
// binding runs the statement once per element).
type binding struct {
	typ   string
	vals  []*string
	array bool
}

func decodeBindings(raw map[string]json.RawMessage) ([]binding, error) {
	keys := make([]int, 0, len(raw))
	for k := range raw {
		n, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("binding name %q: only positional bindings are emulated", k)
		}
		keys = append(keys, n)
	}
	sort.Ints(keys)
	out := make([]binding, 0, len(keys))
	for _, k := range keys {
		var p bindParam
		if err := json.Unmarshal(raw[strconv.Itoa(k)], &p); err != nil {
			return nil, err
		}
		b := binding{typ: strings.ToUpper(p.Type)}
		v := strings.TrimSpace(string(p.Value))
		switch {
		case v == "" || v == "null":
			b.vals = []*string{nil}
		case strings.HasPrefix(v, "["):
			var arr []*string
			if err := json.Unmarshal(p.Value, &arr); err != nil {
				return nil, fmt.Errorf("binding %d: %w", k, err)
			}
			b.vals, b.array = arr, true
		default:
			var sv string
			if err := json.Unmarshal(p.Value, &sv); err != nil {
				return nil, fmt.Errorf("binding %d: %w", k, err)
			}
			b.vals = []*string{&sv}
		}
		out = append(out, b)
	}
	return out, nil
}

// sqliteArg converts a Snowflake binding value to the SQLite argument.
func sqliteArg(typ string, v *string) any {
	if v == nil {
		return nil
	}
	s := *v
	switch typ {
	case "FIXED":
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	case "REAL":
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	case "BOOLEAN":
		if b, err := strconv.ParseBool(s); err == nil {
			if b {
				return int64(1)
			}
			return int64(0)
		}
	case "TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ":
		ns, _, _ := strings.Cut(s, " ")
		if n, err := strconv.ParseInt(ns, 10, 64); err == nil {
			return time.Unix(0, n).UTC().Format("2006-01-02 15:04:05.999999999")
		}
	case "DATE":
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC().Format("2006-01-02")
		}
	case "TIME":
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(0, n).UTC().Format("15:04:05.999999999")
		}
	case "BINARY":
		if b, err := hex.DecodeString(s); err == nil {
			return b
		}
	}
	return s
}

func bindStrings(bs []binding) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		parts := make([]string, len(b.vals))
		for j, v := range b.vals {
			if v == nil {
				parts[j] = "NULL"
			} else {
				parts[j] = *v
			}
		}
		if b.array {
			out[i] = "[" + strings.Join(parts, ",") + "]"
		} else if len(parts) > 0 {
			out[i] = parts[0]
		}
	}
	return out
}

// queryData is the data of a successful query response.
type queryData struct {
	Parameters         []nameValue `json:"parameters"`
	RowType            []column    `json:"rowtype"`
	RowSet             [][]*string `json:"rowset"`
	Total              int64       `json:"total"`
	Returned           int64       `json:"returned"`
	QueryID            string      `json:"queryId"`
	DatabaseProvider   any         `json:"databaseProvider"`
	FinalDatabaseName  string      `json:"finalDatabaseName"`
	FinalSchemaName    string      `json:"finalSchemaName"`
	FinalWarehouseName string      `json:"finalWarehouseName"`
	FinalRoleName      string      `json:"finalRoleName"`
	NumberOfBinds      int         `json:"numberOfBinds"`
	StatementTypeID    int64       `json:"statementTypeId"`
	Version            int64       `json:"version"`
	QueryResultFormat  string      `json:"queryResultFormat"`
	SendResultTime     int64       `json:"sendResultTime"`
}

type nameValue struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

func newQueryID() string {
	t := newToken("")
	return t[:8] + "-0000-" + t[8:12] + "-0000-" + t[12:24]
}

func (s *Server) queryRequest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	q := r.URL.Query()
	req := Request{Time: start, Kind: "query", Status: 200, RequestID: q.Get("requestId")}
	req.Retry, _ = strconv.Atoi(q.Get("retryCount"))
	defer func() { s.record(req) }()

	var body execRequest
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		req.Status = http.StatusBadRequest
		http.Error(w, "emulator: bad query-request body", http.StatusBadRequest)
		return
	}
	req.SQL, req.DescribeOnly = body.SQLText, body.DescribeOnly
	if tag, okTag := body.Parameters["QUERY_TAG"].(string); okTag {
		req.QueryTag = tag
	}
	binds, berr := decodeBindings(body.Bindings)
	req.Binds = bindStrings(binds)

	ss, e := s.sessionFor(r)
	if ss != nil {
		req.SessionID, req.User = ss.id, ss.user
		if req.QueryTag == "" {
			s.mu.Lock()
			req.QueryTag = ss.params["QUERY_TAG"]
			s.mu.Unlock()
		}
	}

	// Faults come first: a fault stands for the service misbehaving before
	// the statement runs.
	if f := s.takeFault(body.SQLText); f != nil {
		s.stats.faults.Add(1)
		switch f.Kind {
		case Latency:
			t := time.NewTimer(f.Latency)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
			case <-r.Context().Done():
				t.Stop()
			}
		case HTTPError, Throttle:
			status := f.Status
			if f.Kind == Throttle {
				status = http.StatusTooManyRequests
			}
			if status == 0 {
				status = http.StatusServiceUnavailable
			}
			req.Status = status
			http.Error(w, http.StatusText(status), status)
			return
		case ExpireSession:
			if ss != nil {
				s.expire(ss)
				req.Code = errSessionExpired.Code
				fail(w, errSessionExpired, nil)
				return
			}
		case HangUntilAbort:
			if ss != nil && e == nil {
				aborted := s.hang(ss, req.RequestID)
				s.logf("emulator: session %d: hung query released (aborted=%v)", ss.id, aborted)
				req.Code = "000604"
				fail(w, &Error{Code: "000604", SQLState: "57014", Message: "SQL execution canceled"}, nil)
				return
			}
		}
	}
	if e != nil {
		req.Code = e.Code
		fail(w, e, nil)
		return
	}
	if berr != nil {
		e := &Error{Code: "001003", SQLState: "42000", Message: "emulator: " + berr.Error()}
		req.Code = e.Code
		fail(w, e, nil)
		return
	}
	if body.BindStage != "" {
		e := unsupported("array binding through a stage")
		req.Code = e.Code
		fail(w, e, nil)
		return
	}

	qid := newQueryID()
	ss.mu.Lock()
	req.Warehouse = ss.warehouse
	ss.mu.Unlock()
	ran := time.Now()
	res, err := s.runQuery(ss, req.RequestID, body, binds)
	req.Elapsed = time.Since(ran)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Code: "000603", SQLState: "XX000", Message: "SQL execution internal error: " + err.Error()}
		}
		req.Code = e.Code
		s.logf("emulator: session %d: statement failed: %s", ss.id, e.Code)
		fail(w, e, map[string]any{"sqlState": e.SQLState, "queryId": qid})
		return
	}
	ss.mu.Lock()
	data := queryData{
		RowType:            res.columns,
		RowSet:             res.rows,
		Total:              int64(len(res.rows)),
		Returned:           int64(len(res.rows)),
		QueryID:            qid,
		FinalDatabaseName:  ss.db,
		FinalSchemaName:    ss.schema,
		FinalWarehouseName: ss.warehouse,
		FinalRoleName:      ss.role,
		NumberOfBinds:      res.binds,
		StatementTypeID:    res.stmtType,
		Version:            1,
		QueryResultFormat:  "json",
		SendResultTime:     time.Now().UnixMilli(),
	}
	ss.mu.Unlock()
	if data.RowSet == nil {
		data.RowSet = [][]*string{}
	}
	ok(w, data)
}

// runQuery executes a query-request's statement for a session, registered
// as in flight under its request id so abort-request can cancel it.
func (s *Server) runQuery(ss *session, requestID string, body execRequest, binds []binding) (*result, error) {
	stmts := splitStatements(tokenize(body.SQLText))
	if len(stmts) != 1 {
		if len(stmts) == 0 {
			return nil, &Error{Code: "000900", SQLState: "42000", Message: "SQL compilation error:\nEmpty SQL statement."}
		}
		return nil, &Error{Code: "000008", SQLState: "0A000", Message: fmt.Sprintf("Actual statement count %d did not match the desired statement count 1.", len(stmts))}
	}
	if body.DescribeOnly {
		s.stats.describeOnly.Add(1)
	} else {
		s.stats.queries.Add(1)
	}
	if mentionsAccountUsage(stmts[0].toks) {
		if err := s.refreshAccountUsage(); err != nil {
			return nil, err
		}
	}
	// Not the HTTP request's context: as in Snowflake, a statement goes on
	// when the client goes away; abort-request or Close stops it.
	ctx, cancel := context.WithCancel(s.baseCtx)
	defer cancel()
	in := &inflight{session: ss, abort: make(chan struct{}), cancel: cancel}
	s.mu.Lock()
	if requestID != "" {
		s.inflight[requestID] = in
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.inflight[requestID] == in {
			delete(s.inflight, requestID)
		}
		s.mu.Unlock()
	}()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.busy()
	defer ss.rest()
	toks := stmts[0].toks
	if ss.txAborted && !body.DescribeOnly {
		kw := ""
		if st := sig(toks); len(st) > 0 {
			kw = st[0].up()
		}
		switch kw {
		case "ROLLBACK":
			ss.txAborted = false
			return statusResult(stmtTCL, "Statement executed successfully."), nil
		case "COMMIT":
			ss.txAborted = false
		}
		return nil, ss.errTxAborted()
	}
	// Array binding: one execution per element, row counts summed.
	rowsN := 1
	for _, b := range binds {
		if b.array && len(b.vals) > rowsN {
			rowsN = len(b.vals)
		}
	}
	var total *result
	for k := 0; k < rowsN; k++ {
		args := make([]any, len(binds))
		for i, b := range binds {
			var v *string
			if b.array {
				if k < len(b.vals) {
					v = b.vals[k]
				}
			} else {
				v = b.vals[0]
			}
			args[i] = sqliteArg(b.typ, v)
		}
		res, err := s.execute(ctx, ss, toks, args, body.DescribeOnly)
		if err != nil {
			return nil, err
		}
		if total == nil || rowsN == 1 {
			total = res
			continue
		}
		if len(total.rows) == 1 && len(res.rows) == 1 && res.stmtType >= 0x3000 && res.stmtType < 0x4000 {
			for c := range total.rows[0] {
				a, _ := strconv.ParseInt(*total.rows[0][c], 10, 64)
				b, _ := strconv.ParseInt(*res.rows[0][c], 10, 64)
				total.rows[0][c] = str(strconv.FormatInt(a+b, 10))
			}
		}
	}
	return total, nil
}

// inflight is a query-request being served, findable by its request id.
type inflight struct {
	session *session
	abort   chan struct{} // closed by abort-request
	cancel  context.CancelFunc
	aborted bool
}

// hang blocks a query-request until abort-request names its request id or
// the server closes. It reports whether it was aborted.
func (s *Server) hang(ss *session, requestID string) bool {
	in := &inflight{session: ss, abort: make(chan struct{}), cancel: func() {}}
	s.mu.Lock()
	s.inflight[requestID] = in
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.inflight[requestID] == in {
			delete(s.inflight, requestID)
		}
		s.mu.Unlock()
	}()
	select {
	case <-in.abort:
		return true
	case <-s.done:
		return false
	}
}

func (s *Server) abortRequest(w http.ResponseWriter, r *http.Request) {
	s.stats.aborts.Add(1)
	req := Request{Time: time.Now(), Kind: "abort", Status: 200}
	defer func() { s.record(req) }()
	var body struct {
		RequestID string `json:"requestId"`
	}
	json.NewDecoder(r.Body).Decode(&body)
	req.RequestID = body.RequestID
	ss, e := s.sessionFor(r)
	if e != nil {
		req.Code = e.Code
		fail(w, e, nil)
		return
	}
	req.SessionID, req.User = ss.id, ss.user
	s.mu.Lock()
	in, found := s.inflight[body.RequestID]
	if found && in.session == ss && !in.aborted {
		in.aborted = true
		close(in.abort)
		in.cancel()
	} else {
		found = false
	}
	s.mu.Unlock()
	if !found {
		e := &Error{Code: "000605", SQLState: "01000", Message: "Identified SQL statement is not currently executing."}
		req.Code = e.Code
		fail(w, e, nil)
		return
	}
	ok(w, nil)
}

// expire retires a session's token: its next use answers 390112 and the
// driver renews it with the master token.
func (s *Server) expire(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, ss.token)
	s.retired[ss.token] = true
	ss.token = ""
}

func (s *Server) renew(w http.ResponseWriter, r *http.Request) {
	req := Request{Time: time.Now(), Kind: "renew", Status: 200}
	defer func() { s.record(req) }()
	var body struct {
		OldSessionToken string `json:"oldSessionToken"`
		RequestType     string `json:"requestType"`
	}
	json.NewDecoder(r.Body).Decode(&body)
	master := bearer(r)
	s.mu.Lock()
	ss, found := s.masters[master]
	if !found || body.RequestType != "RENEW" {
		s.mu.Unlock()
		e := errMasterExpired
		if !found && !s.retiredMT[master] {
			e = errNoToken
		}
		req.Code = e.Code
		fail(w, e, nil)
		return
	}
	if ss.token != "" {
		delete(s.tokens, ss.token)
		s.retired[ss.token] = true
	}
	ss.token = newToken("ETMsDg")
	s.tokens[ss.token] = ss
	tok := ss.token
	s.mu.Unlock()
	s.stats.renewals.Add(1)
	req.SessionID, req.User = ss.id, ss.user
	s.logf("emulator: session %d: token renewed", ss.id)
	ok(w, map[string]any{
		"sessionToken":        tok,
		"validityInSecondsST": 3600,
		"masterToken":         master,
		"validityInSecondsMT": 14400,
		"sessionId":           ss.id,
	})
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	req := Request{Time: time.Now(), Kind: "delete", Status: 200}
	defer func() { s.record(req) }()
	ss, e := s.sessionFor(r)
	if e != nil {
		req.Code = e.Code
		fail(w, e, nil)
		return
	}
	s.mu.Lock()
	delete(s.tokens, ss.token)
	delete(s.masters, ss.master)
	delete(s.sessions, ss.id)
	s.retired[ss.token] = true
	s.retiredMT[ss.master] = true
	s.mu.Unlock()
	s.stats.deletes.Add(1)
	req.SessionID, req.User = ss.id, ss.user
	ss.close()
	ok(w, nil)
}
