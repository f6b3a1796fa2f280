// Package pop3c is loadgen's minimal POP3 client (RFC 1939): USER/PASS,
// STAT, UIDL, RETR, DELE, QUIT. Multi-line bodies are read in bulk (the
// buffer is searched for "\n." instead of being split into lines), so that
// the client stays cheap next to a server sending at loopback speed.
package pop3c

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Limits.
const (
	ioBufBytes      = 256 << 10
	maxListingLines = 1 << 20 // UIDL lines of one maildrop
)

// Error is a -ERR response or a connection failure.
type Error struct {
	Cmd  string // the command: USER, PASS, RETR...
	Text string
	Net  bool // the connection failed
}

func (e *Error) Error() string { return "pop3 " + e.Cmd + ": " + e.Text }

// Key names the error for counting: "RETR -ERR", "NET PASS".
func (e *Error) Key() string {
	if e.Net {
		return "NET " + e.Cmd
	}
	return e.Cmd + " -ERR"
}

// Client is one POP3 connection.
type Client struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration
}

// Dial connects and reads the greeting.
func Dial(ctx context.Context, addr string, timeout time.Duration) (*Client, error) {
	return DialFrom(ctx, "", addr, timeout)
}

// DialFrom is Dial from the local IP address local ("": any), so that a
// load can come from several client addresses (127.0.0.2, ...), as a
// server's per-address limits and penalties see distinct clients.
func DialFrom(ctx context.Context, local, addr string, timeout time.Duration) (*Client, error) {
	// No TCP keepalive: a load generator's sessions are short and bounded
	// by timeout, and its four setsockopt calls per connection would count
	// against every server measured.
	d := net.Dialer{Timeout: timeout, KeepAlive: -1}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &Error{Cmd: "CONNECT", Text: err.Error(), Net: true}
	}
	c := &Client{conn: conn, r: bufio.NewReaderSize(conn, ioBufBytes), w: bufio.NewWriterSize(conn, 4096), timeout: timeout}
	c.conn.SetDeadline(time.Now().Add(timeout))
	if _, err := c.status("GREETING"); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Login sends USER and PASS (RFC 1939 7).
func (c *Client) Login(user, pass string) error {
	if _, err := c.Cmd("USER", "USER "+user); err != nil {
		return err
	}
	_, err := c.Cmd("PASS", "PASS "+pass)
	return err
}

// Stat returns the message count and maildrop size (RFC 1939 5).
func (c *Client) Stat() (count int, size int64, err error) {
	text, err := c.Cmd("STAT", "STAT")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(text)
	if len(f) < 2 {
		return 0, 0, &Error{Cmd: "STAT", Text: "bad response " + text}
	}
	count, err1 := strconv.Atoi(f[0])
	size, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, &Error{Cmd: "STAT", Text: "bad response " + text}
	}
	return count, size, nil
}

// UIDL returns the unique ids by message number (RFC 1939 7).
func (c *Client) UIDL() (map[int]string, error) {
	if _, err := c.Cmd("UIDL", "UIDL"); err != nil {
		return nil, err
	}
	ids := map[int]string{}
	for range maxListingLines {
		line, err := c.line("UIDL")
		if err != nil {
			return nil, err
		}
		if line == "." {
			return ids, nil
		}
		f := strings.Fields(line)
		n, err := strconv.Atoi(f[0])
		if len(f) != 2 || err != nil {
			return nil, &Error{Cmd: "UIDL", Text: "bad line " + line}
		}
		ids[n] = f[1]
	}
	return nil, &Error{Cmd: "UIDL", Text: "listing too long"}
}

// Retr appends message n, dot-unstuffed, to dst (RFC 1939 5: RETR).
func (c *Client) Retr(n int, dst []byte) ([]byte, error) {
	if _, err := c.Cmd("RETR", "RETR "+strconv.Itoa(n)); err != nil {
		return dst, err
	}
	return c.readDotBody(dst)
}

// Dele marks message n deleted.
func (c *Client) Dele(n int) error {
	_, err := c.Cmd("DELE", "DELE "+strconv.Itoa(n))
	return err
}

// Quit enters the UPDATE state (deletions happen now) and closes.
func (c *Client) Quit() error {
	_, err := c.Cmd("QUIT", "QUIT")
	c.conn.Close()
	return err
}

// Close drops the connection without QUIT (no deletions: RFC 1939 6).
func (c *Client) Close() { c.conn.Close() }

// Cmd sends line and reads a status response, returning its text.
func (c *Client) Cmd(name, line string) (string, error) {
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return "", &Error{Cmd: name, Text: err.Error(), Net: true}
	}
	return c.status(name)
}

func (c *Client) status(name string) (string, error) {
	line, err := c.line(name)
	if err != nil {
		return "", err
	}
	if rest, ok := strings.CutPrefix(line, "+OK"); ok {
		return strings.TrimSpace(rest), nil
	}
	return "", &Error{Cmd: name, Text: line}
}

func (c *Client) line(name string) (string, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			err = fmt.Errorf("line longer than %d bytes", ioBufBytes)
		}
		return "", &Error{Cmd: name, Text: err.Error(), Net: true}
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

var lfDot = []byte("\n.")

// readDotBody appends a multi-line body up to "CRLF.CRLF", removing the
// byte-stuffed dots (RFC 1939 3). bol says the next byte starts a line.
func (c *Client) readDotBody(dst []byte) ([]byte, error) {
	bol := true
	for {
		buf, err := c.r.Peek(max(1, c.r.Buffered()))
		if err != nil {
			return dst, &Error{Cmd: "RETR", Text: err.Error(), Net: true}
		}
		if bol && buf[0] == '.' {
			if len(buf) < 3 {
				if _, err := c.r.Peek(3); err != nil {
					return dst, &Error{Cmd: "RETR", Text: err.Error(), Net: true}
				}
				continue
			}
			c.r.Discard(1) // the terminator's dot, or a stuffed one
			if buf[1] == '\r' && buf[2] == '\n' {
				c.r.Discard(2)
				return dst, nil
			}
			bol = false
			continue
		}
		if i := bytes.Index(buf, lfDot); i >= 0 {
			dst = append(dst, buf[:i+1]...)
			c.r.Discard(i + 1)
			bol = true
			continue
		}
		dst = append(dst, buf...)
		c.r.Discard(len(buf))
		bol = buf[len(buf)-1] == '\n'
	}
}
