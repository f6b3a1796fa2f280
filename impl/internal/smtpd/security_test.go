package smtpd

import (
	"bufio"
	"net"
	"strings"
	"testing"

	"powermail/impl/mailbox"
)

// startTx runs EHLO, MAIL, RCPT, DATA and waits for 354.
func startTx(t *testing.T, srv *Server) (*bufio.Reader, func(string)) {
	t.Helper()
	conn, r := startTxConn(t, srv)
	return r, func(s string) {
		go conn.Write([]byte(s)) // net.Pipe blocks until read
	}
}

// startTxConn opens a session over net.Pipe and runs it to the 354 of DATA.
func startTxConn(t *testing.T, srv *Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn := pipeSession(t, srv)
	r := bufio.NewReader(conn)
	expectReply(t, r, "220", 0)
	go conn.Write([]byte("EHLO client.example\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@local.test>\r\nDATA\r\n"))
	for _, code := range []string{"250", "250", "250", "354"} {
		expectReply(t, r, code, 0)
	}
	return conn, r
}

// TestSmuggling sends, for each end-of-data spelling that a lenient reader
// (textproto.DotReader, older Postfix/Sendmail/Exchange) would accept, a first
// message ending that way with a complete second transaction pipelined behind
// it. At most one message may be delivered, and never the smuggled one.
func TestSmuggling(t *testing.T) {
	const smuggled = "MAIL FROM:<evil@remote.test>\r\nRCPT TO:<u@local.test>\r\nDATA\r\nSMUGGLED\r\n"
	endings := []string{"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r", "\r.\r", "\n.\r", "\r\n.\r\r\n", ".\n"}
	for _, end := range endings {
		for _, real := range []string{".\r\n", "\r\n.\r\n"} { // how the outer relay ends it
			t.Run(strings.NewReplacer("\r", "CR", "\n", "LF").Replace(end+"|"+real), func(t *testing.T) {
				srv, del := newTestServer(t, testConfig())
				r, write := startTx(t, srv)
				write("Subject: first\r\n\r\nbody" + end + smuggled + real + "QUIT\r\n")
				expectReply(t, r, "554 5.5.2", 0)
				if l, err := readReply(r); err == nil {
					t.Fatalf("session went on after bare CR/LF: %q", l)
				}
				msgs := del.messages()
				if len(msgs) > 1 {
					t.Fatalf("%d messages delivered", len(msgs))
				}
				for _, m := range msgs {
					if m.tx.MailFrom == "evil@remote.test" || strings.HasPrefix(string(m.body), "SMUGGLED") {
						t.Fatalf("smuggled message delivered: %q", m.body)
					}
				}
			})
		}
	}
}

// TestBareNewlineAbortsDeliverer checks that the Deliverer, reading while the
// data arrives, sees the error and that nothing is accepted.
func TestBareNewlineAbortsDeliverer(t *testing.T) {
	srv, del := newTestServer(t, testConfig())
	r, write := startTx(t, srv)
	write("ok line\r\nbad\nline\r\n.\r\n")
	expectReply(t, r, "554 5.5.2", 0)
	if del.aborted != 1 || len(del.messages()) != 0 {
		t.Fatalf("aborted %d, delivered %d; want 1, 0", del.aborted, len(del.messages()))
	}
}

// TestOpenRelay: every spelling that could route a message elsewhere is
// refused, and only addresses the Resolver knows are accepted.
func TestOpenRelay(t *testing.T) {
	tests := []struct{ rcpt, want string }{
		{"<u@local.test>", "250"},
		{"<U@LOCAL.TEST>", "250"},                         // case variant of a local mailbox
		{"<@relay.test,@local.test:u@local.test>", "250"}, // source route ignored (RFC 5321 App. C)
		{"<postmaster>", "250"},                           // RFC 5321 4.5.1
		{"<PostMaster>", "250"},
		{"<u@remote.test>", "550"},
		{"<u%remote.test@local.test>", "550"},     // percent hack: just an unknown local part
		{"<@local.test:u@remote.test>", "550"},    // source route to a remote mailbox
		{"<\"u@remote.test\"@local.test>", "553"}, // quoted local part
		{"<u@[1.2.3.4]>", "553"},                  // address literal
		{"<u@[IPv6:::1]>", "553"},
		{"<u@remote.test@local.test>", "553"},
		{"<u@local.test.>", "553"}, // trailing dot
		{"<u.@local.test>", "553"},
		{"<u!remote.test@local.test>", "550"}, // bang path: unknown local part
		{"<@local.test:>", "553"},
		{"<@local.test u@local.test>", "501"},
		{"<u@local.test", "501"},
		{"u@local.test", "501"},
		{"<u@local.test>x", "501"},
		{"<>", "553"},
		{"<u@xn--bcher-kva.test>", "550"},
	}
	cfg := testConfig()
	cfg.MaxErrors = 100
	srv, _ := newTestServer(t, cfg)
	res := srv.resolver.(*fakeResolver)
	conn := pipeSession(t, srv)
	r := bufio.NewReader(conn)
	expectReply(t, r, "220", 0)
	for _, tc := range tests {
		go conn.Write([]byte("EHLO c.example\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:" + tc.rcpt + "\r\n"))
		expectReply(t, r, "250", 0)
		expectReply(t, r, "250", 0)
		if got, _ := readReply(r); !strings.HasPrefix(got, tc.want) {
			t.Errorf("RCPT TO:%s -> %q, want %s", tc.rcpt, got, tc.want)
		}
	}
	// The resolver only ever sees canonical mailbox names.
	for _, c := range res.calls {
		if n, err := mailbox.Parse(c); err != nil || string(n) != c {
			t.Errorf("resolver was asked about %q", c)
		}
	}
}
