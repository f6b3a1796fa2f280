package pop3d

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzSession feeds arbitrary client bytes to a whole session (TLS off,
// plaintext allowed, fake world) and checks that it ends, answers in CRLF
// lines starting with a status, and leaves no lock behind. Seeds: the client
// lines of every dialog in testdata/dialogs, plus testdata/fuzz/FuzzSession.
func FuzzSession(f *testing.F) {
	dialogs, _ := filepath.Glob("testdata/dialogs/*.txt")
	for _, d := range dialogs {
		f.Add(clientBytes(f, d))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		w := newWorld()
		srv := w.server(t, testConfig(), apopAuth{w.auth})
		srv.cfg.IdleTimeout = 5 * time.Millisecond // end the session once input is consumed
		out := runSession(t, srv, input)
		if !bytes.HasPrefix(out, []byte("+OK ")) || !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("output %q does not start with a greeting and end in CRLF", out)
		}
		if bytes.Contains(out, []byte("[SYS/PERM]")) {
			t.Fatalf("permanent failure from fakes that never fail: %q", out)
		}
		if !srv.locks.tryLock(alice) || !srv.locks.tryLock(bob) {
			t.Fatal("a maildrop lock outlived its session")
		}
	})
}

// runSession writes input into a session and returns everything the server
// sent until it closed the connection.
func runSession(t *testing.T, srv *Server, input []byte) []byte {
	c1, c2 := net.Pipe()
	defer c1.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeConn(addrConn{c2, tcpAddr("127.0.0.1:5000")})
	}()
	go func() { _, _ = c1.Write(input) }() // may stop early when the server hangs up
	_ = c1.SetReadDeadline(time.Now().Add(testTimeout))
	out, err := io.ReadAll(c1)
	if err != nil && !strings.Contains(err.Error(), "closed pipe") {
		t.Fatalf("reading the session: %v", err)
	}
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatal("session did not end")
	}
	return out
}

// clientBytes extracts the "C: " lines of a dialog as one client stream.
func clientBytes(tb testing.TB, dialog string) []byte {
	data, err := os.ReadFile(dialog)
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	for _, l := range strings.Split(string(data), "\n") {
		if c, ok := strings.CutPrefix(l, "C: "); ok {
			b.WriteString(c + "\r\n")
		}
	}
	return b.Bytes()
}
