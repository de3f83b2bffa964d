package snowflake

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/snowflakedb/gosnowflake"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// Snowflake server error numbers Classify knows by number; the rest are
// classified by their SQLSTATE.
const (
	codeSQLCanceled      = 604    // SQL execution canceled
	codeStatementTimeout = 630    // statement reached its statement or warehouse timeout
	codeNotNull          = 100072 // NULL result in a non-nullable column (SQLSTATE 22000)
	codeDuplicateKey     = 200001 // hybrid table: duplicate key value violates unique constraint (SQLSTATE 22000)
	codeSessionExpired   = 390112 // renewed by gosnowflake; seen only if renewal failed
)

// httpStatus finds the status in gosnowflake's retry-exhausted error,
// "timeout after … attempts. HTTP Status: 503. Hanging?", a plain string.
var httpStatus = regexp.MustCompile(`HTTP Status: (\d{3})`)

// Classify maps a Snowflake error to an error class. The code is the
// Snowflake error number as Snowflake prints it ("002003"), or "HTTP 429"
// for an HTTP failure:
//
//	HTTP 429, HTTP 503, a message saying "throttl…"          throttled
//	HTTP 5xx and other HTTP failures, 08xxx, 28xxx,
//	  39xxxx (login, session, token), 26xxxx (driver connect) connection
//	000604, 000630, 57014, a cancelled or expired context     timeout
//	40xxx                                                     serialization
//	23xxx, 100072 (NULL into NOT NULL), 200001 and other
//	  "duplicate key" messages (SQLSTATE 22000)               constraint
//	22xxx (other than 100072)                                 data
//	42xxx (compilation: syntax, missing object, privilege)    syntax
//	53xxx, 54xxx                                              resource
//
// Session expiry (390112) is not an error a loop sees: gosnowflake renews
// the session token and retries the statement. Other errors return
// (ErrOther, "") so driver.Classify falls back to driver.ClassifyGeneric
// (network errors, contexts).
func Classify(err error) (core.ErrorClass, string) {
	if err == nil {
		return core.ErrNone, ""
	}
	var se *gosnowflake.SnowflakeError
	if errors.As(err, &se) {
		return classifySnowflake(se)
	}
	if m := httpStatus.FindStringSubmatch(err.Error()); m != nil {
		st, _ := strconv.Atoi(m[1])
		return classifyHTTP(st), "HTTP " + m[1]
	}
	if isThrottleText(err.Error()) {
		return core.ErrThrottled, ""
	}
	return core.ErrOther, ""
}

func classifyHTTP(status int) core.ErrorClass {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return core.ErrThrottled
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return core.ErrTimeout
	}
	return core.ErrConnection
}

func isThrottleText(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "throttl") || strings.Contains(s, "too many requests")
}

func classifySnowflake(se *gosnowflake.SnowflakeError) (core.ErrorClass, string) {
	code := fmt.Sprintf("%06d", se.Number)
	msg := se.Error()
	if se.Number == gosnowflake.ErrFailedToPostQuery && len(se.MessageArgs) > 0 {
		// A query request answered with an HTTP status other than 200.
		if st, ok := se.MessageArgs[0].(int); ok {
			return classifyHTTP(st), "HTTP " + strconv.Itoa(st)
		}
	}
	if isThrottleText(msg) {
		return core.ErrThrottled, code
	}
	switch se.Number {
	case codeSQLCanceled, codeStatementTimeout:
		return core.ErrTimeout, code
	case codeNotNull, codeDuplicateKey:
		return core.ErrConstraint, code
	case codeSessionExpired, gosnowflake.ErrSessionGone:
		return core.ErrConnection, code
	}
	switch {
	case se.Number >= 390000 && se.Number < 400000: // login, session, token
		return core.ErrConnection, code
	case se.Number >= 260000 && se.Number < 262000: // driver: connect, auth, post, renew
		return core.ErrConnection, code
	}
	// Snowflake reports constraint violations with SQLSTATE 22000, the
	// data-exception class: the message tells them apart.
	if l := strings.ToLower(msg); strings.Contains(l, "duplicate key") || strings.Contains(l, "unique constraint") {
		return core.ErrConstraint, code
	}
	return driver.ClassifySQLState(se.SQLState), code
}
