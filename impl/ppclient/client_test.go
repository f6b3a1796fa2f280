package ppclient_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/pp"
	"powermail/impl/ppclient"
)

const secret = "a shared secret for the tests"

// scripted returns a client whose every connection is served by a goroutine
// that authenticates like a pplistener and then runs script. dials counts
// the connections made.
func scripted(t *testing.T, script func(r *bufio.Reader, w *bufio.Writer)) (*ppclient.Client, *atomic.Int32) {
	var dials atomic.Int32
	dial := func(ctx context.Context, _ string) (net.Conn, error) {
		dials.Add(1)
		c, s := net.Pipe()
		go func() {
			defer s.Close()
			r, w := pp.NewReader(s, 0), bufio.NewWriter(s)
			if serveAuth(r, w) == nil {
				script(r, w)
				w.Flush()
			}
		}()
		return c, nil
	}
	c := ppclient.New(ppclient.Config{Addr: "scripted", Secret: secret, ClientName: "t",
		IOTimeout: 5 * time.Second, Dial: dial})
	t.Cleanup(func() { c.Close() })
	return c, &dials
}

func serveAuth(r *bufio.Reader, w *bufio.Writer) error {
	snonce := pp.NewNonce()
	pp.WriteLine(w, pp.FormatOK(pp.Banner+" "+snonce))
	w.Flush()
	line, err := pp.ReadLine(r)
	if err != nil {
		return err
	}
	f := strings.Split(line, " ")
	if len(f) != 4 || !pp.ProofEqual(pp.ClientProof([]byte(secret), snonce, f[2], f[1]), f[3]) {
		return errors.New("bad auth")
	}
	pp.WriteLine(w, pp.FormatOK(pp.ServerProof([]byte(secret), snonce, f[2], f[1])))
	return w.Flush()
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var (
	box = mailbox.MustParse("ann@example.com")
	id  = msgid.New(time.UnixMilli(1732370000000))
)

// TestGetUsesBufferedBytesFirst: the body arrives in the same segment as the
// OK line, so part of it sits in the bufio.Reader; it must reach dst first
// and exactly once, and the connection must stay in step.
func TestGetUsesBufferedBytesFirst(t *testing.T) {
	c, dials := scripted(t, func(r *bufio.Reader, w *bufio.Writer) {
		for {
			line, err := pp.ReadLine(r)
			if err != nil {
				return
			}
			if strings.HasPrefix(line, "GET ") {
				w.WriteString("OK 10\r\n0123456789")
			} else {
				w.WriteString("OK pong\r\n")
			}
			w.Flush()
		}
	})
	for range 2 {
		var buf bytes.Buffer
		n, err := c.Get(ctx5(t), box, id, &buf)
		if err != nil || n != 10 || buf.String() != "0123456789" {
			t.Fatalf("Get: %d %q %v", n, buf.String(), err)
		}
	}
	if err := c.Ping(ctx5(t)); err != nil || dials.Load() != 1 {
		t.Fatalf("ping %v after %d dials; want one pooled connection", err, dials.Load())
	}
}

func TestMalformedReplyDiscardsConnection(t *testing.T) {
	c, dials := scripted(t, func(r *bufio.Reader, w *bufio.Writer) {
		pp.ReadLine(r)
		w.WriteString("HELLO?\r\n")
	})
	for range 2 {
		err := c.Ping(ctx5(t))
		if !errors.Is(err, ppclient.ErrUnreachable) || !errors.Is(err, pp.ErrMalformedReply) || !ppclient.IsTemporary(err) {
			t.Fatalf("got %v", err)
		}
	}
	if dials.Load() != 2 {
		t.Fatalf("%d dials: a broken connection was reused", dials.Load())
	}
}

func TestDeadlineInterruptsSilentServer(t *testing.T) {
	c, _ := scripted(t, func(r *bufio.Reader, w *bufio.Writer) {
		pp.ReadLine(r)
		time.Sleep(2 * time.Second) // never answers in time
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Ping(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ppclient.ErrUnreachable) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestServerErrorsAreWireErrors(t *testing.T) {
	c, _ := scripted(t, func(r *bufio.Reader, w *bufio.Writer) {
		pp.ReadLine(r)
		w.WriteString("ERR 453 backend is read-only\r\n")
		w.Flush()
		pp.ReadLine(r)
		w.WriteString("ERR 550 no such message\r\n")
	})
	err := c.SetMinFree(ctx5(t), 1)
	var werr *pp.Error
	if !errors.As(err, &werr) || werr.Code != pp.CodeReadOnly || !ppclient.IsTemporary(err) || errors.Is(err, ppclient.ErrUnreachable) {
		t.Fatalf("got %v", err)
	}
	err = c.Delete(ctx5(t), box, id)
	if !errors.As(err, &werr) || werr.Code != pp.CodeNotFound || ppclient.IsTemporary(err) {
		t.Fatalf("got %v", err)
	}
}

func TestUnreachableBackend(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := ppclient.New(ppclient.Config{Addr: addr, Secret: secret, ClientName: "t", DialTimeout: time.Second})
	err := c.Ping(ctx5(t))
	var te *ppclient.TransportError
	if !errors.As(err, &te) || te.Op != "dial" || !errors.Is(err, ppclient.ErrUnreachable) {
		t.Fatalf("got %v", err)
	}
}

func TestTooManyBoxesRefusedBeforeSending(t *testing.T) {
	c, dials := scripted(t, func(r *bufio.Reader, w *bufio.Writer) {})
	boxes := make([]mailbox.Name, pp.MaxBoxes+1)
	for i := range boxes {
		boxes[i] = box
	}
	if err := c.Commit(ctx5(t), id, boxes); !errors.Is(err, pp.ErrTooManyBoxes) || ppclient.IsTemporary(err) {
		t.Fatalf("got %v", err)
	}
	if dials.Load() != 0 {
		t.Fatal("a connection was made for a request refused locally")
	}
}

func TestShortSecretNeverDials(t *testing.T) {
	var dials atomic.Int32
	c := ppclient.New(ppclient.Config{Addr: "x", Secret: "short", ClientName: "t",
		Dial: func(context.Context, string) (net.Conn, error) { dials.Add(1); return nil, errors.New("no") }})
	if err := c.Ping(ctx5(t)); !errors.Is(err, ppclient.ErrShortSecret) || dials.Load() != 0 {
		t.Fatalf("got %v after %d dials", err, dials.Load())
	}
}
