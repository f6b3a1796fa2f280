package smtpd

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// trickle sends s one byte every gap in the background, as a slow sender
// does, until all is sent or the connection fails.
func trickle(conn net.Conn, s string, gap time.Duration) {
	go func() {
		for i := range len(s) {
			if _, err := conn.Write([]byte{s[i]}); err != nil {
				return
			}
			time.Sleep(gap)
		}
	}()
}

// slowConfig scales issue 14's slow sender (a byte every 5 s for 400 s)
// down: pauses far below CommandTimeout, a body far longer than it.
func slowConfig() Config {
	cfg := testConfig()
	cfg.CommandTimeout, cfg.DataTimeout = 300*time.Millisecond, 5*time.Second
	return cfg
}

// TestSlowDataGets250: a body that trickles in for many command timeouts,
// but within DataTimeout, is accepted whole.
func TestSlowDataGets250(t *testing.T) {
	srv, del := newTestServer(t, slowConfig())
	conn, r := startTxConn(t, srv)
	const body = "Subject: slow\r\n\r\none byte at a time, for many command timeouts\r\n"
	trickle(conn, body+".\r\n", 25*time.Millisecond) // ~1.7 s: 5 command timeouts
	expectReply(t, r, "250 2.0.0", 0)
	if msgs := del.messages(); len(msgs) != 1 || !strings.HasSuffix(string(msgs[0].body), body) {
		t.Fatalf("delivered %d messages, want 1 with the whole body", len(msgs))
	}
}

// TestDataTimeoutEndsSlowBody: a body still trickling when DataTimeout has
// run out gets 421 4.4.2 and the session ends; the Deliverer read the
// failure (so the real one aborts on every backend) and nothing is stored.
func TestDataTimeoutEndsSlowBody(t *testing.T) {
	cfg := slowConfig()
	cfg.DataTimeout = 800 * time.Millisecond
	srv, del := newTestServer(t, cfg)
	conn, r := startTxConn(t, srv)
	start := time.Now()
	trickle(conn, "Subject: slow\r\n\r\n"+strings.Repeat("x", 200)+"\r\n.\r\n", 25*time.Millisecond) // ~5.5 s
	expectReply(t, r, "421 4.4.2 message data took too long", 0)
	if took := time.Since(start); took < cfg.DataTimeout/2 || took > 3*time.Second {
		t.Errorf("421 after %v, DataTimeout %v", took, cfg.DataTimeout)
	}
	expectBodyAbandoned(t, r, del)
}

// TestDataTimeoutEndsSlowBDAT: the same total holds from the first BDAT
// chunk to LAST, pauses between chunks included.
func TestDataTimeoutEndsSlowBDAT(t *testing.T) {
	cfg := slowConfig()
	cfg.DataTimeout = 800 * time.Millisecond
	srv, del := newTestServer(t, cfg)
	conn := pipeSession(t, srv)
	r := bufio.NewReader(conn)
	expectReply(t, r, "220", 0)
	go conn.Write([]byte("EHLO client.example\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@local.test>\r\n"))
	for range 3 {
		expectReply(t, r, "250", 0)
	}
	for chunks := 0; ; chunks++ { // 100 ms apart: the 9th or so is too late
		if chunks == 30 {
			t.Fatal("BDAT chunks accepted for 3 s, DataTimeout 800 ms")
		}
		go conn.Write([]byte("BDAT 5\r\nchunk"))
		if got := expectReply(t, r, "", 0); got != "250 2.0.0 5 octets received" {
			if !strings.HasPrefix(got, "421 4.4.2 message data took too long") {
				t.Fatalf("BDAT: %q", got)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	expectBodyAbandoned(t, r, del)
}

// expectBodyAbandoned checks that the session closed and that the
// Deliverer gave the message up.
func expectBodyAbandoned(t *testing.T, r *bufio.Reader, del *fakeDeliverer) {
	t.Helper()
	if l, err := r.ReadString('\n'); err == nil {
		t.Fatalf("session goes on after the 421: %q", l)
	}
	del.mu.Lock()
	defer del.mu.Unlock()
	if len(del.accepted) != 0 || del.aborted != 1 {
		t.Fatalf("accepted %d, aborted %d: want nothing stored, one abort", len(del.accepted), del.aborted)
	}
}
