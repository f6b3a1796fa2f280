package serve

import (
	"bufio"
	"bytes"
	"container/list"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"time"
)

// Conn is an admitted connection. Its methods tell the skeleton what the
// session is doing, which is what admission and shutdown decide on.
type Conn struct {
	net.Conn
	s      *Server
	group  netip.Prefix
	since  time.Time
	ctx    context.Context
	cancel context.CancelFunc

	// Under s.mu:
	idleElem    *list.Element // position in s.idle while idle
	established bool
	evicted     bool
	released    bool
}

// Context ends when the session must stop at once (Shutdown's deadline
// passed); commands in flight should pass it on.
func (c *Conn) Context() context.Context { return c.ctx }

// Stopping ends when Shutdown begins: for waits a session may cut short
// (a login penalty, say), not for commands that must finish.
func (c *Conn) Stopping() context.Context { return c.s.stopping }

// ErrClosing is returned by Idle when the session should say goodbye and
// end: the server is shutting down, or the session was evicted to make
// room for a new connection.
var ErrClosing = errors.New("serve: connection closing")

// Idle marks the session as waiting for a command, for at most timeout
// (NewTimeout if shorter and the session is not yet established), and sets
// the read deadline accordingly. It returns ErrClosing when the session
// should end instead.
func (c *Conn) Idle(timeout time.Duration) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || c.evicted {
		return ErrClosing
	}
	if !c.established && s.cfg.NewTimeout > 0 {
		timeout = min(timeout, s.cfg.NewTimeout)
	}
	s.setIdle(c, true)
	return c.Conn.SetReadDeadline(time.Now().Add(timeout))
}

// Busy marks the session as working on a command (it is then neither
// evicted nor interrupted by Shutdown). After a read that Idle's deadline
// or a wake-up ended, Busy returns ErrClosing: say goodbye and end.
func (c *Conn) Busy() error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setIdle(c, false)
	if s.closing || c.evicted {
		return ErrClosing
	}
	return nil
}

// Closing reports that the session should end: Shutdown has begun or the
// session was evicted.
func (c *Conn) Closing() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.closing || c.evicted
}

// Interrupted reports that a read should end at once: the session was
// woken while waiting for a command (Shutdown began) or evicted. A
// protocol that re-arms read deadlines itself (and would so overwrite the
// wake-up) checks it after arming. Unlike Closing, it is false for a
// session that is busy: a message body being received at shutdown is read
// to its end, so its transaction can finish.
func (c *Conn) Interrupted() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.closing && c.idleElem != nil || c.evicted
}

// Evicted reports that the session was closed to make room for a new
// connection (its goodbye may say so).
func (c *Conn) Evicted() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.evicted
}

// Woken reports whether err, from a read after Idle, means the session was
// woken to end (Closing) rather than that the client went quiet.
func (c *Conn) Woken(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) && c.Closing()
}

// Established marks the session as past its first step (a login, an AUTH,
// a first command): from now on it waits for commands as long as its
// protocol allows, and a full server evicts it only after every idle
// session that is not established.
func (c *Conn) Established() {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.established = true
}

// Release frees the connection's admission slot before the session ends:
// a protocol that is about to give its final reply (221 to QUIT) calls it
// first, so that a client that reconnects as soon as it has read the reply
// finds its slot free.
func (c *Conn) Release() {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.releaseLocked(c)
}

// Group is the client's admission group (see Group).
func (c *Conn) Group() netip.Prefix { return c.group }

// ErrLineTooLong is returned by ReadLine for a line longer than its limit;
// the line has been consumed, so the session may answer and go on.
var ErrLineTooLong = errors.New("serve: line too long")

// ReadLine is how every protocol waits for its next command line: Idle
// (unless a whole line is already buffered: a pipelined command is no
// wait), the read, then Busy. It returns the line with its ending, valid
// until the next read of r; the protocol checks the ending (CRLF rules
// differ). A line longer than maxBytes, ending included, is consumed up to
// its LF and reported as ErrLineTooLong. ErrClosing means the server woke
// the session to end it (shutdown, eviction): say goodbye. r's buffer must
// hold maxBytes.
func (c *Conn) ReadLine(r *bufio.Reader, idle time.Duration, maxBytes int) ([]byte, error) {
	if buffered, _ := r.Peek(r.Buffered()); bytes.IndexByte(buffered, '\n') < 0 {
		if err := c.Idle(idle); err != nil {
			return nil, err
		}
	}
	line, err := r.ReadSlice('\n')
	tooLong := len(line) > maxBytes
	for errors.Is(err, bufio.ErrBufferFull) {
		tooLong = true
		_, err = r.ReadSlice('\n')
	}
	woken := c.Woken(err)
	_ = c.Busy() // a line that arrived is answered even if shutdown began
	switch {
	case woken:
		return nil, ErrClosing
	case err != nil:
		return nil, err
	case tooLong:
		return nil, ErrLineTooLong
	}
	return line, nil
}
