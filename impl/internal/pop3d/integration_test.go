package pop3d

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"powermail/impl/mailbox"
)

// bigMessageBytes is the size of the large message of the integration tests.
const bigMessageBytes = 10 << 20

// bigMessage returns about n bytes of message content with CRLF lines of up
// to 998 octets, some starting with "." or consisting of ".", and 8-bit bytes.
func bigMessage(n int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("Subject: big\r\n\r\n")
	for b.Len() < n {
		switch rng.IntN(20) {
		case 0:
			b.WriteString(".\r\n")
		case 1:
			b.WriteString("..dots " + strconv.Itoa(b.Len()) + "\r\n")
		}
		line := make([]byte, rng.IntN(999))
		for i := range line {
			line[i] = byte(0x20 + rng.IntN(0xe0)) // printable ASCII and 8-bit, no CR or LF
		}
		b.Write(line)
		b.WriteString("\r\n")
	}
	return b.String()
}

// integrationMessages are what the real clients must see, in order.
func integrationMessages() []string {
	return []string{msgPlain, msgDots, msgLong, msg8bit, bigMessage(bigMessageBytes)}
}

// startTCPServer serves the world on 127.0.0.1:0 with cfg, its maildrop reading messages from a TCP "backend" so that
// RETR copies socket to socket as in production.
func startTCPServer(t *testing.T, msgs []string, cfg Config) (addr string, drops *tcpDrops) {
	t.Helper()
	w := newWorld()
	stored := make([]fakeMsg, len(msgs))
	for i, m := range msgs {
		stored[i] = fakeMsg{uid: fmt.Sprintf("uid%04d", i+1), stored: stuff(m)}
	}
	drops = newTCPDrops(t, stored)
	srv, err := New(cfg, w.auth, drops, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	return serveTCP(t, srv), drops
}

// tcpConfig is Defaults: plaintext logins from loopback only, no TLS.
func tcpConfig() Config {
	cfg := Defaults()
	cfg.Hostname = "pop.test"
	return cfg
}

// tcpDrops is a Maildrops whose messages come over TCP from a tiny backend
// goroutine: "GET i\n" -> the stored bytes.
type tcpDrops struct {
	msgs    []fakeMsg
	backend string
	deleted chan []int
}

func newTCPDrops(t *testing.T, msgs []fakeMsg) *tcpDrops {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveBackend(conn, msgs)
		}
	}()
	return &tcpDrops{msgs: msgs, backend: ln.Addr().String(), deleted: make(chan []int, 10)}
}

func serveBackend(conn net.Conn, msgs []fakeMsg) {
	defer conn.Close()
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return
	}
	i, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "GET ")))
	_, _ = conn.Write(msgs[i].stored)
}

func (d *tcpDrops) Open(context.Context, mailbox.Name) (Maildrop, error) { return d, nil }

func (d *tcpDrops) Messages() []Message {
	return (&fakeDrop{msgs: d.msgs}).Messages()
}

// Retrieve copies from the backend socket with io.Copy over an
// io.LimitedReader, the pattern that lets Go splice socket to socket.
func (d *tcpDrops) Retrieve(ctx context.Context, i int, w io.Writer) error {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", d.backend)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET %d\n", i); err != nil {
		return err
	}
	size := int64(len(d.msgs[i].stored))
	n, err := io.Copy(w, io.LimitReader(conn, size))
	if err == nil && n != size {
		err = fmt.Errorf("backend sent %d of %d bytes", n, size)
	}
	return err
}

func (d *tcpDrops) Delete(_ context.Context, is []int) error { d.deleted <- is; return nil }
func (d *tcpDrops) Close() error                             { return nil }

// writeExpected stores each message in dir/1, dir/2, ... for the clients.
func writeExpected(t *testing.T, msgs []string) string {
	dir := t.TempDir()
	for i, m := range msgs {
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i+1)), []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPythonPoplibRetrievesExactBytes(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	msgs := integrationMessages()
	addr, drops := startTCPServer(t, msgs, tcpConfig())
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", "testdata/poplib_check.py",
		host, port, "alice%example.com", "secret", writeExpected(t, msgs))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("poplib client: %v\n%s", err, out)
	}
	select {
	case is := <-drops.deleted:
		if len(is) != 1 || is[0] != 0 {
			t.Fatalf("QUIT deleted %v, want message 1", is)
		}
	case <-time.After(testTimeout):
		t.Fatal("DELE 1 + QUIT did not reach the maildrop")
	}
	t.Logf("%s", bytes.TrimSpace(out))
}

func TestCurlRetrievesExactBytes(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	msgs := integrationMessages()
	addr, _ := startTCPServer(t, msgs, tcpConfig())
	for i, want := range msgs {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		// curl logs in with CAPA + AUTH PLAIN (SASL-IR) and undoes stuffing.
		out, err := exec.CommandContext(ctx, "curl", "-sS", "--max-time", "60",
			"-u", "alice@example.com:secret", fmt.Sprintf("pop3://%s/%d", addr, i+1)).Output()
		cancel()
		if err != nil {
			t.Fatalf("curl RETR %d: %v", i+1, err)
		}
		if !bytes.Equal(out, []byte(want)) {
			t.Errorf("curl RETR %d: got %d bytes, want %d; first difference at %d",
				i+1, len(out), len(want), firstDiff(out, []byte(want)))
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestCurlSTLS has an independent TLS client (curl, OpenSSL) upgrade with
// STLS where plaintext logins are refused, then log in and retrieve.
func TestCurlSTLS(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	cfg := tcpConfig()
	cfg.TLS, cfg.PlaintextAuth = selfSigned(t), PlaintextNever
	msgs := []string{msgDots, msg8bit}
	addr, _ := startTCPServer(t, msgs, cfg)
	curl := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		args = append([]string{"-sS", "--max-time", "60", "-u", "alice@example.com:secret"}, args...)
		return exec.CommandContext(ctx, "curl", args...).CombinedOutput()
	}
	if out, err := curl(fmt.Sprintf("pop3://%s/1", addr)); err == nil {
		t.Fatalf("login without TLS succeeded: %q", out)
	}
	out, err := curl("--ssl-reqd", "--insecure", fmt.Sprintf("pop3://%s/2", addr))
	if err != nil || string(out) != msg8bit {
		t.Fatalf("curl over STLS: %v, %q", err, out)
	}
}
