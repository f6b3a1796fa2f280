package limits

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

const streamBufBytes = 256 << 10

// loopbackRate sends from n client streams to a server that discards, and
// returns MB/s (10^6 bytes) received.
func loopbackRate(ctx context.Context, n int, d time.Duration) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	go acceptAll(ln, discard)
	conns, err := dialN(ln.Addr().String(), n)
	if err != nil {
		return 0, err
	}
	defer closeAll(conns)
	buf := make([]byte, streamBufBytes)
	ops, err := parallel(ctx, n, d, func(w, _ int) error {
		_, err := conns[w].Write(buf)
		return err
	})
	return ops * streamBufBytes / 1e6, err
}

// discard reads c until EOF with a large buffer (io.Copy to io.Discard
// would read in 8 KiB pieces, and measure syscall cost, not bandwidth).
func discard(c net.Conn) {
	buf := make([]byte, streamBufBytes)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// sendfileRate serves a file of size bytes with sendfile to conns clients
// that each ask for it (one byte request) and read it whole.
func sendfileRate(ctx context.Context, dir string, size, conns int, d time.Duration) (SendRate, error) {
	r := SendRate{FileBytes: size, Conns: conns}
	path := filepath.Join(dir, fmt.Sprint("sendfile-", size))
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		return r, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	defer ln.Close()
	go acceptAll(ln, func(c net.Conn) { serveFile(c, path, int64(size)) })
	return clientRate(ctx, ln.Addr().String(), size, conns, d)
}

// clientRate measures conns clients that each send a request byte to addr
// and read size bytes back, as often as they can for d.
func clientRate(ctx context.Context, addr string, size, conns int, d time.Duration) (SendRate, error) {
	r := SendRate{FileBytes: size, Conns: conns}
	cs, err := dialN(addr, conns)
	if err != nil {
		return r, err
	}
	defer closeAll(cs)
	bufs := make([][]byte, conns)
	for i := range bufs {
		bufs[i] = make([]byte, streamBufBytes)
	}
	ops, err := parallel(ctx, conns, d, func(w, _ int) error {
		buf := bufs[w]
		if _, err := cs[w].Write([]byte{'G'}); err != nil {
			return err
		}
		_, err := io.ReadFull(cs[w], buf[:min(size, len(buf))])
		for got := min(size, len(buf)); err == nil && got < size; got += len(buf) {
			_, err = io.ReadFull(cs[w], buf[:min(size-got, len(buf))])
		}
		return err
	})
	r.ReqPerSec, r.MBPerSec = ops, ops*float64(size)/1e6
	return r, err
}

// twoHopRate is sendfileRate through a relay, the path of a POP3 RETR in
// PowerMail: file -> sendfile -> loopback -> relay (splice) -> loopback ->
// client. The relay asks its own connection to the file server for each
// request and copies the answer socket to socket, as powerpop does.
func twoHopRate(ctx context.Context, dir string, size, conns int, d time.Duration) (SendRate, error) {
	r := SendRate{FileBytes: size, Conns: conns}
	path := filepath.Join(dir, fmt.Sprint("twohop-", size))
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		return r, err
	}
	files, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	defer files.Close()
	go acceptAll(files, func(c net.Conn) { serveFile(c, path, int64(size)) })
	relay, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	defer relay.Close()
	go acceptAll(relay, func(c net.Conn) { serveRelay(c, files.Addr().String(), int64(size)) })
	return clientRate(ctx, relay.Addr().String(), size, conns, d)
}

// serveRelay answers each request byte of c with the file server's answer
// to a request byte of its own, copied socket to socket (splice(2)).
func serveRelay(c net.Conn, fileAddr string, size int64) {
	b, err := net.Dial("tcp", fileAddr)
	if err != nil {
		return
	}
	defer b.Close()
	req := make([]byte, 1)
	for {
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		if _, err := b.Write(req); err != nil {
			return
		}
		if _, err := io.Copy(c, io.LimitReader(b, size)); err != nil {
			return
		}
	}
}

// serveFile answers each request byte with the file. io.Copy from a
// LimitReader of an *os.File to a TCP conn uses sendfile(2) with the exact
// count (without the limit Go asks for 2^31-1 bytes, then makes a second
// call that returns 0: Go issues 41513, 45256).
func serveFile(c net.Conn, path string, size int64) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	req := make([]byte, 1)
	for {
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return
		}
		if _, err := io.Copy(c, io.LimitReader(f, size)); err != nil {
			return
		}
	}
}

func acceptAll(ln net.Listener, serve func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			serve(c)
		}()
	}
}

func dialN(addr string, n int) ([]net.Conn, error) {
	var cs []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			closeAll(cs)
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

func closeAll(cs []net.Conn) {
	for _, c := range cs {
		c.Close()
	}
}
