package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"powermail/impl/internal/serve"
	"powermail/impl/mail"
)

// session is one SMTP connection: the transport, bounded buffered I/O, and
// the protocol state of RFC 5321 section 4.1.4.
type session struct {
	srv    *Server
	id     string
	log    *slog.Logger
	ctx    context.Context
	conn   net.Conn // dc, or a *tls.Conn over it after STARTTLS
	dc     *deadlineConn
	br     *bufio.Reader
	bw     *bufio.Writer
	remote netip.Addr

	verb   string // the command being answered, for metrics
	helo   string // "" until EHLO/HELO
	esmtp  bool
	tls    bool
	errors int          // 5xx replies so far; Config.MaxErrors closes the session
	tx     *Transaction // nil outside a mail transaction
	bdat   *bdatState   // non-nil while BDAT chunks are arriving
	quit   bool         // close after the pending replies are written

	c *serve.Conn // the admitted connection: idle/busy, shutdown, eviction
}

func newSession(srv *Server, c *serve.Conn) *session {
	id := newSessionID()
	ip := remoteIP(c)
	// Until its first transaction a session gets new-connection-timeout.
	dc := &deadlineConn{Conn: c, idle: min(srv.cfg.CommandTimeout, srv.cfg.Conn.NewTimeout),
		sessionEnd: srv.now().Add(srv.cfg.SessionTimeout), now: srv.now}
	return &session{
		srv: srv, id: id, remote: ip, conn: dc, dc: dc, c: c,
		log: srv.log.With("session", id, "client", ip.String()),
		br:  bufio.NewReaderSize(dc, srv.cfg.readBufferBytes()),
		bw:  bufio.NewWriter(dc),
	}
}

func newSessionID() string {
	var b [8]byte
	rand.Read(b[:]) // never fails on Linux >= 3.17
	return hex.EncodeToString(b[:])
}

// serve runs the session until QUIT, a fatal error, or a limit.
func (s *session) serve() {
	metricSessions.Inc()
	metricSessionsActive.Inc()
	defer metricSessionsActive.Dec()
	ctx, cancel := s.srv.sessionContext()
	defer cancel()
	s.ctx = ctx
	defer s.abortBDAT()
	s.log.Debug("session start")
	s.verb = "greeting"
	s.send(reply(220, "", "%s ESMTP powermail", s.srv.cfg.Hostname))
	for !s.quit && s.flushIfIdle() == nil {
		line, err := s.readCommand()
		if err != nil {
			s.readFailed(err)
			continue
		}
		s.dispatch(line)
	}
	s.finish()
	s.log.Debug("session end", "errors", s.errors)
}

// established marks the session as past its first step (a transaction):
// from now on it waits command-timeout for the client, not
// new-connection-timeout, and a full server evicts it last.
func (s *session) established() {
	s.c.Established()
	s.dc.idle = s.srv.cfg.CommandTimeout
}

// finalWriteTimeout bounds the write of the last replies, which happens
// after the session's slot has been given back.
const finalWriteTimeout = 10 * time.Second

// finish frees the session's connection slot and then writes the last
// replies (221 to QUIT, or a 421). A client that has read the 221 and
// connects again at once must find the slot free; freed after the close,
// it could still be counted (issue 14: 6 greetings in 8,000 got 421 from a
// client keeping 16 of its 20 sessions busy). The slot no longer counts
// this connection, so its last write gets a short bound of its own.
func (s *session) finish() {
	s.c.Release()
	s.dc.idle = min(s.dc.idle, finalWriteTimeout)
	s.bw.Flush()
}

// flushIfIdle writes buffered replies once the client has sent everything it
// pipelined (RFC 2920 section 3.2: a server may batch replies to a group).
func (s *session) flushIfIdle() error {
	if s.br.Buffered() > 0 {
		return nil
	}
	if err := s.bw.Flush(); err != nil {
		s.log.Info("write failed", "err", err)
		return err
	}
	return nil
}

// readFailed handles a command line that could not be read: a *mail.Reply for an
// over-long or badly terminated line (the session goes on), otherwise the
// connection is gone or timed out.
func (s *session) readFailed(err error) {
	s.verb = "other"
	var r *mail.Reply
	switch {
	case errors.As(err, &r):
		s.send(r)
	case errors.Is(err, serve.ErrClosing):
		s.quit = true
		if s.c.Evicted() {
			s.send(replyEvicted)
		} else {
			s.send(replyShuttingDown)
		}
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.quit = true
		s.send(s.timeoutReply())
	default:
		s.quit = true
		s.log.Info("read failed", "err", err)
	}
}

// readCommand returns one command line without its CRLF. A line longer than
// MaxCommandBytes is consumed and refused (RFC 5321 4.5.3.1.10: 500 "Line too
// long"). Only CRLF ends a command (RFC 5321 section 2.3.8).
func (s *session) readCommand() (string, error) {
	// Idle between commands: Shutdown, or a full server evicting the
	// oldest idle session, may end the wait (package serve).
	line, err := s.c.ReadLine(s.br, s.dc.idle, s.srv.cfg.MaxCommandBytes)
	switch {
	case errors.Is(err, serve.ErrLineTooLong):
		return "", replyCmdTooLong
	case err != nil:
		return "", err
	case !bytes.HasSuffix(line, []byte("\r\n")) || bytes.IndexByte(line[:len(line)-2], '\r') >= 0:
		return "", replyNeedCRLF
	}
	return string(line[:len(line)-2]), nil
}

// dispatch runs the handler of the command in line and sends its reply.
func (s *session) dispatch(line string) {
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	h, ok := commands[verb]
	if !ok {
		s.verb = "other"
		s.send(&mail.Reply{Code: 500, Enhanced: "5.5.2", Text: "command not recognised"})
		return
	}
	s.verb = verb
	if r := h(s, arg); r != nil {
		s.send(r)
	}
}

// send buffers r, counts it, and enforces MaxErrors. Multi-line texts (lines
// separated by "\n") use the RFC 5321 section 4.2.1 "code-" continuation.
func (s *session) send(r *mail.Reply) {
	metricReplies.WithLabelValues(s.verb, strconv.Itoa(r.Code)).Inc()
	lines := strings.Split(r.Text, "\n")
	for i, text := range lines {
		sep := " "
		if i < len(lines)-1 {
			sep = "-"
		}
		s.bw.WriteString(strconv.Itoa(r.Code) + sep)
		if r.Enhanced != "" {
			s.bw.WriteString(r.Enhanced + " ")
		}
		s.bw.WriteString(text + "\r\n")
	}
	if r.Code == 421 || r.Code == 221 {
		s.quit = true
	}
	if r.Code >= 500 {
		s.errors++
		if s.errors >= s.srv.cfg.MaxErrors && !s.quit {
			s.send(replyTooManyErrs)
		}
	}
}

// flush writes the buffered replies now; used before waiting for the client
// after an intermediate reply (354, 220 to STARTTLS).
func (s *session) flush() error { return s.bw.Flush() }

// resetTx ends the current transaction (RFC 5321 section 4.1.1.5).
func (s *session) resetTx() {
	s.abortBDAT()
	s.tx = nil
}
