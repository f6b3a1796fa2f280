// Package listener is the pplistener protocol server: it speaks the
// powermail/impl/wire protocol on behalf of one backend Store.
//
// One goroutine serves each connection through a session (session.go), which
// reads a command, checks the verb against the table in verbs.go (arguments
// and whether AUTH is required, in one place), runs its handler and writes
// the reply. Everything is bounded: connections (MaxConns), line length and
// frame size (package wire), boxes per COMMIT, message bytes, and time (an
// idle timeout between commands, an I/O timeout within one).
package listener

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"powermail/impl/internal/wallclock"
	"powermail/impl/wire"
)

// Config of a Server. Zero values are replaced by the defaults below.
type Config struct {
	// Secret shared with every client (at least wire.MinSecretBytes).
	Secret []byte
	// MaxConns bounds concurrent connections; more are refused with ERR 421.
	MaxConns int
	// IOTimeout bounds each command once its line has arrived, and each
	// frame of a message stream.
	IOTimeout time.Duration
	// IdleTimeout bounds the wait for the next command.
	IdleTimeout time.Duration
	// MaxMessageBytes bounds one message stream; a longer one is answered
	// ERR 552 and the connection closed.
	MaxMessageBytes int64
	// ExpireInterval is the period of the tombstone expiry ticker.
	ExpireInterval time.Duration
	// Clock dates tombstones and times their expiry; nil: this process's
	// wall clock, which the failpoint "clock" shifts (see shiftClock).
	Clock *wallclock.Clock
	// LastWrite is when the store was last written to before this process
	// (store.Newest): expiry counts time from there, not from a clock that
	// may have jumped forward while the backend was down. Zero: from start.
	LastWrite time.Time
	Logger    *slog.Logger
}

// Defaults for zero Config fields.
const (
	DefaultMaxConns        = 1000
	DefaultIOTimeout       = 30 * time.Second
	DefaultIdleTimeout     = 5 * time.Minute
	DefaultMaxMessageBytes = 64 << 20
	DefaultExpireInterval  = time.Hour
)

func (c *Config) fill() {
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.IOTimeout <= 0 {
		c.IOTimeout = DefaultIOTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.ExpireInterval <= 0 {
		c.ExpireInterval = DefaultExpireInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = wallclock.New(shiftClock)
	}
	c.Clock.Resume(c.LastWrite)
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("listener: server closed")

// ErrShortSecret is returned by New for a secret shorter than wire.MinSecretBytes.
var ErrShortSecret = errors.New("listener: secret shorter than 16 bytes")

// Server serves the wire protocol for one Store.
type Server struct {
	store Store
	cfg   Config
	slots chan struct{}    // one token per open connection
	wall  *wallclock.Clock // tombstone dates and expiry cut-offs

	// closing is set once, under mu (so that newSession's wg.Add cannot
	// race with Shutdown's Wait), and read without it by sessions.
	closing   atomic.Bool
	mu        sync.Mutex
	listeners map[net.Listener]bool
	sessions  map[*session]bool
	nextID    uint64
	done      chan struct{} // closed by Shutdown: stops the expiry ticker
	// wg counts sessions and the expiry ticker. Add is only called under mu
	// while !closing, so it never races with the Wait in Shutdown.
	wg         sync.WaitGroup
	expireOnce sync.Once
}

// New returns a server for st.
func New(st Store, cfg Config) (*Server, error) {
	cfg.fill()
	if len(cfg.Secret) < wire.MinSecretBytes {
		return nil, ErrShortSecret
	}
	return &Server{
		store:     st,
		cfg:       cfg,
		slots:     make(chan struct{}, cfg.MaxConns),
		listeners: map[net.Listener]bool{},
		sessions:  map[*session]bool{},
		done:      make(chan struct{}),
		wall:      cfg.Clock,
	}, nil
}

// Serve accepts connections on ln until Shutdown and runs the tombstone
// expiry ticker meanwhile. It always returns a non-nil error.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		return ErrServerClosed
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if temporaryAccept(err) {
				s.cfg.Logger.Warn("accept failed; retrying", "err", err)
				time.Sleep(acceptBackoff)
				continue
			}
			return err
		}
		s.admit(c)
	}
}

// acceptBackoff is the pause after a temporary Accept failure.
const acceptBackoff = 50 * time.Millisecond

// temporaryAccept reports Accept failures that pass: out of file
// descriptors or memory (connections will close and free them), or a peer
// that reset before we accepted.
func temporaryAccept(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// admit starts a session for c, or refuses c when MaxConns are open.
func (s *Server) admit(c net.Conn) {
	select {
	case s.slots <- struct{}{}:
	default:
		connsRefused.Inc()
		c.SetWriteDeadline(time.Now().Add(time.Second))
		c.Write([]byte(wire.FormatErr(wire.Errorf(wire.CodeShutdown, "too many connections")) + "\r\n"))
		c.Close()
		return
	}
	go func() {
		defer func() { <-s.slots }()
		s.ServeConn(c)
	}()
}

// ServeConn serves one connection until it ends; it closes c. Tests use it
// with net.Pipe.
func (s *Server) ServeConn(c net.Conn) {
	defer c.Close()
	ss := s.newSession(c)
	if ss == nil {
		return
	}
	defer s.forget(ss)
	connsOpen.Inc()
	defer connsOpen.Dec()
	ss.serve()
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.listeners[ln] = true
	s.expireOnce.Do(func() {
		s.wg.Add(1)
		go s.expireLoop()
	})
	return true
}

func (s *Server) isClosing() bool { return s.closing.Load() }

func (s *Server) newSession(c net.Conn) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return nil
	}
	s.nextID++
	ss := newSession(s, c, s.nextID)
	s.sessions[ss] = true
	s.wg.Add(1)
	return ss
}

func (s *Server) forget(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, ss)
	s.wg.Done()
}

// Shutdown stops accepting, wakes idle sessions so they close, and waits
// for commands in flight (a commit, a message stream) to finish. When ctx
// ends first, it closes the remaining connections and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing.Swap(true) {
		close(s.done)
	}
	for ln := range s.listeners {
		ln.Close()
	}
	for ss := range s.sessions {
		ss.wakeIfIdle()
	}
	s.mu.Unlock()
	finished := make(chan struct{})
	go func() { s.wg.Wait(); close(finished) }()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for ss := range s.sessions {
		ss.conn.Close()
	}
	s.mu.Unlock()
	<-finished
	return ctx.Err()
}

// UploadTTL is how long a prepared message may wait for its COMMIT: a
// writer commits within seconds of END, so an upload this old was abandoned
// (the writer crashed or its connection broke after END).
const UploadTTL = time.Hour

// expireLoop removes old tombstones and abandoned uploads every ExpireInterval.
func (s *Server) expireLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ExpireInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.expire()
		}
	}
}

// expire removes old tombstones and abandoned uploads; a failure of one does
// not keep the other from running. Both compare the clock with dates on
// disk, so a clock that jumped forward must not bring their end nearer.
func (s *Server) expire() {
	now := s.wall.Earliest()
	if n, err := s.store.ExpireTombstones(now); err != nil {
		s.cfg.Logger.Error("tombstone expiry failed", "err", err)
	} else {
		tombstonesExpired.Add(float64(n))
		s.cfg.Logger.Debug("tombstones expired", "count", n)
	}
	if n, err := s.store.ExpireUploads(now.Add(-UploadTTL)); err != nil {
		s.cfg.Logger.Error("upload expiry failed", "err", err)
	} else if n > 0 {
		s.cfg.Logger.Info("abandoned uploads removed", "count", n)
	}
}
