package smtpd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

// listen serves srv on a fresh loopback port until the test ends.
func listen(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, srv, ln)
}

// serveOn serves srv on ln until the test ends.
func serveOn(t *testing.T, srv *Server, ln net.Listener) string {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

// TestNetSMTPWithSTARTTLS drives a real listener with Go's net/smtp, an
// independent client, through STARTTLS and two recipients. net/smtp sends
// SMTPUTF8 when offered, hence "UTF8SMTPS" (RFC 6531 3.7.3).
func TestNetSMTPWithSTARTTLS(t *testing.T) {
	srv, del := newTestServer(t, testConfig())
	addr := listen(t, srv)
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	steps := []func() error{
		func() error { return c.Hello("client.example") },
		func() error { return c.StartTLS(&tls.Config{ServerName: "mx.local.test", RootCAs: testCertPool}) },
		func() error { return c.Mail("a@remote.test") },
		func() error { return c.Rcpt("u@local.test") },
		func() error { return c.Rcpt("x@catchall.test") },
		func() error { return sendBody(c, "Subject: tls\r\n\r\n.dot\r\nend\r\n") },
		func() error { return c.Quit() },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	msgs := del.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages delivered", len(msgs))
	}
	m := msgs[0]
	if !m.tx.TLS || len(m.tx.Recipients) != 2 || m.tx.ClientIP.String() != "127.0.0.1" {
		t.Errorf("transaction %+v", m.tx)
	}
	body := string(m.body)
	if !strings.Contains(body, "with UTF8SMTPS id "+string(m.tx.ID)) || !strings.HasSuffix(body, "\r\n\r\n..dot\r\nend\r\n") {
		t.Errorf("stored body %q", body)
	}
}

func sendBody(c *smtp.Client, body string) error {
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	return w.Close()
}

// TestPerIPLimit: the connection over MaxConnsPerIP (2 in tests) gets 421.
func TestPerIPLimit(t *testing.T) {
	srv, _ := newTestServer(t, testConfig())
	addr := listen(t, srv)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 3; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		want := "220"
		if i == 2 {
			want = "421 4.7.0"
		}
		expectReply(t, bufio.NewReader(c), want, i)
	}
	// When one leaves, a new one is admitted.
	conns[0].Write([]byte("QUIT\r\n"))
	conns[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		got, _ := readReply(bufio.NewReader(c))
		c.Close()
		if strings.HasPrefix(got, "220") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no connection admitted after one closed")
}

// TestCommandTimeout: a silent client gets 421 4.4.2 and is disconnected.
func TestCommandTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.CommandTimeout = 100 * time.Millisecond
	srv, _ := newTestServer(t, cfg)
	r := bufio.NewReader(pipeSession(t, srv))
	expectReply(t, r, "220", 0)
	expectReply(t, r, "421 4.4.2", 0)
}

// TestNewConnectionTimeout: a connection gets new-connection-timeout to
// start its first transaction, then command-timeout between commands.
func TestNewConnectionTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.Conn.NewTimeout = 150 * time.Millisecond
	srv, _ := newTestServer(t, cfg)
	r := bufio.NewReader(pipeSession(t, srv))
	expectReply(t, r, "220", 0)
	expectReply(t, r, "421 4.4.2", 0)

	conn := pipeSession(t, srv)
	r = bufio.NewReader(conn)
	expectReply(t, r, "220", 0)
	go conn.Write([]byte("EHLO c\r\nMAIL FROM:<a@remote.test>\r\n"))
	expectReply(t, r, "250", 0)
	expectReply(t, r, "250 2.1.0", 0)
	time.Sleep(3 * cfg.Conn.NewTimeout) // past new-connection-timeout, within command-timeout
	go conn.Write([]byte("NOOP\r\n"))
	expectReply(t, r, "250", 0)
}

// TestTotalConnLimit: net.Pipe has no client IP, so only the total limit
// applies. A full server closes an idle session to make room (package
// serve); one in the middle of a message is not idle, and then a new
// connection is refused.
func TestTotalConnLimit(t *testing.T) {
	cfg := testConfig()
	cfg.Conn.MaxConnections, cfg.Conn.MaxConnectionsPerIP = 1, 1
	srv, _ := newTestServer(t, cfg)
	idle := bufio.NewReader(pipeSession(t, srv))
	expectReply(t, idle, "220", 0)
	for srv.sk.IdleSessions() != 1 { // the client has the reply before the session waits again
		time.Sleep(time.Millisecond)
	}
	busyConn := pipeSession(t, srv)
	busy := bufio.NewReader(busyConn)
	expectReply(t, busy, "220", 0)
	expectReply(t, idle, "421 4.3.2 idle session closed", 0)
	go busyConn.Write([]byte("EHLO c\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@local.test>\r\nDATA\r\nSubject: x\r\n"))
	expectReply(t, busy, "250", 0) // EHLO
	expectReply(t, busy, "250", 0)
	expectReply(t, busy, "250", 0)
	expectReply(t, busy, "354", 0)
	expectReply(t, bufio.NewReader(pipeSession(t, srv)), "421 4.7.0 too many connections", 0)
}

// TestSessionTimeout: a client that keeps talking is still cut off when the
// session has lasted SessionTimeout.
func TestSessionTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.CommandTimeout, cfg.SessionTimeout = 200*time.Millisecond, 400*time.Millisecond
	srv, _ := newTestServer(t, cfg)
	conn := pipeSession(t, srv)
	r := bufio.NewReader(conn)
	expectReply(t, r, "220", 0)
	for i := 0; i < 20; i++ {
		go conn.Write([]byte("NOOP\r\n")) // net.Pipe: the server may be writing
		if got, _ := readReply(r); strings.HasPrefix(got, "421 4.4.2") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("session outlived SessionTimeout")
}

// slowCloseListener hands out connections whose Close takes a moment, as
// a TLS close_notify or a loaded machine may.
type slowCloseListener struct{ net.Listener }

func (l slowCloseListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return slowCloseConn{c}, err
}

type slowCloseConn struct{ net.Conn }

func (c slowCloseConn) Close() error {
	time.Sleep(time.Millisecond)
	return c.Conn.Close()
}

// TestSlotFreeWhenClientHasRead221 is issue 14: a client keeping most of
// its per-IP sessions busy and opening a new connection as soon as it has
// read the 221 to QUIT must never be refused at the greeting.
func TestSlotFreeWhenClientHasRead221(t *testing.T) {
	cfg := testConfig()
	cfg.Conn.MaxConnectionsPerIP = 3
	srv, _ := newTestServer(t, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := serveOn(t, srv, slowCloseListener{ln})
	for range cfg.Conn.MaxConnectionsPerIP - 1 { // busy sessions, open all along
		c, _ := dialGreeted(t, addr)
		t.Cleanup(func() { c.Close() })
	}
	const rounds = 300
	for i := range rounds {
		c, r := dialGreeted(t, addr)
		c.Write([]byte("QUIT\r\n"))
		if l, err := readReply(r); !strings.HasPrefix(l, "221 ") {
			t.Fatalf("round %d of %d: QUIT: %q %v", i+1, rounds, l, err)
		}
		c.Close()
	}
}

// dialGreeted connects to addr and fails unless the greeting is 220.
func dialGreeted(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if l, err := readReply(r); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting %q %v", l, err)
	}
	return c, r
}
