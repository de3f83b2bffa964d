//go:build !linux

package postgres

// The raw engine is Linux-only: NewConnector refuses statement_mode=raw
// elsewhere, so these are never called.

const rawSupported = false

type rawConn struct {
	rd   rawReader
	wbuf []byte
}

func newRawConn(*conn) *rawConn { return nil }

func (r *rawConn) enter() error             { return errProtocol }
func (r *rawConn) leave()                   {}
func (r *rawConn) failed() bool             { return false }
func (r *rawConn) write([]byte) error       { return errProtocol }
func (r *rawConn) read([]byte) (int, error) { return 0, errProtocol }
func (r *rawConn) fail(err error) error     { return err }
