package pop3d

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("pop3d: server closed")

// Server serves POP3 sessions. Create it with New; it is safe for concurrent
// use by several Serve calls (one per listener).
type Server struct {
	cfg     Config
	auth    Authenticator
	apop    APOPAuthenticator // nil when auth cannot give secrets
	drops   Maildrops
	log     *slog.Logger
	clock   Clock
	penalty *penalties
	conns   *connLimiter
	locks   lockSet

	// ctx ends when Shutdown starts: stop accepting and reading commands.
	// work ends when Shutdown gives up waiting: cancel commands in progress.
	ctx, work        context.Context
	cancel, stopWork context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]bool
	sessions  sync.WaitGroup
}

// Option changes a Server dependency that only tests and mains care about.
type Option func(*Server)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithClock sets the clock of the login penalty (default: real time).
func WithClock(c Clock) Option { return func(s *Server) { s.clock = c } }

// New validates cfg and returns a Server.
func New(cfg Config, auth Authenticator, drops Maildrops, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if auth == nil || drops == nil {
		return nil, errors.New("pop3d: Authenticator and Maildrops are required")
	}
	s := &Server{cfg: cfg, auth: auth, drops: drops, log: slog.Default(), clock: realClock{},
		conns: newConnLimiter(cfg.MaxConnections, cfg.MaxConnectionsPerIP), listeners: make(map[net.Listener]bool)}
	s.apop, _ = auth.(APOPAuthenticator)
	for _, o := range opts {
		o(s)
	}
	s.penalty = newPenalties(s.clock, cfg.AuthDelayBase, cfg.AuthDelayMax, cfg.AuthDelayForget)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.work, s.stopWork = context.WithCancel(context.Background())
	return s, nil
}

// acceptBackoffMax caps the pause after a temporary Accept error (EMFILE).
const acceptBackoffMax = time.Second

// Serve accepts connections on ln until Shutdown, serving each in its own
// goroutine. It always returns a non-nil error, ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		return ErrServerClosed
	}
	defer s.untrack(ln)
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if s.ctx.Err() != nil {
			if err == nil {
				conn.Close()
			}
			return ErrServerClosed
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || IsTemporary(err) {
			backoff = min(max(2*backoff, 5*time.Millisecond), acceptBackoffMax)
			s.log.Warn("pop3 accept", "err", err, "backoff", backoff)
			time.Sleep(backoff)
			continue
		}
		if err != nil {
			return err
		}
		backoff = 0
		if !s.start(conn) {
			return ErrServerClosed
		}
	}
}

// start serves conn in a new goroutine unless Shutdown has begun. The check
// and sessions.Add happen under mu, which Shutdown holds while cancelling, so
// no session is added once Shutdown waits.
func (s *Server) start(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		conn.Close()
		return false
	}
	s.sessions.Add(1)
	go func() {
		defer s.sessions.Done()
		s.ServeConn(conn)
	}()
	return true
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
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

// ServeConn runs one POP3 session on conn and closes it. Serve calls it; tests
// and inetd-style mains may call it directly (Shutdown then ends the session
// but does not wait for it). Connection limits apply.
func (s *Server) ServeConn(conn net.Conn) {
	defer conn.Close()
	ip := remoteIP(conn.RemoteAddr())
	if !s.conns.acquire(ip) {
		metricRefused.WithLabelValues("limit").Inc()
		// RFC 2449 section 8.1.2: SYS/TEMP says "try again later".
		_ = conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		_, _ = conn.Write([]byte("-ERR [" + codeSysTemp + "] too many connections\r\n"))
		return
	}
	defer s.conns.release(ip)
	metricConnections.Inc()
	defer metricConnections.Dec()
	newSession(s, conn).run()
}

// Shutdown stops the listeners and ends every session: sessions waiting for a
// command are told "-ERR [SYS/TEMP]" and closed; a command in progress (a
// QUIT applying deletes, a RETR) finishes first unless ctx ends, at which
// point their contexts are cancelled too. It waits for Serve's sessions.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.cancel()
	for ln := range s.listeners {
		_ = ln.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.sessions.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.stopWork()
		return ctx.Err()
	}
}
