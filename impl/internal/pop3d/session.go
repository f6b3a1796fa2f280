package pop3d

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"powermail/impl/internal/serve"
	"powermail/impl/mailbox"
)

// Line limits.
const (
	// maxCommandBytes is RFC 2449 section 4: "the maximum length of a
	// command line is 255 octets, including the terminating CRLF".
	maxCommandBytes = 255
	// maxSASLLineBytes bounds a client line inside an AUTH exchange: a PLAIN
	// response with a 254-octet name twice and a long password, in base64.
	maxSASLLineBytes = 1024
	// readBufferBytes must hold the longest line accepted.
	readBufferBytes = 4096
	// writeBufferBytes: a message up to this size leaves with its status
	// line and terminator in one write (see cmdRetr); a larger one is
	// copied socket to socket.
	writeBufferBytes = 32 << 10
)

// state is the RFC 1939 session state.
type state uint8

const (
	stateAuthorization state = iota // RFC 1939 section 4
	stateTransaction                // RFC 1939 section 5
	stateUpdate                     // RFC 1939 section 6
)

func (st state) String() string {
	return [...]string{"AUTHORIZATION", "TRANSACTION", "UPDATE"}[st]
}

var errLineTooLong = errors.New("line too long")

// session is one client connection.
type session struct {
	srv       *Server
	c         *serve.Conn // the admitted connection: idle/busy, shutdown, eviction
	raw       net.Conn    // the accepted connection; deadlines are set here
	conn      net.Conn    // raw, or the tls.Conn over it after STLS
	r         *bufio.Reader
	w         *bufio.Writer
	log       *slog.Logger
	ip        string
	tls       bool
	state     state
	timestamp string // RFC 1939 section 7 APOP timestamp; "" when APOP is off

	user         string // name given by USER, waiting for PASS
	authFailures int
	errors       int // protocol errors: unknown verbs, wrong state, bad syntax

	box     mailbox.Name // locked maildrop, from TRANSACTION on
	drop    Maildrop
	msgs    []Message
	deleted []bool // DELE marks, applied in UPDATE
}

func newSession(srv *Server, c *serve.Conn) *session {
	s := newSessionOn(srv, c)
	s.c = c
	return s
}

// newSessionOn is a session on conn without admission (the skeleton's
// Conn), for unit tests of single commands.
func newSessionOn(srv *Server, conn net.Conn) *session {
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	s := &session{srv: srv, raw: conn, conn: conn, ip: remoteIP(conn.RemoteAddr()),
		r: bufio.NewReaderSize(conn, readBufferBytes), w: bufio.NewWriterSize(conn, writeBufferBytes)}
	s.log = srv.log.With("session", hex.EncodeToString(id), "remote", conn.RemoteAddr().String())
	if srv.apop != nil {
		s.timestamp = fmt.Sprintf("<%d.%s@%s>", os.Getpid(), hex.EncodeToString(id), srv.cfg.Hostname)
	}
	return s
}

// run greets the client and serves commands until QUIT, an error or Shutdown.
func (s *session) run() {
	defer s.release()
	s.log.Debug("pop3 connect")
	greeting := okReply("powermail POP3 server ready")
	if s.timestamp != "" {
		greeting.text += " " + s.timestamp
	}
	if !s.send(greeting) {
		return
	}
	for {
		line, err := s.readLine(maxCommandBytes)
		if errors.Is(err, errLineTooLong) {
			line = "" // answered as a protocol error below
		} else if err != nil {
			s.readFailed(err)
			return
		}
		r := s.dispatch(line, err)
		if !r.sent && !s.send(r) || r.close {
			return
		}
	}
}

// release ends the session: the maildrop closes and its lock is freed, if
// QUIT has not done so already.
func (s *session) release() {
	s.closeDrop()
	s.log.Debug("pop3 disconnect", "state", s.state)
}

// closeDrop closes the open maildrop, if any, and frees its lock.
func (s *session) closeDrop() {
	if s.drop == nil {
		return
	}
	if err := s.drop.Close(); err != nil {
		s.log.Warn("pop3 maildrop close", "box", s.box, "err", err)
	}
	s.srv.locks.unlock(s.box)
	s.drop = nil
}

// readLine returns the next line without its line ending. Lines longer than
// limit (CRLF included) are consumed and reported as errLineTooLong.
func (s *session) readLine(limit int) (string, error) {
	// Idle: Shutdown or a full server (evicting the oldest idle session)
	// may wake the read; before login the wait is new-connection-timeout.
	line, err := s.c.ReadLine(s.r, s.srv.cfg.IdleTimeout, limit)
	switch {
	case errors.Is(err, serve.ErrLineTooLong):
		return "", errLineTooLong
	case err != nil:
		return "", err
	}
	// RFC 1939 says CRLF; a bare LF is accepted as well, since no POP3
	// command carries data whose framing could be confused by it.
	return string(bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))), nil
}

// readFailed tells the client why the session ends, when it can still hear.
func (s *session) readFailed(err error) {
	switch {
	case errors.Is(err, serve.ErrClosing) && s.c.Evicted():
		s.send(errReply(codeSysTemp, "idle session closed to make room for another"))
	case errors.Is(err, serve.ErrClosing):
		s.send(errReply(codeSysTemp, "server shutting down"))
	case isTimeout(err):
		// RFC 1939 section 3: autologout, without entering UPDATE.
		s.send(errReply("", "autologout: idle for %v", s.srv.cfg.IdleTimeout))
	case errors.Is(err, io.EOF):
		s.log.Debug("pop3 client closed", "state", s.state)
		return
	}
	s.log.Info("pop3 session ends", "state", s.state, "err", err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// send writes r. The buffer is flushed unless a whole pipelined command
// waits in the read buffer (RFC 2449 section 6.6 PIPELINING), so a pipelined
// batch is answered in few packets. It reports whether the write succeeded.
func (s *session) send(r reply) bool {
	s.w.WriteString(r.status())
	s.w.WriteString("\r\n")
	if r.multi {
		for _, l := range r.lines {
			s.w.WriteString(dotStuff(l))
			s.w.WriteString("\r\n")
		}
		s.w.WriteString(".\r\n")
	}
	if s.commandWaiting() && !r.close {
		return true
	}
	return s.flush(s.srv.cfg.WriteTimeout) == nil
}

// commandWaiting reports whether a complete line is already buffered. A
// partial line does not count: its sender may be waiting for our reply.
func (s *session) commandWaiting() bool {
	buffered, _ := s.r.Peek(s.r.Buffered())
	return bytes.IndexByte(buffered, '\n') >= 0
}

func (s *session) flush(timeout time.Duration) error {
	_ = s.raw.SetWriteDeadline(time.Now().Add(timeout))
	err := s.w.Flush()
	if err != nil {
		s.log.Debug("pop3 write", "err", err)
	}
	return err
}
