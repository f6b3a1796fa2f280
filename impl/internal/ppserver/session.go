package ppserver

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"time"

	"powermail/impl/internal/serve"
	"powermail/impl/pp"
)

// Buffer sizes of a session. The reader holds at least one line; bigger
// buffers let a pipelined burst of commands arrive in one read.
const (
	readBufferBytes  = 64 << 10
	writeBufferBytes = 16 << 10
	// maxConfusedReplies closes a connection after this many consecutive
	// replies saying the client does not speak the protocol (500, 501, 503,
	// 530): a confused peer should not keep a slot forever.
	maxConfusedReplies = 10
	// farewellTimeout bounds the write of the 421 sent at shutdown.
	farewellTimeout = time.Second
)

// session is one connection: its buffered reader and writer and its state.
type session struct {
	srv   *Server
	conn  net.Conn
	r     *bufio.Reader
	w     *bufio.Writer
	log   *slog.Logger
	nonce string // server challenge sent in the greeting

	authed   bool
	confused int // consecutive confused replies

	sc *serve.Conn // admission: idle or busy, shutdown, eviction
}

// newSession serves c; conn is the connection itself (not the wrapper),
// so that GET can sendfile to the socket.
func newSession(srv *Server, c *serve.Conn, id uint64) *session {
	return &session{
		srv:   srv,
		conn:  c.Conn,
		sc:    c,
		r:     pp.NewReader(c, readBufferBytes),
		w:     bufio.NewWriterSize(c, writeBufferBytes),
		log:   srv.log.With("conn", id, "remote", c.RemoteAddr().String()),
		nonce: pp.NewNonce(),
	}
}

// Errors a handler returns to end the session. errHangup: the reply is
// already written (QUIT, failed AUTH); close quietly.
var errHangup = errors.New("hang up")

// connError wraps a failure of the connection itself (EOF, reset, timeout):
// nothing more can be said to the peer.
type connError struct{ err error }

func (e connError) Error() string { return "connection: " + e.err.Error() }
func (e connError) Unwrap() error { return e.err }

// protoError is input that leaves the stream out of step (a bad line or
// frame): answer with its reply, then close.
type protoError struct{ reply *pp.Error }

func (e protoError) Error() string { return "protocol: " + e.reply.Text }

// serve runs the command loop until the peer leaves, an error closes the
// session, or the server shuts down.
func (s *session) serve() {
	s.log.Debug("connection opened")
	s.conn.SetWriteDeadline(time.Now().Add(s.srv.cfg.IOTimeout))
	if s.writeLine(pp.FormatOK(pp.Banner+" "+s.nonce)) != nil || s.flush() != nil {
		return
	}
	for {
		line, err := s.nextLine()
		if err == nil {
			s.conn.SetDeadline(time.Now().Add(s.srv.cfg.IOTimeout))
			err = s.run(line)
		}
		if !s.afterCommand(err) {
			return
		}
	}
}

// nextLine waits (up to IdleTimeout; before AUTH, new-connection-timeout)
// for the next command line. The session is marked idle meanwhile, so
// that Shutdown can wake it and, before AUTH, a full server can evict it.
func (s *session) nextLine() (string, error) {
	line, err := s.sc.ReadLine(s.r, s.srv.cfg.IdleTimeout, pp.MaxLineBytes)
	switch {
	case errors.Is(err, serve.ErrClosing):
		return "", s.closing()
	case errors.Is(err, serve.ErrLineTooLong):
		return "", lineError(pp.ErrLineTooLong)
	case err != nil:
		return "", lineError(err)
	}
	parsed, err := pp.ParseLine(line)
	if err != nil {
		return "", lineError(err)
	}
	return parsed, nil
}

// closing is the goodbye of a session told to end by the server.
func (s *session) closing() error {
	if s.sc.Evicted() {
		return errEvicted
	}
	return errShutdown
}

var (
	errShutdown = pp.Errorf(pp.CodeShutdown, "server shutting down")
	errEvicted  = pp.Errorf(pp.CodeShutdown, "idle connection closed to make room")
)

// lineError tells malformed input from a failed connection.
func lineError(err error) error {
	for _, bad := range []error{pp.ErrLineTooLong, pp.ErrBadLineEnding, pp.ErrNUL, pp.ErrBadFrame} {
		if errors.Is(err, bad) {
			return protoError{pp.Errorf(pp.CodeSyntax, "%v", err)}
		}
	}
	return connError{err}
}

// afterCommand writes the reply for err, flushes when no further pipelined
// command is waiting, and reports whether to go on.
func (s *session) afterCommand(err error) bool {
	goOn := s.report(err)
	if !goOn || s.r.Buffered() == 0 {
		if ferr := s.flush(); ferr != nil {
			return false
		}
	}
	return goOn
}

// report turns a handler's error into a reply and decides whether the
// session continues. Details of internal errors go to the log only.
func (s *session) report(err error) bool {
	var werr *pp.Error
	var perr protoError
	var cerr connError
	switch {
	case err == nil:
		s.confused = 0
		return true
	case errors.Is(err, errHangup):
		return false
	case errors.As(err, &cerr):
		s.log.Debug("connection ended", "err", cerr.err)
		return false
	case errors.As(err, &perr):
		s.log.Info("protocol error, closing", "err", perr.reply.Text)
		s.writeLine(pp.FormatErr(perr.reply))
		return false
	case errors.Is(err, errShutdown), errors.Is(err, errEvicted):
		// The peer may not be reading; do not let it hold up Shutdown.
		s.conn.SetWriteDeadline(time.Now().Add(farewellTimeout))
		s.writeLine(pp.FormatErr(err.(*pp.Error)))
		return false
	case errors.As(err, &werr):
		s.writeLine(pp.FormatErr(werr))
		return !s.tooConfused(werr.Code)
	}
	s.log.Error("command failed", "err", err)
	s.writeLine(pp.FormatErr(pp.Errorf(pp.CodeLocal, "local error")))
	return true
}

func (s *session) tooConfused(code int) bool {
	switch code {
	case pp.CodeSyntax, pp.CodeBadArg, pp.CodeBadSequence, pp.CodeAuthRequired:
		s.confused++
	default:
		s.confused = 0
	}
	if s.confused >= maxConfusedReplies {
		s.log.Info("too many bad commands, closing")
		return true
	}
	return false
}

func (s *session) writeLine(line string) error {
	if err := pp.WriteLine(s.w, line); err != nil {
		return connError{err}
	}
	return nil
}

func (s *session) ok(text string) error { return s.writeLine(pp.FormatOK(text)) }

func (s *session) flush() error {
	if err := s.w.Flush(); err != nil {
		return connError{err}
	}
	return nil
}
