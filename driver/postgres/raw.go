package postgres

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/unistore-bench/unistore/core"
)

// The raw statement mode's wire layer: the messages of one execution of a
// named statement (Bind, Execute, Sync) written into one reused buffer, and
// a reader that walks the server's answer up to ReadyForQuery without
// allocating. The socket I/O is in raw_linux.go.

// rawIO is the raw mode's socket: one blocking write of a whole request and
// reads of what the server sent.
type rawIO interface {
	write(b []byte) error
	read(b []byte) (int, error)
}

// rawReader frames backend messages read from an rawIO.
type rawReader struct {
	buf  []byte
	r, w int
}

// errProtocol reports a message the raw reader cannot frame; the
// connection is unusable after it.
var errProtocol = errors.New("postgres: raw mode: malformed message from server")

// next returns the next message's type and body. The body is valid until
// the next call.
func (rd *rawReader) next(io rawIO) (byte, []byte, error) {
	for {
		if avail := rd.w - rd.r; avail >= 5 {
			l := int(binary.BigEndian.Uint32(rd.buf[rd.r+1:]))
			if l < 4 || l > math.MaxInt32-1 {
				return 0, nil, errProtocol
			}
			if avail >= 1+l {
				typ := rd.buf[rd.r]
				body := rd.buf[rd.r+5 : rd.r+1+l]
				rd.r += 1 + l
				return typ, body, nil
			}
			if 1+l > len(rd.buf) { // a message larger than the buffer
				nb := make([]byte, 1+l+len(rd.buf))
				rd.w = copy(nb, rd.buf[rd.r:rd.w])
				rd.r = 0
				rd.buf = nb
			}
		}
		if rd.r == rd.w {
			rd.r, rd.w = 0, 0
		} else if rd.r > 0 && (rd.w == len(rd.buf) || len(rd.buf)-rd.r < 8192) {
			rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
			rd.r = 0
		}
		n, err := io.read(rd.buf[rd.w:])
		if err != nil {
			return 0, nil, err
		}
		rd.w += n
	}
}

// appendRequest appends Bind (text parameters, text results), Execute and
// Sync for statement name to b.
func (s *preparedStmt) appendRequest(b []byte, args []core.Value) []byte {
	start := len(b)
	b = append(b, 'B', 0, 0, 0, 0, 0) // Bind, length, unnamed portal
	b = append(b, s.sd.Name...)
	b = append(b, 0, 0, 0) // end of name; 0 parameter format codes: all text
	b = binary.BigEndian.AppendUint16(b, uint16(len(args)))
	for i := range args {
		v := s.encode(i, &args[i])
		if v == nil {
			b = binary.BigEndian.AppendUint32(b, math.MaxUint32) // -1: NULL
			continue
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	b = append(b, 0, 0) // 0 result format codes: all text
	binary.BigEndian.PutUint32(b[start+1:], uint32(len(b)-start-1))
	// Execute the unnamed portal, no row limit; Sync.
	return append(b, 'E', 0, 0, 0, 9, 0, 0, 0, 0, 0, 'S', 0, 0, 0, 4)
}

// execRaw runs the statement with the raw engine: one write, then the
// answer read up to ReadyForQuery.
func (s *preparedStmt) execRaw(r *rawConn, args []core.Value) (int64, error) {
	if err := r.enter(); err != nil {
		return 0, err
	}
	r.wbuf = s.appendRequest(r.wbuf[:0], args)
	if err := r.write(r.wbuf); err != nil {
		return 0, r.fail(err)
	}
	var rows, affected int64
	var pgErr error
	for {
		typ, body, err := r.rd.next(r)
		if err != nil {
			return 0, r.fail(err)
		}
		switch typ {
		case 'D': // DataRow
			rows++
		case 'C': // CommandComplete
			affected = rowsAffected(body)
		case 'E': // ErrorResponse
			var er pgproto3.ErrorResponse
			if err := er.Decode(body); err != nil {
				return 0, r.fail(errProtocol)
			}
			pgErr = pgconn.ErrorResponseToPgError(&er)
		case 'G', 'W': // CopyInResponse, CopyBothResponse: the server would wait for us
			return 0, r.fail(errCopy)
		case 'Z': // ReadyForQuery
			if pgErr != nil {
				return 0, pgErr
			}
			if len(s.sd.Fields) == 0 {
				return affected, nil
			}
			return rows, nil
		}
		// BindComplete, NoData, notices, parameter status, notifications:
		// nothing to do.
	}
}

var errCopy = errors.New("postgres: raw mode: COPY FROM STDIN is not supported")

// rowsAffected reads the count at the end of a command tag ("SELECT 3",
// "INSERT 0 1", "UPDATE 7"); 0 if there is none.
func rowsAffected(tag []byte) int64 {
	tag = bytes.TrimRight(tag, "\x00")
	i := bytes.LastIndexByte(tag, ' ')
	if i < 0 {
		return 0
	}
	var n int64
	for _, c := range tag[i+1:] {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// rawError is an I/O failure of the raw engine; it matches the connection
// errors driver.ClassifyGeneric knows (it unwraps to the syscall error, or
// to net.ErrClosed for an orderly close).
type rawError struct {
	op  string
	err error
}

func (e *rawError) Error() string { return fmt.Sprintf("postgres: raw mode: %s: %v", e.op, e.err) }
func (e *rawError) Unwrap() error { return e.err }

// Timeout and Temporary make a rawError a net.Error, which
// driver.ClassifyGeneric counts as a connection error.
func (e *rawError) Timeout() bool   { return false }
func (e *rawError) Temporary() bool { return false }

// errServerClosed is a read's end of file: the server closed the
// connection.
var errServerClosed = errors.New("server closed the connection")
