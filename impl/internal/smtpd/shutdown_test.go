package smtpd

import (
	"context"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// TestShutdownFinishesDataInFlight: a message whose body is arriving when
// Shutdown begins is read to its end and answered 250, and only then does
// the session get 421; a session waiting for a command (here, inside a
// transaction before DATA) gets 421 at once and nothing of it is
// delivered. Shutdown returns once both sessions ended.
func TestShutdownFinishesDataInFlight(t *testing.T) {
	srv, del := newTestServer(t, testConfig())
	addr := listen(t, srv)
	inData := dialTx(t, addr, "127.0.0.1")
	cmd(t, inData, "DATA", 354)
	inData.PrintfLine("Subject: in flight")
	beforeData := dialTx(t, addr, "127.0.0.2")

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()
	waitRefused(t, addr)
	code, _, err := beforeData.ReadResponse(421)
	if err != nil {
		t.Fatalf("session before DATA: %d %v", code, err)
	}

	// The rest of the body, sent after Shutdown began, is still read, in
	// more than one read (the pause): a read already waiting when
	// Shutdown began is not the only one allowed to finish.
	inData.PrintfLine("")
	inData.PrintfLine("body")
	time.Sleep(100 * time.Millisecond)
	inData.PrintfLine(".")
	if code, msg, err := inData.ReadResponse(250); err != nil {
		t.Fatalf("message in DATA at shutdown: %d %s %v", code, msg, err)
	}
	if code, msg, err := inData.ReadResponse(421); err != nil {
		t.Fatalf("after the message: %d %s %v", code, msg, err)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	msgs := del.messages()
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].body), "Subject: in flight\r\n\r\nbody\r\n") {
		t.Fatalf("delivered %d messages: %+v", len(msgs), msgs)
	}
}

// dialTx connects from the local address ip and opens a transaction for
// one recipient.
func dialTx(t *testing.T, addr, ip string) *textproto.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	c := textproto.NewConn(nc)
	t.Cleanup(func() { c.Close() })
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	cmd(t, c, "EHLO client.test", 250)
	cmd(t, c, "MAIL FROM:<a@remote.test>", 250)
	cmd(t, c, "RCPT TO:<u@local.test>", 250)
	return c
}

func cmd(t *testing.T, c *textproto.Conn, line string, want int) {
	t.Helper()
	c.PrintfLine("%s", line)
	if code, msg, err := c.ReadResponse(want); err != nil {
		t.Fatalf("%s: %d %s %v", line, code, msg, err)
	}
}

// waitRefused returns once nothing accepts connections on addr any more.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
	}
	t.Fatal("still accepting connections")
}
