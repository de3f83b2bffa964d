package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
	"github.com/unistore-bench/unistore/store/sqlstore"
)

// Executions are the store's highest-volume rows (capture all stores one
// per query, tens of thousands a second), written in the client process
// that is also generating the load: their encoding is part of the cost
// capture adds to each query. So they skip pgx's CopyFrom, which boxes
// every value into an interface (allocations) and looks up an encode plan
// per value, and are encoded here straight into PostgreSQL's binary COPY
// format — a few appends per column into a reused buffer, no allocation
// per row — and sent with pgconn.CopyFrom. The column types are the
// schema's (sql/schema/postgres): text, integer, timestamptz, boolean,
// bigint; TestExecutions' round trip checks them.

var copyExecutionsSQL = "COPY test_results.query_executions (" + strings.Join(sqlstore.ExecutionColumns, ", ") +
	") FROM STDIN (FORMAT binary)"

// copyBufs holds encoding buffers between flushes (a store may serve the
// writers of several workers at once).
var copyBufs = sync.Pool{New: func() any { return new([]byte) }}

func (b *pgBackend) copyExecutions(ctx context.Context, mark *sqlstore.Mark, rows []store.Execution) error {
	bp := copyBufs.Get().(*[]byte)
	*bp = appendExecutionsCopy((*bp)[:0], rows)
	copyIn := func(pc *pgconn.PgConn) error {
		tag, err := pc.CopyFrom(ctx, bytes.NewReader(*bp), copyExecutionsSQL)
		if err != nil {
			// A failed CopyFrom can return while its goroutine still reads
			// the buffer (a broken connection): the buffer is left to the
			// garbage collector, never handed to the next batch.
			return err
		}
		copyBufs.Put(bp)
		if tag.RowsAffected() != int64(len(rows)) {
			return fmt.Errorf("copy stored %d of %d rows", tag.RowsAffected(), len(rows))
		}
		return nil
	}
	if mark != nil {
		return b.inBatch(ctx, mark, func(tx pgx.Tx) error { return copyIn(tx.Conn().PgConn()) })
	}
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		copyBufs.Put(bp)
		return err
	}
	defer conn.Release()
	return copyIn(conn.Conn().PgConn())
}

// pgEpochMicros is 2000-01-01 00:00:00 UTC, binary timestamptz's zero, in
// Unix microseconds.
const pgEpochMicros = 946_684_800_000_000

// appendExecutionsCopy appends the binary COPY stream of rows (header,
// tuples in ExecutionColumns order, trailer) to b.
func appendExecutionsCopy(b []byte, rows []store.Execution) []byte {
	b = append(b, "PGCOPY\n\xff\r\n\x00"...)
	b = binary.BigEndian.AppendUint32(b, 0) // flags
	b = binary.BigEndian.AppendUint32(b, 0) // header extension length
	for i := range rows {
		r := &rows[i]
		b = binary.BigEndian.AppendUint16(b, uint16(len(sqlstore.ExecutionColumns)))
		b = appendText(b, r.RunID)
		b = appendText(b, r.WorkerID)
		b = appendInt4(b, r.Group)
		b = appendInt4(b, r.Connection)
		b = appendText(b, r.Operation)
		b = appendText(b, string(r.Phase))
		b = appendTime(b, r.IntendedAt)
		b = appendTime(b, r.StartedAt)
		b = appendTime(b, r.EndedAt)
		b = binary.BigEndian.AppendUint32(b, 1)
		if r.OK {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		if r.ErrorClass == core.ErrNone {
			b = appendNull(b)
		} else {
			b = appendText(b, r.ErrorClass.String())
		}
		if r.SQLState == "" {
			b = appendNull(b)
		} else {
			b = appendText(b, r.SQLState)
		}
		b = binary.BigEndian.AppendUint32(b, 8)
		b = binary.BigEndian.AppendUint64(b, uint64(r.RowsAffected))
	}
	return binary.BigEndian.AppendUint16(b, math.MaxUint16) // trailer: -1
}

func appendNull(b []byte) []byte { return binary.BigEndian.AppendUint32(b, math.MaxUint32) } // -1

func appendText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendInt4(b []byte, v int) []byte {
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, uint32(int32(v)))
}

// appendTime appends t at microsecond precision (truncated, as the other
// stores keep it), or NULL for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return appendNull(b)
	}
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixMicro()-pgEpochMicros))
}
