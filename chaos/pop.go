package chaos

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Limits of the chaos POP3 client.
const (
	popTimeout      = 40 * time.Second
	maxRetrBytes    = 4 << 20
	maxListingLines = 100000
)

// popConn is a minimal POP3 client (RFC 1939).
type popConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// errNegative is a -ERR reply; its text follows.
var errNegative = errors.New("pop3: -ERR")

// popLogin connects and logs in with USER/PASS.
func popLogin(addr, user, pass string) (*popConn, error) {
	c, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	p := &popConn{conn: c, r: bufio.NewReader(c)}
	for _, cmd := range []string{"", "USER " + user, "PASS " + pass} {
		if _, err := p.cmd(cmd); err != nil {
			c.Close()
			return nil, fmt.Errorf("%q: %w", strings.Fields(cmd + " greeting")[0], err)
		}
	}
	return p, nil
}

func (p *popConn) Close() error { return p.conn.Close() }

// cmd sends line ("" sends nothing) and reads a +OK status line.
func (p *popConn) cmd(line string) (string, error) {
	p.conn.SetDeadline(time.Now().Add(popTimeout))
	if line != "" {
		if _, err := p.conn.Write([]byte(line + "\r\n")); err != nil {
			return "", err
		}
	}
	status, err := readLine(p.r)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(status, "+OK") {
		return "", fmt.Errorf("%w %s", errNegative, status)
	}
	return status, nil
}

// uidl returns message number -> unique id.
func (p *popConn) uidl() (map[int]string, error) {
	if _, err := p.cmd("UIDL"); err != nil {
		return nil, err
	}
	out := map[int]string{}
	for i := 0; i < maxListingLines; i++ {
		line, err := readLine(p.r)
		if err != nil || line == "." {
			return out, err
		}
		var n int
		var uid string
		if _, err := fmt.Sscanf(line, "%d %s", &n, &uid); err != nil {
			return nil, fmt.Errorf("bad UIDL line %q", line)
		}
		out[n] = uid
	}
	return nil, errors.New("UIDL listing too long")
}

// retr returns message n as sent on the wire (still dot-stuffed, CRLF),
// without the final ".\r\n": exactly the stored form.
func (p *popConn) retr(n int) ([]byte, error) {
	return p.multiLine(fmt.Sprintf("RETR %d", n))
}

// top returns TOP n lines as sent on the wire, without the final ".\r\n".
func (p *popConn) top(n, lines int) ([]byte, error) {
	return p.multiLine(fmt.Sprintf("TOP %d %d", n, lines))
}

// multiLine sends cmd and reads its multi-line reply, still dot-stuffed.
func (p *popConn) multiLine(cmd string) ([]byte, error) {
	if _, err := p.cmd(cmd); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for b.Len() <= maxRetrBytes {
		line, err := p.r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		if string(line) == ".\r\n" && (b.Len() == 0 || bytes.HasSuffix(b.Bytes(), []byte("\n"))) {
			return b.Bytes(), nil
		}
		b.Write(line)
	}
	return nil, errors.New("message too large")
}

// quit ends the session; nil means the server answered +OK, so the
// deletions of this session are done (RFC 1939 section 6, UPDATE state).
func (p *popConn) quit() error {
	_, err := p.cmd("QUIT")
	p.conn.Close()
	return err
}

// topOf is what TOP with lines body lines must send for the stored form of
// a message (RFC 1939 section 7): the header, the blank line, then lines
// lines of the body; both forms are dot-stuffed alike.
func topOf(stored []byte, lines int) []byte {
	head := bytes.Index(stored, []byte("\r\n\r\n"))
	if head < 0 {
		return stored
	}
	end := head + 4
	for ; lines > 0 && end < len(stored); lines-- {
		next := bytes.Index(stored[end:], []byte("\r\n"))
		if next < 0 {
			return stored
		}
		end += next + 2
	}
	return stored[:end]
}
