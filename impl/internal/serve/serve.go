// Package serve is the skeleton that every PowerMail protocol server runs
// on (SMTP, POP3 and the backend protocol): one accept loop, one admission
// policy, one graceful shutdown. A protocol package supplies a Handler,
// which runs one session per connection; everything about connections as
// such is here.
//
// # Admission
//
// A connection is admitted unless its client's address group already has
// MaxConnectionsPerIP sessions (an IPv4 address, or an IPv6 /64: one
// subscriber usually holds a whole /64) or the server is full. A full
// server does not simply refuse: a session that is idle (waiting for a
// command) and not yet Established (past its first step: a login, an AUTH,
// a first command) is the cheapest thing for an attacker to hold, so the
// oldest such session is closed to make room, and with EvictEstablished
// also the oldest idle established one. Only when nothing can be evicted is
// the new connection refused (Handler.Refuse writes the protocol's reply).
// A session that is not yet established waits at most NewTimeout for a
// command. Together: idle or unauthenticated connections from any number of
// addresses cannot lock a client out, and a flood from one group is capped
// by the per-address limit.
//
// # Shutdown
//
// Shutdown closes the listeners, then wakes every idle session (its read
// returns at once and Conn.Closing reports true, so the protocol says
// goodbye, e.g. "421"), and waits for the sessions in the middle of a
// command (a DATA transfer, a commit, a POP3 UPDATE) to finish and go idle
// in turn. When the context ends first, the remaining connections are
// closed and their contexts cancelled.
package serve

import (
	"container/list"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"powermail/impl/config"
)

// Config bounds the connections of one server. The keys are the same in
// every daemon.
type Config struct {
	MaxConnections      int           `key:"max-connections" alias:"max-conns" help:"most connections at once; when full, idle ones make room"`
	MaxConnectionsPerIP int           `key:"max-connections-per-ip" alias:"max-conns-per-ip" help:"most connections from one IPv4 address or IPv6 /64"`
	NewTimeout          time.Duration `key:"new-connection-timeout" help:"how long a connection may wait before its first step (login, AUTH, first command)"`
}

// Validate names the first bad key.
func (c Config) Validate() error {
	switch {
	case c.MaxConnections < 1:
		return config.Errorf("max-connections", "must be at least 1")
	case c.MaxConnectionsPerIP < 1 || c.MaxConnectionsPerIP > c.MaxConnections:
		return config.Errorf("max-connections-per-ip", "must be between 1 and max-connections (%d)", c.MaxConnections)
	case c.NewTimeout <= 0:
		return config.Errorf("new-connection-timeout", "must be positive")
	}
	return nil
}

// Handler is a protocol.
type Handler interface {
	// ServeConn runs one session on c until it ends; the skeleton closes c
	// after. It calls c.Idle before it waits for a command and c.Busy once
	// one has arrived.
	ServeConn(c *Conn)
	// Refuse tells a connection that is not admitted why, in the
	// protocol's words (a 421, a -ERR [SYS/TEMP]); the skeleton then
	// closes it. reason is "per_ip", "full" or "shutdown".
	Refuse(w io.Writer, reason string)
}

// Options are what a daemon adds to Config.
type Options struct {
	Name string // for logs and metrics: "smtp", "pop3", "backend"
	// EvictEstablished: a full server may also close the oldest idle
	// established session (front ends, whose clients reconnect); a backend
	// keeps its authenticated pools.
	EvictEstablished bool
	// EvictWithinGroup: at the per-address limit, the group's oldest idle
	// session that is not established makes room rather than the new
	// connection being refused (a backend: its few clients share their
	// hosts' addresses with whatever else runs there, which must not be
	// able to lock them out by connecting and never authenticating).
	EvictWithinGroup bool
	Log              *slog.Logger
}

// Server accepts and admits connections for one Handler.
type Server struct {
	cfg Config
	opt Options
	h   Handler

	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]bool
	conns     map[*Conn]bool
	admitted  int // conns whose slot is not released (Conn.Release)
	perGroup  map[netip.Prefix]int
	idle      list.List // idle *Conn, oldest first
	sessions  sync.WaitGroup
	hardStop  context.CancelFunc // cancels every Conn's context
	ctx       context.Context
	softStop  context.CancelFunc // ends stopping: Shutdown has begun
	stopping  context.Context
}

// New returns a server for h.
func New(cfg Config, h Handler, opt Options) *Server {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	s := &Server{cfg: cfg, opt: opt, h: h, listeners: map[net.Listener]bool{}, conns: map[*Conn]bool{},
		perGroup: map[netip.Prefix]int{}}
	s.ctx, s.hardStop = context.WithCancel(context.Background())
	s.stopping, s.softStop = context.WithCancel(s.ctx)
	return s
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("serve: server closed")

// acceptBackoffMax caps the pause after a temporary Accept failure.
const acceptBackoffMax = time.Second

// Serve accepts connections on ln until Shutdown; it returns
// ErrServerClosed then, or a permanent Accept error.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		return ErrServerClosed
	}
	defer s.untrack(ln)
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		switch {
		case err == nil:
			backoff = 0
			s.admit(c)
		case s.isClosing():
			return ErrServerClosed
		case temporary(err):
			// Out of file descriptors and the like: connections will close
			// and free them; wait rather than spin (as net/http does).
			backoff = min(max(2*backoff, 5*time.Millisecond), acceptBackoffMax)
			s.opt.Log.Warn("accept failed; retrying", "server", s.opt.Name, "err", err, "in", backoff)
			time.Sleep(backoff)
		default:
			return err
		}
	}
}

// temporary reports Accept failures that pass.
func temporary(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ServeConn admits and serves one connection in the calling goroutine (tests
// and inetd-style use); Serve runs it in a goroutine per connection.
func (s *Server) ServeConn(nc net.Conn) {
	c, reason := s.register(nc)
	if c == nil {
		s.refuse(nc, reason)
		return
	}
	s.run(c)
}

func (s *Server) admit(nc net.Conn) {
	c, reason := s.register(nc)
	if c == nil {
		s.refuse(nc, reason)
		return
	}
	go s.run(c)
}

func (s *Server) run(c *Conn) {
	defer s.sessions.Done()
	defer s.forget(c)
	metricActive.WithLabelValues(s.opt.Name).Inc()
	defer metricActive.WithLabelValues(s.opt.Name).Dec()
	s.h.ServeConn(c)
}

// refuseTimeout bounds the write of a refusal.
const refuseTimeout = time.Second

func (s *Server) refuse(nc net.Conn, reason string) {
	metricRefused.WithLabelValues(s.opt.Name, reason).Inc()
	_ = nc.SetWriteDeadline(time.Now().Add(refuseTimeout))
	s.h.Refuse(nc, reason)
	_ = nc.Close()
}

// register admits nc or names the reason it is refused.
func (s *Server) register(nc net.Conn) (*Conn, string) {
	group := Group(nc.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return nil, "shutdown"
	case group.IsValid() && s.cfg.MaxConnectionsPerIP > 0 && s.perGroup[group] >= s.cfg.MaxConnectionsPerIP:
		if !s.opt.EvictWithinGroup || !s.evictOne(group) {
			return nil, "per_ip"
		}
	case s.cfg.MaxConnections > 0 && s.admitted >= s.cfg.MaxConnections && !s.evictOne(netip.Prefix{}):
		return nil, "full"
	}
	c := &Conn{Conn: nc, s: s, group: group, since: time.Now()}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	s.conns[c] = true
	s.admitted++
	if group.IsValid() {
		s.perGroup[group]++
	}
	s.sessions.Add(1)
	return c, ""
}

// evictOne closes the oldest idle session that is not established (or, if
// allowed and group is not given, the oldest idle established one) to make
// room, of group if it is valid; the caller holds s.mu. The evicted
// session still counts until its goroutine ends, so a full server may
// briefly hold one connection more than the limit.
func (s *Server) evictOne(group netip.Prefix) bool {
	for _, established := range []bool{false, true} {
		if established && (!s.opt.EvictEstablished || group.IsValid()) {
			return false
		}
		for e := s.idle.Front(); e != nil; e = e.Next() {
			c := e.Value.(*Conn)
			if c.established != established || c.evicted || group.IsValid() && c.group != group {
				continue
			}
			c.evicted = true
			s.setIdle(c, false)
			_ = c.Conn.SetReadDeadline(time.Now()) // its read ends; the session says goodbye
			metricEvicted.WithLabelValues(s.opt.Name).Inc()
			return true
		}
	}
	return false
}

// forget removes c once its session ended.
func (s *Server) forget(c *Conn) {
	_ = c.Conn.Close()
	c.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setIdle(c, false)
	s.releaseLocked(c)
	delete(s.conns, c)
}

// releaseLocked frees c's admission slot once.
func (s *Server) releaseLocked(c *Conn) {
	if c.released {
		return
	}
	c.released = true
	s.admitted--
	if c.group.IsValid() {
		if s.perGroup[c.group]--; s.perGroup[c.group] <= 0 {
			delete(s.perGroup, c.group)
		}
	}
}

// IdleSessions is how many sessions are waiting for a command: the ones a
// full server may evict, oldest first.
func (s *Server) IdleSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idle.Len()
}

// setIdle moves c into or out of the idle list; the caller holds s.mu.
func (s *Server) setIdle(c *Conn, idle bool) {
	switch {
	case idle && c.idleElem == nil:
		c.idleElem = s.idle.PushBack(c)
	case !idle && c.idleElem != nil:
		s.idle.Remove(c.idleElem)
		c.idleElem = nil
	}
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.listeners[ln] = true
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, ln)
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Shutdown stops accepting, ends idle sessions and waits for the others to
// finish their command; see the package doc. It returns ctx.Err() if ctx
// ended first (the rest were then closed).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.softStop()
	for ln := range s.listeners {
		_ = ln.Close()
	}
	for e := s.idle.Front(); e != nil; e = e.Next() {
		_ = e.Value.(*Conn).Conn.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.sessions.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.hardStop()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Conn.Close()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

// Group is the admission group of a client address: the IPv4 address, or
// the IPv6 /64 (an IPv4-mapped IPv6 address counts as IPv4). Invalid for
// addresses that are not IP (net.Pipe in tests).
func Group(addr net.Addr) netip.Prefix {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}
