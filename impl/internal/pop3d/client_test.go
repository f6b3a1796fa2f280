package pop3d

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// testTimeout bounds every wait of a test on the server.
const testTimeout = 10 * time.Second

func discardLogger() *slog.Logger {
	if os.Getenv("POP3D_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// client is the test side of one session over net.Pipe.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	done chan struct{} // closed when ServeConn returned
}

// dial starts a session on srv as if from remote ("127.0.0.1:5000").
func dial(t testing.TB, srv *Server, remote string) *client {
	t.Helper()
	c1, c2 := net.Pipe()
	c := &client{t: t, conn: c1, r: bufio.NewReader(c1), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		srv.ServeConn(addrConn{c2, tcpAddr(remote)})
	}()
	t.Cleanup(c.close)
	_ = c1.SetDeadline(time.Now().Add(testTimeout))
	return c
}

func (c *client) close() {
	c.conn.Close()
	select {
	case <-c.done:
	case <-time.After(testTimeout):
		c.t.Error("session did not end")
	}
}

// send writes lines, each followed by CRLF, in one write (a pipelined batch).
func (c *client) send(lines ...string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, strings.Join(lines, "\r\n")+"\r\n"); err != nil {
		c.t.Fatalf("send %q: %v", lines, err)
	}
}

// line reads one line without CRLF.
func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (partial %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("line %q does not end in CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// cmd sends one command and returns the status line.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line)
	return c.line()
}

// expectPrefix reads a line and fails unless it starts with prefix.
func (c *client) expectPrefix(prefix string) string {
	c.t.Helper()
	l := c.line()
	if !strings.HasPrefix(l, prefix) {
		c.t.Fatalf("got %q, want prefix %q", l, prefix)
	}
	return l
}

// multi reads a multi-line body up to the terminator, raw (still stuffed).
func (c *client) multi() []byte {
	c.t.Helper()
	var out []byte
	for {
		l, err := c.r.ReadBytes('\n')
		if err != nil {
			c.t.Fatalf("multi-line read: %v", err)
		}
		if string(l) == ".\r\n" {
			return out
		}
		out = append(out, l...)
	}
}

// expectClosed fails unless the server closes the connection.
func (c *client) expectClosed() {
	c.t.Helper()
	if l, err := c.r.ReadString('\n'); err != io.EOF {
		c.t.Fatalf("expected close, got %q, %v", l, err)
	}
}

// login reads the greeting and logs in with USER/PASS.
func (c *client) login(user, pass string) {
	c.t.Helper()
	c.expectPrefix("+OK")
	if l := c.cmd("USER " + user); !strings.HasPrefix(l, "+OK") {
		c.t.Fatalf("USER %s: %q", user, l)
	}
	if l := c.cmd("PASS " + pass); !strings.HasPrefix(l, "+OK") {
		c.t.Fatalf("PASS for %s: %q", user, l)
	}
}
