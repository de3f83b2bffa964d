package emulator

import (
	"strings"
	"time"
)

// FaultKind names a misbehaviour the emulator can inject.
type FaultKind int

const (
	// Latency sleeps Fault.Latency before running the statement.
	Latency FaultKind = iota + 1
	// HTTPError answers the query-request with HTTP Fault.Status (503 when
	// 0) and does not run it. gosnowflake retries 5xx with backoff.
	HTTPError
	// Throttle answers HTTP 429 Too Many Requests and does not run the
	// statement. gosnowflake retries 429 like 5xx.
	Throttle
	// ExpireSession retires the session token and answers 390112; the
	// driver renews the token (/session/token-request) and retries.
	ExpireSession
	// HangUntilAbort holds the query-request until an abort-request names
	// its request id (or Close), then answers 000604 (canceled).
	HangUntilAbort
)

func (k FaultKind) String() string {
	switch k {
	case Latency:
		return "Latency"
	case HTTPError:
		return "HTTPError"
	case Throttle:
		return "Throttle"
	case ExpireSession:
		return "ExpireSession"
	case HangUntilAbort:
		return "HangUntilAbort"
	}
	return "FaultKind(?)"
}

// Fault is an injected misbehaviour of query-requests.
type Fault struct {
	Kind    FaultKind
	Match   string        // substring of the SQL text it applies to; "" = any query-request
	Count   int           // how many matching requests it hits; 0 = until cleared
	Latency time.Duration // for Latency
	Status  int           // for HTTPError (e.g. 503)
}

type faultState struct {
	Fault
	left int // remaining hits when Count > 0
}

// Inject queues a fault. Faults are tried in the order injected; the first
// one matching a query-request applies to it (one fault per request).
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f, left: f.Count})
}

// ClearFaults removes every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault applying to a query-request with this SQL
// text, consuming one of its hits.
func (s *Server) takeFault(sql string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Match != "" && !strings.Contains(sql, f.Match) {
			continue
		}
		out := f.Fault
		if f.Count > 0 {
			f.left--
			if f.left <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		s.logf("emulator: fault %s applied", out.Kind)
		return &out
	}
	return nil
}
