package diskstore_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"powermail/impl/internal/ppserver"
	"powermail/impl/msgid"
	"powermail/impl/pp"
	"powermail/impl/store"
)

// rawConn is an authenticated connection driven byte by byte, as an
// independent client would.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	rc := &rawConn{c, pp.NewReader(c, 0)}
	snonce, _ := strings.CutPrefix(rc.line(t), "OK "+pp.Banner+" ")
	cnonce := pp.NewNonce()
	fmt.Fprintf(c, "AUTH raw %s %s\r\n", cnonce, pp.ClientProof([]byte(testSecret), snonce, cnonce, "raw"))
	if got := rc.line(t); got != "OK "+pp.ServerProof([]byte(testSecret), snonce, cnonce, "raw") {
		t.Fatalf("AUTH: %q", got)
	}
	return rc
}

func (rc *rawConn) line(t testing.TB) string {
	t.Helper()
	s, err := pp.ReadLine(rc.r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPipelining sends a whole delivery and its check in one write and
// reads the replies in order.
func TestPipelining(t *testing.T) {
	b := startBackend(t)
	rc := dialRaw(t, b.addr)
	msg := []byte("Subject: pipelined\r\n\r\nhello\r\n")
	id := msgid.New(time.Now())
	var burst bytes.Buffer
	fmt.Fprintf(&burst, "PREPARE %s\r\nCHUNK %d\r\n%sEND %d %08x\r\n", id, len(msg), msg, len(msg), store.Checksum(msg))
	fmt.Fprintf(&burst, "COMMIT %s ann@example.com\r\nLIST ann@example.com\r\nGET ann@example.com %s\r\nPING\r\n", id, id)
	rc.Write(burst.Bytes())
	for _, want := range []string{"OK stored", "OK committed", "OK 1 0", string(id) + " " + fmt.Sprint(len(msg)), fmt.Sprintf("OK %d", len(msg))} {
		if got := rc.line(t); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	body := make([]byte, len(msg))
	if _, err := io.ReadFull(rc.r, body); err != nil || !bytes.Equal(body, msg) {
		t.Fatalf("GET body %q %v", body, err)
	}
	if got := rc.line(t); got != "OK pong" {
		t.Fatalf("after body: %q", got)
	}
}

// TestVanishMidFrame: a client that disappears inside a CHUNK leaves no
// file in tmp/ and nothing in any mailbox, and other clients are unaffected.
func TestVanishMidFrame(t *testing.T) {
	b := startBackend(t)
	c := b.client(t)
	keep := put(t, c, message(5000), 5000, ann)
	rc := dialRaw(t, b.addr)
	fmt.Fprintf(rc, "PREPARE %s\r\nCHUNK 100000\r\n%s", msgid.New(time.Now()), message(50000))
	waitFor(t, func() bool { return tmpEntries(t, b.root) == 1 }) // the upload has begun
	rc.Close()
	waitFor(t, func() bool { return tmpEntries(t, b.root) == 0 })
	l, err := c.List(ctxT(t), ann)
	if err != nil || len(l.Messages) != 1 || l.Messages[0].ID != keep {
		t.Fatalf("listing after vanish: %+v %v", l, err)
	}
	put(t, c, message(10), 10, ann)
}

func tmpEntries(t testing.TB, root string) int {
	es, err := os.ReadDir(filepath.Join(root, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(testTimeout); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached in time")
}

// TestStalledReaderTimesOut: a client that asks for a large message and
// never reads it blocks sendfile(2) on a full socket buffer; the write
// deadline (io-timeout) ends that session, and other clients are
// unaffected. (What the stalled client then sees depends on the kernel: the
// closed socket still holds unsent data, so it is checked on the server.)
func TestStalledReaderTimesOut(t *testing.T) {
	// Short enough to end the stalled GET quickly, long enough that the
	// 16 MiB upload before it survives a loaded machine.
	b := startBackend(t, func(c *ppserver.Config) { c.IOTimeout = 2 * time.Second })
	c := b.client(t)
	id := put(t, c, message(16<<20), 1<<20, ann)
	if open := openConns(t); open != 1 {
		t.Fatalf("%v connections open before the test, want 1 (the client's pooled one)", open)
	}
	rc := dialRaw(t, b.addr)
	rc.Conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(rc, "GET ann@example.com %s\r\n", id)
	waitFor(t, func() bool { return openConns(t) == 1 }) // the stalled session is gone
	if _, err := c.List(ctxT(t), ann); err != nil {
		t.Fatal(err)
	}
}

// openConns reads the backend's open-sessions gauge (package serve).
func openConns(t testing.TB) float64 {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "powermail_connections_active" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == "backend" {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatal("gauge powermail_connections_active{server=\"backend\"} not found")
	return 0
}
