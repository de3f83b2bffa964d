package postgres

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver"
)

// Classify maps a PostgreSQL error to an error class and returns its
// SQLSTATE as the code:
//
//	08xxx, 28xxx, 57P01, 57P02      connection
//	57014, 25P03, 57P05             timeout (query canceled, idle timeouts)
//	40xxx, 55P03                    serialization (incl. deadlock, lock not available)
//	23xxx                           constraint
//	22xxx                           data
//	42xxx                           syntax (incl. undefined table, privilege)
//	53xxx, 54xxx, 57P03             resource
//	anything else                   other
//
// A failed connect (*pgconn.ConnectError) is a connection error even when
// the server refused it with a SQLSTATE (unknown database, bad password).
// Other errors that are not from the server: "safe to
// retry" errors (nothing was sent) and a closed connection are connection
// errors; pgconn timeouts are timeouts; the rest return (ErrOther, "") so
// driver.Classify falls back to driver.ClassifyGeneric.
func Classify(err error) (core.ErrorClass, string) {
	if err == nil {
		return core.ErrNone, ""
	}
	var pe *pgconn.PgError
	isPG := errors.As(err, &pe)
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		// Failing to connect is a connection error whatever the server said
		// (unknown database 3D000, authentication 28P01…); keep its SQLSTATE.
		if isPG {
			return core.ErrConnection, pe.Code
		}
		return core.ErrConnection, ""
	}
	if isPG {
		return classifySQLState(pe.Code), pe.Code
	}
	switch {
	case pgconn.Timeout(err):
		return core.ErrTimeout, ""
	case pgconn.SafeToRetry(err):
		return core.ErrConnection, ""
	case strings.Contains(err.Error(), "conn closed"):
		return core.ErrConnection, ""
	}
	return core.ErrOther, ""
}

func classifySQLState(code string) core.ErrorClass {
	switch code {
	case "57014", "25P03", "57P05":
		return core.ErrTimeout
	case "55P03":
		return core.ErrSerialization
	case "57P01", "57P02":
		return core.ErrConnection
	case "57P03":
		return core.ErrResource
	}
	return driver.ClassifySQLState(code)
}
