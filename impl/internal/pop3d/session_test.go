package pop3d

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// unstuff undoes RFC 1939 section 3 byte-stuffing of a multi-line body, as a
// client does.
func unstuff(body []byte) string {
	var b strings.Builder
	for _, l := range bytes.SplitAfter(body, []byte("\r\n")) {
		b.Write(bytes.TrimPrefix(l, []byte(".")))
	}
	return b.String()
}

func TestRetrSendsStoredFormVerbatim(t *testing.T) {
	w := newWorld()
	c := dial(t, w.server(t, testConfig(), nil), "127.0.0.1:5000")
	c.login("alice@example.com", "secret")
	for i, want := range []string{msgPlain, msgDots, msgLong, msg8bit} {
		status := c.cmd(fmt.Sprintf("RETR %d", i+1))
		if want := fmt.Sprintf("+OK %d octets", len(stuff(want))); status != want {
			t.Fatalf("RETR %d: %q, want %q", i+1, status, want)
		}
		body := c.multi()
		if !bytes.Equal(body, stuff(want)) {
			t.Errorf("RETR %d: wire bytes differ from the stored form", i+1)
		}
		if got := unstuff(body); got != want {
			t.Errorf("RETR %d: client sees %q, want %q", i+1, got, want)
		}
	}
}

func TestRetrFailureBeforeFirstByteIsSysTemp(t *testing.T) {
	w := newWorld()
	w.drops.retrFail = 0
	c := dial(t, w.server(t, testConfig(), nil), "127.0.0.1:5000")
	c.login("alice@example.com", "secret")
	for range 12 { // more than MaxErrors: our failures do not end the session
		if got := c.cmd("RETR 1"); got != "-ERR [SYS/TEMP] message 1 temporarily unavailable" {
			t.Fatalf("RETR with every copy unreachable: %q", got)
		}
	}
	if got := c.cmd("TOP 2 1"); got != "-ERR [SYS/TEMP] message 2 temporarily unavailable" {
		t.Fatalf("TOP with every copy unreachable: %q", got)
	}
	if got := c.cmd("NOOP"); got != "+OK" {
		t.Fatalf("session after retrieval failures: %q", got)
	}
}

// A failure in the middle of a message that still sits whole in the
// session's buffer is answered -ERR [SYS/TEMP], and the session goes on.
func TestRetrFailureMidSmallMessageIsSysTemp(t *testing.T) {
	w := newWorld()
	w.drops.retrFail = 10
	c := dial(t, w.server(t, testConfig(), nil), "127.0.0.1:5000")
	c.login("alice@example.com", "secret")
	if got := c.cmd("RETR 1"); got != "-ERR [SYS/TEMP] message 1 temporarily unavailable" {
		t.Fatalf("RETR failing mid-message: %q", got)
	}
	if got := c.cmd("NOOP"); got != "+OK" {
		t.Fatalf("session after the failure: %q", got)
	}
}

// Once part of the reply has left (a message larger than the buffer), only
// closing the connection can tell the client the message is incomplete.
func TestRetrFailureMidMessageClosesConnection(t *testing.T) {
	w := newWorld()
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("b", 78)+"\r\n", 4*writeBufferBytes/80)
	w.drops.boxes[bob] = []fakeMsg{{"0009eeee", stuff(big)}}
	w.drops.retrFail = 3 * writeBufferBytes
	c := dial(t, w.server(t, testConfig(), nil), "127.0.0.1:5000")
	c.login("bob@example.com", "hunter 2")
	c.send("RETR 1")
	c.expectPrefix(fmt.Sprintf("+OK %d octets", len(stuff(big))))
	got, err := io.ReadAll(c.r)
	if err != nil || len(got) == 0 || len(got) >= len(stuff(big)) || !bytes.HasPrefix(stuff(big), got) {
		t.Fatalf("after a mid-message failure: %d bytes, %v; want part of the message then EOF", len(got), err)
	}
}

func stuffedPrefix(msg string, n int) string { return string(stuff(msg)[:n]) }

func TestQuitAppliesDeletesOnlyInUpdate(t *testing.T) {
	w := newWorld()
	srv := w.server(t, testConfig(), nil)
	c := dial(t, srv, "127.0.0.1:5000")
	c.login("alice@example.com", "secret")
	c.cmd("DELE 2")
	c.close() // no QUIT: RFC 1939 section 6, nothing is removed
	if len(w.drops.deleted[alice]) != 0 {
		t.Fatalf("deleted without QUIT: %v", w.drops.deleted)
	}
	c = dial(t, srv, "127.0.0.1:5000")
	c.login("alice@example.com", "secret")
	c.send("DELE 3", "DELE 1", "QUIT")
	c.expectPrefix("+OK")
	c.expectPrefix("+OK")
	c.expectPrefix("+OK powermail POP3 server signing off (2 messages left)")
	c.expectClosed()
	c.close()
	if got := strings.Join(w.drops.deleted[alice], ","); got != "0001aaaa,0003cccc" {
		t.Fatalf("deleted %q, want messages 1 and 3 in order", got)
	}
	if w.drops.closed != 2 {
		t.Fatalf("maildrop closed %d times, want once per session", w.drops.closed)
	}
}

func TestQuitReportsDeleteFailure(t *testing.T) {
	w := newWorld()
	w.drops.deleteErr = errBackend
	c := dial(t, w.server(t, testConfig(), nil), "127.0.0.1:5000")
	c.login("alice@example.com", "secret")
	c.cmd("DELE 1")
	if got := c.cmd("QUIT"); got != "-ERR [SYS/TEMP] some deleted messages not removed" {
		t.Fatalf("QUIT with failing delete: %q", got)
	}
	c.expectClosed()
}

func TestSecondSessionOnMailboxIsInUse(t *testing.T) {
	w := newWorld()
	srv := w.server(t, testConfig(), nil)
	first := dial(t, srv, "127.0.0.1:5000")
	first.login("alice@example.com", "secret")
	second := dial(t, srv, "127.0.0.1:5001")
	second.expectPrefix("+OK")
	second.cmd("USER alice%example.com")
	if got := second.cmd("PASS secret"); got != "-ERR [IN-USE] maildrop already in use by another session" {
		t.Fatalf("second login: %q", got)
	}
	// Another mailbox is not affected; the lock goes with the session.
	if got := second.cmd("AUTH PLAIN AGJvYkBleGFtcGxlLmNvbQBodW50ZXIgMg=="); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("bob while alice is locked: %q", got)
	}
	first.cmd("QUIT")
	first.close()
	third := dial(t, srv, "127.0.0.1:5002")
	third.login("alice@example.com", "secret")
}

func TestBackendErrorsMapToResponseCodes(t *testing.T) {
	cases := []struct {
		name      string
		authErr   error
		openErr   error
		wantReply string
	}{
		{"userbase temporary", fmt.Errorf("db: %w", ErrTemporary), nil, "-ERR [SYS/TEMP] authentication temporarily unavailable, try again later"},
		{"userbase timeout", context.DeadlineExceeded, nil, "-ERR [SYS/TEMP] authentication temporarily unavailable, try again later"},
		{"userbase permanent", errors.New("schema broken"), nil, "-ERR [SYS/PERM] authentication failed"},
		{"maildrop temporary", nil, tempErr{}, "-ERR [SYS/TEMP] maildrop open temporarily unavailable, try again later"},
		{"maildrop permanent", nil, errBackend, "-ERR [SYS/PERM] maildrop open failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.auth.err, w.drops.openErr = tc.authErr, tc.openErr
			srv := w.server(t, testConfig(), nil)
			c := dial(t, srv, "127.0.0.1:5000")
			c.expectPrefix("+OK")
			c.cmd("USER alice@example.com")
			if got := c.cmd("PASS secret"); got != tc.wantReply {
				t.Fatalf("got %q, want %q", got, tc.wantReply)
			}
			if d := srv.penalty.delay("ip:127.0.0.1", "login:alice@example.com"); d != 0 {
				t.Fatalf("a failure of ours raised the penalty to %v", d)
			}
			if !srv.locks.tryLock(alice) {
				t.Fatal("failed open left the mailbox locked")
			}
		})
	}
}

// tempErr is a temporary error in the net.Error style.
type tempErr struct{}

func (tempErr) Error() string   { return "backend busy" }
func (tempErr) Temporary() bool { return true }

func TestPlaintextPolicy(t *testing.T) {
	w := newWorld()
	srv := w.server(t, Defaults(), nil) // loopback only, no TLS
	for _, remote := range []string{"127.0.0.1:5000", "[::1]:5000"} {
		c := dial(t, srv, remote)
		c.login("alice@example.com", "secret")
		c.cmd("QUIT")
		c.close()
	}
	calls := w.auth.callCount()
	c := dial(t, srv, "192.0.2.7:5000")
	c.expectPrefix("+OK")
	c.send("CAPA")
	c.expectPrefix("+OK")
	if caps := string(c.multi()); strings.Contains(caps, "USER") || strings.Contains(caps, "SASL") {
		t.Fatalf("CAPA offers plaintext mechanisms to a remote client without TLS:\n%s", caps)
	}
	want := "-ERR [AUTH] plaintext authentication not allowed from your address"
	for _, cmd := range []string{"USER alice@example.com", "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA=="} {
		if got := c.cmd(cmd); got != want {
			t.Fatalf("%s from a remote address: %q", cmd, got)
		}
	}
	if w.auth.callCount() != calls {
		t.Fatal("credentials were checked although refused")
	}
}

func TestIdleTimeoutLogsOut(t *testing.T) {
	w := newWorld()
	srv := w.server(t, testConfig(), nil)
	srv.cfg.IdleTimeout = 500 * time.Millisecond // below the RFC minimum, for the test only
	c := dial(t, srv, "127.0.0.1:5000")
	c.login("alice@example.com", "secret")
	c.cmd("DELE 1")
	c.expectPrefix("-ERR autologout")
	c.expectClosed()
	c.close()
	if len(w.drops.deleted) != 0 {
		t.Fatal("autologout applied deletes; RFC 1939 section 3 says it must not enter UPDATE")
	}
}

// Limits: per client address a refusal; a full server closes the oldest
// idle session that has not logged in to make room (package serve).
func TestConnectionLimits(t *testing.T) {
	w := newWorld()
	cfg := testConfig()
	cfg.Conn.MaxConnections, cfg.Conn.MaxConnectionsPerIP = 3, 2
	srv := w.server(t, cfg, nil)
	a1, a2 := dial(t, srv, "192.0.2.1:1"), dial(t, srv, "192.0.2.1:2")
	a1.expectPrefix("+OK")
	a2.expectPrefix("+OK")
	a3 := dial(t, srv, "192.0.2.1:3")
	a3.expectPrefix("-ERR [SYS/TEMP] too many connections")
	a3.expectClosed()
	b1 := dial(t, srv, "192.0.2.2:1")
	b1.login("alice@example.com", "secret")
	waitIdle(t, srv, 3)
	a2.cmd("NOOP") // a1 is now the session idle longest
	waitIdle(t, srv, 3)
	b2 := dial(t, srv, "192.0.2.3:1")
	b2.expectPrefix("+OK")
	a1.expectPrefix("-ERR [SYS/TEMP] idle session closed to make room")
	a1.expectClosed()
	if got := b1.cmd("NOOP"); got != "+OK" {
		t.Fatalf("the logged-in session: %q", got)
	}
	a2.cmd("QUIT")
	a2.close()
	dial(t, srv, "192.0.2.1:4").expectPrefix("+OK")
}

// waitIdle waits until n sessions of srv wait for a command: a client has
// its reply before the session goes back to waiting.
func waitIdle(t *testing.T, srv *Server, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); srv.sk.IdleSessions() != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions idle, want %d", srv.sk.IdleSessions(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBadListingRefusesSession(t *testing.T) {
	for _, uid := range []string{"", "has space", strings.Repeat("u", 71), "0002bbbb"} {
		w := newWorld()
		w.drops.boxes[alice][0].uid = uid // "0002bbbb": a duplicate of message 2
		srv := w.server(t, testConfig(), nil)
		c := dial(t, srv, "127.0.0.1:5000")
		c.expectPrefix("+OK")
		c.cmd("USER alice@example.com")
		if got := c.cmd("PASS secret"); got != "-ERR [SYS/PERM] maildrop open failed" {
			t.Fatalf("UID %q: %q", uid, got)
		}
		c.close()
		if !srv.locks.tryLock(alice) || w.drops.closed != 1 {
			t.Fatalf("UID %q: lock or maildrop left open", uid)
		}
	}
}

// TestPartialPipelinedLineDoesNotHoldReplies: a reply is flushed when only
// part of the next command has arrived, since that client may be waiting.
func TestPartialPipelinedLineDoesNotHoldReplies(t *testing.T) {
	w := newWorld()
	c := dial(t, w.server(t, testConfig(), nil), "127.0.0.1:5000")
	c.login("alice@example.com", "secret")
	if _, err := c.conn.Write([]byte("STAT\r\nNO")); err != nil {
		t.Fatal(err)
	}
	c.expectPrefix("+OK 4 1732")
	c.send("OP")
	c.expectPrefix("+OK")
}
