package pop3d

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// serveTCP serves srv on 127.0.0.1:0 until the test ends.
func serveTCP(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

// TestQuitThenLoginAgainNeverInUse is issue 14: a client that quits and
// logs in again at once, hundreds of times, must never be told that its
// own mailbox is in use. Closing the maildrop takes a moment here, as it
// may in production; the lock must be free by the time "+OK" is read.
func TestQuitThenLoginAgainNeverInUse(t *testing.T) {
	w := newWorld()
	w.drops.closeDelay = time.Millisecond
	addr := serveTCP(t, w.server(t, testConfig(), nil))
	const rounds = 300
	for i := range rounds {
		conn, err := net.DialTimeout("tcp", addr, testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(testTimeout))
		r := bufio.NewReader(conn)
		var replies []string
		for _, cmd := range []string{"", "USER alice@example.com", "PASS secret", "DELE 1", "QUIT"} {
			if cmd != "" {
				conn.Write([]byte(cmd + "\r\n"))
			}
			line, _ := r.ReadString('\n')
			replies = append(replies, strings.TrimSpace(line))
		}
		conn.Close()
		for _, l := range replies {
			if !strings.HasPrefix(l, "+OK") {
				t.Fatalf("round %d of %d: %q", i+1, rounds, replies)
			}
		}
	}
}
