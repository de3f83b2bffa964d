//go:build !linux

package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/unistore-bench/unistore/driver"
)

// The epoll engine is Linux-only: resolveEngine never picks it elsewhere,
// so these are never called.

const epollSupported = false

func newEpollEngine(int, bool, bool) (driver.Engine, error) {
	return nil, errors.New("postgres: the epoll engine is only available on Linux")
}

func sockDialer(dial pgconn.DialFunc) pgconn.DialFunc { return dial }
