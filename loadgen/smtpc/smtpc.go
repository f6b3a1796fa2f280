// Package smtpc is loadgen's minimal SMTP client (RFC 5321): EHLO, then
// transactions of MAIL, RCPT..., DATA, pipelined when the server offers
// PIPELINING (RFC 2920). It is independent of PowerMail's server code on
// purpose: a client written separately catches bugs a shared one would hide.
package smtpc

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

// Limits of a reply (RFC 5321 4.5.3.1.5: a reply line is at most 512 bytes;
// we allow more for lenient servers, but bound the number of lines).
const (
	maxReplyLines = 100
	readBufBytes  = 4 << 10
	writeBufBytes = 16 << 10 // larger writes (the content) bypass it
)

// Error is a reply outside 2xx/3xx, or a failure of the connection.
type Error struct {
	Stage string // GREETING, EHLO, MAIL, RCPT, DATA, DOT, RSET, or NET
	Code  int    // 0 for a network error
	Text  string
}

func (e *Error) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("smtp %s: %s", e.Stage, e.Text)
	}
	return fmt.Sprintf("smtp %s: %d %s", e.Stage, e.Code, e.Text)
}

// Key names the error for counting: "DATA 451", "NET".
func (e *Error) Key() string {
	if e.Code == 0 {
		return "NET " + e.Stage
	}
	return e.Stage + " " + strconv.Itoa(e.Code)
}

// Client is one SMTP connection.
type Client struct {
	conn       net.Conn
	r          *bufio.Reader
	w          *bufio.Writer
	timeout    time.Duration
	Pipelining bool // the server offered PIPELINING and we use it
	lines      []string
	rcptErr    error // the last refusal of a RCPT in this transaction
}

// Dial connects, reads the greeting and says EHLO. usePipelining=false
// turns PIPELINING off even when offered.
func Dial(ctx context.Context, addr, helo string, timeout time.Duration, usePipelining bool) (*Client, error) {
	// No TCP keepalive: a load generator's sessions are short and bounded
	// by timeout, and its four setsockopt calls per connection would count
	// against every server measured.
	d := net.Dialer{Timeout: timeout, KeepAlive: -1}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &Error{Stage: "CONNECT", Text: err.Error()}
	}
	c := &Client{conn: conn, r: bufio.NewReaderSize(conn, readBufBytes),
		w: bufio.NewWriterSize(conn, writeBufBytes), timeout: timeout}
	c.deadline()
	if err := c.expect("GREETING", 220); err != nil {
		conn.Close()
		return nil, err
	}
	c.w.WriteString("EHLO " + helo + "\r\n")
	if err := c.flushExpect("EHLO", 250); err != nil {
		conn.Close()
		return nil, err
	}
	for _, l := range c.lines[1:] {
		if strings.EqualFold(strings.Fields(l + " x")[0], "PIPELINING") {
			c.Pipelining = usePipelining
		}
	}
	return c, nil
}

func (c *Client) deadline() { c.conn.SetDeadline(time.Now().Add(c.timeout)) }

// Send runs one transaction; it returns nil once the server accepted the
// message for at least one recipient (the DATA reply 250), and reports the
// recipients refused. On a failure it resets the transaction.
func (c *Client) Send(from string, rcpts []string, data []byte) (refused int, err error) {
	c.deadline()
	c.rcptErr = nil
	c.w.WriteString("MAIL FROM:<" + from + ">\r\n")
	if !c.Pipelining {
		if err := c.flushExpect("MAIL", 250); err != nil {
			return 0, c.reset(err)
		}
	}
	for _, r := range rcpts {
		c.w.WriteString("RCPT TO:<" + r + ">\r\n")
		if !c.Pipelining {
			if err := c.flushExpect("RCPT", 250); err != nil {
				if isNet(err) {
					return 0, err
				}
				c.rcptErr = err
				refused++
			}
		}
	}
	c.w.WriteString("DATA\r\n")
	return c.finish(rcpts, refused, data)
}

// finish reads the pipelined replies (RFC 2920 3.1: in order) and sends the
// content after 354.
func (c *Client) finish(rcpts []string, refused int, data []byte) (int, error) {
	var first error
	if c.Pipelining {
		if err := c.w.Flush(); err != nil {
			return 0, &Error{Stage: "NET", Text: err.Error()}
		}
		first = c.expect("MAIL", 250)
		for range rcpts {
			if err := c.expect("RCPT", 250); err != nil {
				if isNet(err) {
					return 0, err
				}
				c.rcptErr = err
				refused++
			}
		}
	} else if err := c.w.Flush(); err != nil {
		return 0, &Error{Stage: "NET", Text: err.Error()}
	}
	if refused == len(rcpts) {
		// The cause of a refused DATA is the recipients, not DATA.
		first = firstOf(first, c.rcptErr)
	}
	if err := c.expect("DATA", 354); err != nil {
		return refused, c.reset(firstOf(first, err))
	}
	if first != nil {
		// 354 although nothing was accepted: end the content at once
		// (RFC 2920 3.1 asks the client to send only the terminator).
		c.w.WriteString(".\r\n")
		c.flushExpect("DOT", 250)
		return refused, c.reset(first)
	}
	writeDotStuffed(c.w, data)
	return refused, c.flushExpect("DOT", 250)
}

// Quit ends the session politely and closes the connection.
func (c *Client) Quit() {
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	c.w.WriteString("QUIT\r\n")
	c.flushExpect("QUIT", 221)
	c.conn.Close()
}

// Close drops the connection.
func (c *Client) Close() { c.conn.Close() }

// reset sends RSET after a failed transaction (RFC 5321 4.1.1.5), unless the
// connection itself failed.
func (c *Client) reset(err error) error {
	if isNet(err) {
		return err
	}
	c.w.WriteString("RSET\r\n")
	if rerr := c.flushExpect("RSET", 250); rerr != nil && isNet(rerr) {
		c.conn.Close()
	}
	return err
}

func firstOf(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// IsNet reports whether err broke the connection (the caller must redial).
func IsNet(err error) bool { return isNet(err) }

func isNet(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Code == 0 || e.Code == 421)
}

// writeDotStuffed writes data with leading dots doubled (RFC 5321 4.5.2),
// a final CRLF if missing, and the terminator. loadgen's own messages have
// no leading dots: the fast path is one copy.
func writeDotStuffed(w *bufio.Writer, data []byte) {
	if len(data) > 0 && data[0] == '.' {
		w.WriteByte('.')
	}
	for {
		i := bytes.Index(data, []byte("\n."))
		if i < 0 {
			break
		}
		w.Write(data[:i+2])
		w.WriteByte('.')
		data = data[i+2:]
	}
	w.Write(data)
	if !bytes.HasSuffix(data, []byte("\r\n")) && len(data) > 0 {
		w.WriteString("\r\n")
	}
	w.WriteString(".\r\n")
}

func (c *Client) flushExpect(stage string, want int) error {
	if err := c.w.Flush(); err != nil {
		return &Error{Stage: stage, Text: err.Error()}
	}
	return c.expect(stage, want)
}

// expect reads one (possibly multi-line) reply and checks its class
// against want's (RFC 5321 4.2.1: the first digit decides).
func (c *Client) expect(stage string, want int) error {
	code, err := c.readReply()
	if err != nil {
		return &Error{Stage: stage, Text: err.Error()}
	}
	if code/100 != want/100 {
		return &Error{Stage: stage, Code: code, Text: strings.Join(c.lines, " / ")}
	}
	return nil
}

// readReply reads "ddd-text" lines up to "ddd text" (RFC 5321 4.2.1).
func (c *Client) readReply() (int, error) {
	c.lines = c.lines[:0]
	for range maxReplyLines {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		s := strings.TrimRight(string(line), "\r\n")
		if len(s) < 3 {
			return 0, fmt.Errorf("short reply %q", s)
		}
		code, err := strconv.Atoi(s[:3])
		if err != nil {
			return 0, fmt.Errorf("bad reply %q", s)
		}
		c.lines = append(c.lines, s[min(4, len(s)):])
		if len(s) == 3 || s[3] != '-' {
			return code, nil
		}
	}
	return 0, errors.New("reply has too many lines")
}
