package ppclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"powermail/impl/pp"
)

// Buffer sizes of a client connection. The write buffer holds one upload
// chunk plus its header, so a chunk goes out in one write.
const (
	readBufferBytes  = 64 << 10
	writeBufferBytes = uploadChunkBytes + 64
)

// conn is one authenticated connection to the backend.
type conn struct {
	nc       net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	lastUsed time.Time
	received int64 // bytes read through r, to tell "no answer at all"

	mu        sync.Mutex // guards cancelled against the context watcher
	cancelled bool
	stopWatch func() bool
}

// dial connects and runs the mutual authentication (package pp doc).
func (c *Client) dial(ctx context.Context) (*conn, error) {
	// The backend would refuse either with a bare 535; say why here.
	if len(c.cfg.Secret) < pp.MinSecretBytes {
		return nil, ErrShortSecret
	}
	if err := pp.CheckClientName(c.cfg.ClientName); err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	nc, err := c.cfg.Dial(dctx, c.cfg.Addr)
	if err != nil {
		return nil, err
	}
	cn := &conn{nc: nc, w: bufio.NewWriterSize(nc, writeBufferBytes)}
	cn.r = pp.NewReader(countingReader{nc, &cn.received}, readBufferBytes)
	cn.watch(ctx)
	err = cn.refresh(ctx, c.cfg.IOTimeout)
	if err == nil {
		err = cn.authenticate(c.cfg)
	}
	if !cn.unwatch() || err != nil {
		nc.Close()
		return nil, orCtx(ctx, err)
	}
	return cn, nil
}

func (cn *conn) authenticate(cfg Config) error {
	greeting, err := cn.readReply()
	if err != nil {
		return err
	}
	banner, snonce, ok := strings.Cut(greeting, " ")
	if !ok || banner != pp.Banner || pp.CheckNonce(snonce) != nil {
		return malformed("greeting %q", greeting)
	}
	cnonce := pp.NewNonce()
	proof := pp.ClientProof([]byte(cfg.Secret), snonce, cnonce, cfg.ClientName)
	reply, err := cn.roundTrip(pp.Command{Verb: pp.VerbAuth, Args: []string{cfg.ClientName, cnonce, proof}})
	if err != nil {
		return err
	}
	if !pp.ProofEqual(pp.ServerProof([]byte(cfg.Secret), snonce, cnonce, cfg.ClientName), reply) {
		return ErrImpostor
	}
	return nil
}

// alive reports, without blocking, that the server has neither closed the
// connection nor sent anything unasked (a 421 at its shutdown) since its
// last reply: a pooled connection must hold no unread bytes.
func (cn *conn) alive() bool {
	if cn.r.Buffered() > 0 {
		return false
	}
	st := cn.peek()
	return st == peekIdle || st == peekNoSocket // without a socket, PING and retries cover it
}

// What a non-blocking look at the socket shows.
type peekState int

const (
	peekIdle     peekState = iota // open, nothing to read
	peekData                      // open, bytes waiting
	peekClosed                    // closed or reset by the peer, or unknown
	peekNoSocket                  // not a socket (net.Pipe in tests)
)

// peek looks at the socket with recv(MSG_PEEK|MSG_DONTWAIT), reading nothing.
func (cn *conn) peek() peekState {
	sc, ok := cn.nc.(syscall.Conn)
	if !ok {
		return peekNoSocket
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return peekClosed
	}
	st := peekClosed
	var b [1]byte
	cerr := rc.Control(func(fd uintptr) {
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == unix.EAGAIN:
			st = peekIdle
		case err == nil && n > 0:
			st = peekData
		}
	})
	if cerr != nil {
		return peekClosed
	}
	return st
}

// watch makes ctx's cancellation interrupt any blocked read or write by
// moving the deadline into the past.
func (cn *conn) watch(ctx context.Context) {
	cn.mu.Lock()
	cn.cancelled = false
	cn.mu.Unlock()
	cn.stopWatch = context.AfterFunc(ctx, func() {
		cn.mu.Lock()
		defer cn.mu.Unlock()
		cn.cancelled = true
		cn.nc.SetDeadline(time.Now())
	})
}

// unwatch stops the watcher; false means ctx fired and the connection may
// have been interrupted mid-exchange, so it must not be reused.
func (cn *conn) unwatch() bool {
	cn.stopWatch()
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return !cn.cancelled
}

// refresh sets the deadline to IOTimeout from now, or ctx's deadline if
// sooner. It refuses once ctx has fired, so a refresh cannot undo a cancel.
func (cn *conn) refresh(ctx context.Context, ioTimeout time.Duration) error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.cancelled {
		return context.Cause(ctx)
	}
	d := time.Now().Add(ioTimeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	return cn.nc.SetDeadline(d)
}

// send buffers one command line.
func (cn *conn) send(cmd pp.Command) error {
	line, err := cmd.Line()
	if err != nil {
		return err
	}
	return pp.WriteLine(cn.w, line)
}

// roundTrip sends cmd and returns the text of its OK reply, or the
// server's *pp.Error.
func (cn *conn) roundTrip(cmd pp.Command) (string, error) {
	if err := cn.send(cmd); err != nil {
		return "", err
	}
	if err := cn.w.Flush(); err != nil {
		return "", err
	}
	return cn.readReply()
}

func (cn *conn) readReply() (string, error) {
	line, err := pp.ReadLine(cn.r)
	if err != nil {
		return "", err
	}
	return pp.ParseReply(line)
}

// orCtx prefers the context's error: a deadline moved by cancellation shows
// up as an I/O timeout, which would hide the reason.
// The connection deadline may be the context's own deadline, and the I/O
// timeout can fire a moment before the context notices.
func orCtx(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if d, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(d) {
		return fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
	}
	return err
}

// countingReader counts the bytes read from the connection into the
// buffered reader.
type countingReader struct {
	r io.Reader
	n *int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}
