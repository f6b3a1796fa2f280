package ppclient_test

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"powermail/impl/pp"
	"powermail/impl/ppclient"
)

// bodyBytes is large enough that the body is still in flight (socket
// buffers full) when either side of the copy fails.
const bodyBytes = 8 << 20

// tcpBackend serves every connection on a real loopback socket: it
// authenticates, reads one GET, answers "OK <bodyBytes>" and calls body.
func tcpBackend(t *testing.T, body func(c *net.TCPConn, w *bufio.Writer)) *ppclient.Client {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r, w := pp.NewReader(c, 0), bufio.NewWriter(c)
				if serveAuth(r, w) != nil {
					return
				}
				if _, err := pp.ReadLine(r); err != nil {
					return
				}
				pp.WriteLine(w, pp.FormatOK(strconv.Itoa(bodyBytes)))
				body(c.(*net.TCPConn), w)
			}()
		}
	}()
	c := ppclient.New(ppclient.Config{Addr: l.Addr().String(), Secret: secret, ClientName: "t",
		IOTimeout: 5 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

func sendBody(_ *net.TCPConn, w *bufio.Writer) {
	w.Write(bytes.Repeat([]byte("x"), bodyBytes))
	w.Flush()
}

// stopAfter accepts n bytes, then refuses, as POP3 TOP does once it has its lines.
type stopAfter struct{ n int }

var errEnough = errors.New("enough")

func (s *stopAfter) Write(p []byte) (int, error) {
	if len(p) > s.n {
		p = p[:s.n]
	}
	s.n -= len(p)
	if s.n == 0 {
		return len(p), errEnough
	}
	return len(p), nil
}

// A destination that stops the copy is not the backend's failure: the error
// carries the destination's own error and is not ErrUnreachable.
func TestGetDestinationStopIsNotABackendFailure(t *testing.T) {
	c := tcpBackend(t, sendBody)
	_, err := c.Get(ctx5(t), box, id, &stopAfter{n: 100 << 10})
	if !errors.Is(err, ppclient.ErrDestination) || !errors.Is(err, errEnough) {
		t.Fatalf("err = %v, want the destination's own error", err)
	}
	if errors.Is(err, ppclient.ErrUnreachable) {
		t.Fatalf("err = %v blames the backend", err)
	}
}

// The socket-to-socket path (splice): the POP client resets its connection
// mid-message; the backend is still sound.
func TestGetClientResetIsNotABackendFailure(t *testing.T) {
	c := tcpBackend(t, sendBody)
	dst, peer := tcpPair(t)
	peer.SetLinger(0)
	peer.Close() // RST: writes to dst fail
	time.Sleep(10 * time.Millisecond)
	_, err := c.Get(ctx5(t), box, id, dst)
	if !errors.Is(err, ppclient.ErrDestination) || errors.Is(err, ppclient.ErrUnreachable) {
		t.Fatalf("err = %v, want a destination error", err)
	}
}

// A backend that resets mid-body is a transport failure, whatever the
// destination: into a buffer (read/write path) and into a socket (splice).
func TestGetBackendResetIsABackendFailure(t *testing.T) {
	reset := func(c *net.TCPConn, w *bufio.Writer) {
		w.Write(bytes.Repeat([]byte("x"), 64<<10))
		w.Flush()
		time.Sleep(20 * time.Millisecond)
		c.SetLinger(0)
		c.Close()
	}
	c := tcpBackend(t, reset)
	dst, peer := tcpPair(t)
	go func() { _, _ = bytes.NewBuffer(nil).ReadFrom(peer) }()
	for name, w := range map[string]interface{ Write([]byte) (int, error) }{"buffer": new(bytes.Buffer), "socket": dst} {
		_, err := c.Get(ctx5(t), box, id, w)
		if !errors.Is(err, ppclient.ErrUnreachable) || errors.Is(err, ppclient.ErrDestination) {
			t.Errorf("%s: err = %v, want a transport error", name, err)
		}
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a.(*net.TCPConn), b.(*net.TCPConn)
}
