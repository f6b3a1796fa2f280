package pop3d

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// cmdRetr is RFC 1939 section 5 RETR msg. The stored form is already the
// multi-line body of the response (dot-stuffed, CRLF), so the maildrop copies
// it straight to the connection and only the terminator is added here.
func (s *session) cmdRetr(arg string) reply {
	i, r, ok := s.message(arg)
	if !ok {
		return r
	}
	start := time.Now()
	// Into the session's buffer: a small message leaves with its status
	// line and terminator in one write; a large one passes the buffer
	// (bufio.Writer.ReadFrom hands an empty buffer's copy to the socket).
	out := &messageWriter{s: s, status: fmt.Sprintf("+OK %d octets\r\n", s.msgs[i].Size), dst: s.w}
	if r, ok := s.retrieve(i, out); !ok {
		return r
	}
	if out.n != s.msgs[i].Size {
		// LIST promised exact sizes; a client may have planned by them.
		s.log.Warn("pop3 RETR size differs from listing", "box", s.box, "message", i+1,
			"uid", s.msgs[i].UID, "listed", s.msgs[i].Size, "sent", out.n)
	}
	s.w.WriteString(".\r\n")
	if s.flush(s.srv.cfg.WriteTimeout) != nil {
		return reply{sent: true, close: true}
	}
	metricRetrSeconds.Observe(time.Since(start).Seconds())
	return reply{ok: true, sent: true}
}

// cmdTop is RFC 1939 section 7 TOP msg n: the header, the blank line and n
// lines of the body.
func (s *session) cmdTop(arg string) reply {
	f := strings.Fields(arg)
	if len(f) != 2 {
		return misuse("usage: TOP msg lines")
	}
	i, r, ok := s.message(f[0])
	if !ok {
		return r
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 0 {
		return misuse("invalid number of lines")
	}
	top := &topWriter{dst: s.w, bodyLeft: n}
	out := &messageWriter{s: s, status: "+OK top of message follows\r\n", dst: top}
	if r, ok := s.retrieve(i, out); !ok {
		return r
	}
	if top.line > 0 { // the stored form should end in CRLF; do not rely on it
		s.w.WriteString("\r\n")
	}
	s.w.WriteString(".\r\n")
	if s.flush(s.srv.cfg.WriteTimeout) != nil {
		return reply{sent: true, close: true}
	}
	return reply{ok: true, sent: true}
}

// retrieve runs Maildrop.Retrieve into out. ok is false when r must be
// sent instead: -ERR [SYS/TEMP] if nothing of the reply has left the
// session's buffer yet (it is dropped); otherwise the status line went out
// and only closing the connection can tell the client that the message is
// incomplete (r.sent and r.close set).
func (s *session) retrieve(i int, out *messageWriter) (r reply, ok bool) {
	if s.w.Buffered() > 0 { // earlier pipelined replies: out, so a failure can drop only ours
		if err := s.flush(s.srv.cfg.WriteTimeout); err != nil {
			return reply{sent: true, close: true}, false
		}
	}
	_ = s.raw.SetWriteDeadline(time.Now().Add(s.srv.cfg.RetrTimeout))
	ctx, cancel := context.WithTimeout(s.c.Context(), s.srv.cfg.RetrTimeout)
	defer cancel()
	err := s.drop.Retrieve(ctx, i, out)
	metricBytesSent.Add(float64(out.n))
	if errors.Is(err, errTopDone) {
		err = nil
	}
	if err == nil {
		err = out.begin() // an empty message still gets its status line
	}
	switch {
	case err == nil:
		return reply{}, true
	case out.started && out.unsent():
		s.w.Reset(s.conn) // nothing of this reply left: drop it and say so
		fallthrough
	case !out.started:
		// Every copy unreachable, or similar: the client may try later.
		s.log.Warn("pop3 retrieve failed", "box", s.box, "message", i+1, "uid", s.msgs[i].UID, "err", err)
		return errReply(codeSysTemp, "message %d temporarily unavailable", i+1), false
	}
	s.log.Warn("pop3 retrieve failed mid-message, closing", "box", s.box, "message", i+1,
		"uid", s.msgs[i].UID, "sent", out.n, "err", err)
	return reply{sent: true, close: true}, false
}

// messageWriter is the writer handed to Maildrop.Retrieve. It sends the
// status line just before the first message byte, so that a Retrieve that
// fails before writing anything can still be answered with -ERR. ReadFrom
// passes the reader to dst's ReadFrom when it has one: io.Copy from a
// backend *net.TCPConn into the client *net.TCPConn then becomes splice(2).
type messageWriter struct {
	s       *session
	status  string
	dst     io.Writer
	started bool
	n       int64 // message bytes written to dst
}

// begin puts the status line in the session's buffer (once); Write sends
// the body after it, ReadFrom flushes it first.
func (w *messageWriter) begin() error {
	if w.started {
		return nil
	}
	w.started = true
	_, err := w.s.w.WriteString(w.status)
	return err
}

// unsent: everything of the reply so far (status line and body) is still
// in the session's buffer, which held nothing else (see retrieve).
func (w *messageWriter) unsent() bool {
	return int64(w.s.w.Buffered()) == int64(len(w.status))+w.n
}

func (w *messageWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := w.begin(); err != nil {
		return 0, err
	}
	n, err := w.dst.Write(p)
	w.n += int64(n)
	return n, err
}

// ReadFrom must send the status line before it knows whether r has a byte:
// a maildrop should learn that its source works (the backend's "OK <size>")
// before it copies.
func (w *messageWriter) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := w.dst.(io.ReaderFrom)
	if !ok {
		return io.Copy(writerOnly{w}, r) // Write counts and begins
	}
	if err := w.begin(); err != nil {
		return 0, err
	}
	if err := w.s.w.Flush(); err != nil { // the socket-to-socket copy bypasses the buffer
		return 0, err
	}
	n, err := rf.ReadFrom(r)
	w.n += n
	return n, err
}

// writerOnly hides ReadFrom so that io.Copy calls Write.
type writerOnly struct{ io.Writer }

// errTopDone stops Retrieve once TOP has sent what was asked.
var errTopDone = errors.New("pop3d: TOP has enough lines")

// topWriter passes the header, the blank line after it and bodyLeft body
// lines to dst, then fails with errTopDone. Stored lines are already
// dot-stuffed, so they pass unchanged.
type topWriter struct {
	dst      io.Writer
	bodyLeft int
	inBody   bool
	line     int  // bytes of the current line seen so far
	last     byte // last byte seen, to recognise "\r\n" as an empty line
	done     bool
}

func (t *topWriter) Write(p []byte) (int, error) {
	if t.done {
		return 0, errTopDone
	}
	end := t.scan(p)
	n, err := t.dst.Write(p[:end])
	if err == nil && t.done {
		err = errTopDone
	}
	return n, err
}

// scan returns how many bytes of p belong to the output, updating the
// header/body state line by line.
func (t *topWriter) scan(p []byte) int {
	for i, b := range p {
		blank := b == '\n' && (t.line == 0 || t.line == 1 && t.last == '\r')
		t.last = b
		if b != '\n' {
			t.line++
			continue
		}
		t.line = 0
		if t.inBody {
			t.bodyLeft--
		} else if blank {
			t.inBody = true
		}
		if t.inBody && t.bodyLeft <= 0 {
			t.done = true
			return i + 1
		}
	}
	return len(p)
}
