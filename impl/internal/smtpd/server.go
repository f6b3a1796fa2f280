package smtpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"powermail/impl/internal/wallclock"
	"powermail/impl/msgid"
)

// Server accepts SMTP connections and runs one session per connection.
type Server struct {
	cfg       Config
	resolver  Resolver
	deliverer Deliverer
	log       *slog.Logger
	now       func() time.Time // the clock of deadlines, read only through this field
	wall      *wallclock.Clock // the wall clock of what outlives the session (see stamp)
	ids       msgid.Generator  // every id of this process: they never go back

	mu        sync.Mutex
	closed    bool
	total     int
	perIP     map[netip.Addr]int
	conns     map[net.Conn]struct{}
	listeners map[net.Listener]struct{}
	wg        sync.WaitGroup
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("smtpd: server closed")

// New validates cfg and returns a server that uses resolver and deliverer.
func New(cfg Config, resolver Resolver, deliverer Deliverer, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if resolver == nil || deliverer == nil || log == nil {
		return nil, fmt.Errorf("smtpd: resolver, deliverer and logger are required")
	}
	return &Server{
		cfg: cfg, resolver: resolver, deliverer: deliverer, log: log, now: time.Now, wall: wallclock.New(shiftClock),
		perIP: map[netip.Addr]int{}, conns: map[net.Conn]struct{}{}, listeners: map[net.Listener]struct{}{},
	}, nil
}

// Serve accepts connections on ln until Close; it returns ErrServerClosed then.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		return ErrServerClosed
	}
	defer s.untrack(ln)
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			// Out of file descriptors and the like: wait, as net/http does,
			// rather than spin or give up.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		go s.ServeConn(conn)
	}
}

// ServeConn runs a session on conn and closes it; it returns when the session
// ends. Connection limits apply: over a limit the client gets 421.
func (s *Server) ServeConn(conn net.Conn) {
	ip := remoteIP(conn)
	if limit := s.admit(conn, ip); limit != "" {
		metricRefused.WithLabelValues(limit).Inc()
		conn.SetWriteDeadline(s.now().Add(time.Second))
		fmt.Fprintf(conn, "%s\r\n", replyTooManyConns)
		conn.Close()
		return
	}
	freeSlot := sync.OnceFunc(func() { s.freeSlot(ip) })
	defer s.release(conn, freeSlot)
	newSession(s, conn, ip, freeSlot).serve()
}

// admit registers conn unless a limit is reached; it names the limit then.
func (s *Server) admit(conn net.Conn, ip netip.Addr) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return "closed"
	case s.total >= s.cfg.MaxConns:
		return "total"
	case ip.IsValid() && s.perIP[ip] >= s.cfg.MaxConnsPerIP:
		return "per_ip"
	}
	s.total++
	if ip.IsValid() {
		s.perIP[ip]++
	}
	s.conns[conn] = struct{}{}
	s.wg.Add(1)
	return ""
}

// freeSlot gives back what admit counted against MaxConns and
// MaxConnsPerIP. The session calls it before its last reply (see
// session.finish); release calls it for the sessions that ended otherwise.
func (s *Server) freeSlot(ip netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if ip.IsValid() {
		if s.perIP[ip]--; s.perIP[ip] == 0 {
			delete(s.perIP, ip)
		}
	}
}

// release closes conn, frees its slot (once), and tells Close that the
// session is over.
func (s *Server) release(conn net.Conn, freeSlot func()) {
	conn.Close()
	freeSlot()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, conn)
	s.wg.Done()
}

// Close stops the listeners, closes every connection (a message not yet
// acknowledged is then not acknowledged: the client retries) and waits for
// the sessions to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, ln)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func remoteIP(conn net.Conn) netip.Addr {
	ap, err := netip.ParseAddrPort(conn.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// deadlineConn arms a deadline before every read and write: the next bytes
// must come within idle (the per-command timeout), and no read may wait past
// the end of the session, nor past the end of the message body while one is
// being received. Arming per call covers command lines, DATA and BDAT chunks
// alike, and the TLS layer above it.
type deadlineConn struct {
	net.Conn
	idle       time.Duration
	sessionEnd time.Time
	bodyEnd    time.Time // zero outside a message body
	now        func() time.Time
}

func (c *deadlineConn) deadline() time.Time {
	d := c.now().Add(c.idle)
	if d.After(c.sessionEnd) {
		d = c.sessionEnd
	}
	if !c.bodyEnd.IsZero() && d.After(c.bodyEnd) {
		d = c.bodyEnd
	}
	return d
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(c.deadline()); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// Write is bounded by idle only, not by the end of the session, so the 421
// that announces a session timeout can still be sent.
func (c *deadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(c.now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// sessionContext ends with the session; the Resolver and Deliverer get it.
func (s *Server) sessionContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.SessionTimeout)
}
