// Package listener is the pplistener protocol server: it speaks the
// powermail/impl/pp protocol on behalf of one backend Store.
//
// One goroutine serves each connection through a session (session.go), which
// reads a command, checks the verb against the table in verbs.go (arguments
// and whether AUTH is required, in one place), runs its handler and writes
// the reply. Everything is bounded: connections (package serve), line length and
// frame size (package pp), boxes per COMMIT, message bytes, and time (an
// idle timeout between commands, an I/O timeout within one).
package ppserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"powermail/impl/internal/serve"
	"powermail/impl/internal/wallclock"
	"powermail/impl/pp"
)

// Config of a Server. Zero values are replaced by the defaults below.
type Config struct {
	// Secret shared with every client (at least pp.MinSecretBytes).
	Secret []byte
	// Conn bounds connections (package serve). A connection must AUTH
	// within NewTimeout; when MaxConnections are open, or
	// MaxConnectionsPerIP from one address, the oldest idle connection
	// (of that address) that has not authenticated makes room, and only
	// then is a new one refused with ERR 421. Authenticated connections
	// (the front ends' pools) are never evicted.
	Conn serve.Config
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
}

// Defaults for zero Config fields. A handful of front ends connect, each
// with a pool of connections, so there is no limit per address by default.
const (
	DefaultMaxConnections  = 1000
	DefaultIOTimeout       = 30 * time.Second
	DefaultIdleTimeout     = 5 * time.Minute
	DefaultMaxMessageBytes = 64 << 20
	DefaultExpireInterval  = time.Hour
)

func (c *Config) fill() {
	if c.Conn.MaxConnections <= 0 {
		c.Conn.MaxConnections = DefaultMaxConnections
	}
	if c.Conn.MaxConnectionsPerIP <= 0 {
		c.Conn.MaxConnectionsPerIP = c.Conn.MaxConnections
	}
	if c.IOTimeout <= 0 {
		c.IOTimeout = DefaultIOTimeout
	}
	if c.Conn.NewTimeout <= 0 {
		c.Conn.NewTimeout = c.IOTimeout
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
	if c.Clock == nil {
		c.Clock = wallclock.New(shiftClock)
	}
	c.Clock.Resume(c.LastWrite)
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = serve.ErrServerClosed

// ErrShortSecret is returned by New for a secret shorter than pp.MinSecretBytes.
var ErrShortSecret = errors.New("listener: secret shorter than 16 bytes")

// Server serves the wire protocol for one Store.
type Server struct {
	store  Store
	cfg    Config
	sk     *serve.Server    // admission, eviction, shutdown
	wall   *wallclock.Clock // tombstone dates and expiry cut-offs
	log    *slog.Logger
	nextID atomic.Uint64 // session numbers, for logs

	expireOnce sync.Once
	stopExpiry chan struct{} // closed by Shutdown
	expiryDone chan struct{} // closed when the expiry ticker has stopped
	stopOnce   sync.Once
}

// New returns a server for st (the constructor of every protocol server:
// configuration, what it serves, logger).
func New(cfg Config, st Store, log *slog.Logger) (*Server, error) {
	cfg.fill()
	if len(cfg.Secret) < pp.MinSecretBytes {
		return nil, ErrShortSecret
	}
	if err := cfg.Conn.Validate(); err != nil {
		return nil, err
	}
	s := &Server{store: st, cfg: cfg, wall: cfg.Clock, log: log,
		stopExpiry: make(chan struct{}), expiryDone: make(chan struct{})}
	s.sk = serve.New(cfg.Conn, protocol{s}, serve.Options{Name: "backend", EvictWithinGroup: true, Log: log})
	return s, nil
}

// Serve accepts connections on ln until Shutdown and runs the tombstone
// expiry ticker meanwhile. It always returns a non-nil error.
func (s *Server) Serve(ln net.Listener) error {
	s.expireOnce.Do(func() { go s.expireLoop() })
	return s.sk.Serve(ln)
}

// ServeConn serves one connection until it ends; it closes c. Tests use it
// with net.Pipe.
func (s *Server) ServeConn(c net.Conn) { s.sk.ServeConn(c) }

// protocol is the backend protocol as a serve.Handler.
type protocol struct{ s *Server }

func (p protocol) ServeConn(c *serve.Conn) {
	newSession(p.s, c, p.s.nextID.Add(1)).serve()
}

func (p protocol) Refuse(w io.Writer, reason string) {
	text := "too many connections"
	if reason == "shutdown" {
		text = "server shutting down"
	}
	io.WriteString(w, pp.FormatErr(pp.Errorf(pp.CodeShutdown, "%s", text))+"\r\n")
}

// Shutdown stops accepting, wakes idle sessions so they close, and waits
// for commands in flight (a commit, a message stream) to finish. When ctx
// ends first, it closes the remaining connections and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		close(s.stopExpiry)
		s.expireOnce.Do(func() { close(s.expiryDone) }) // never started
	})
	err := s.sk.Shutdown(ctx)
	<-s.expiryDone
	return err
}

// UploadTTL is how long a prepared message may wait for its COMMIT: a
// writer commits within seconds of END, so an upload this old was abandoned
// (the writer crashed or its connection broke after END).
const UploadTTL = time.Hour

// expireLoop removes old tombstones and abandoned uploads every ExpireInterval.
func (s *Server) expireLoop() {
	defer close(s.expiryDone)
	t := time.NewTicker(s.cfg.ExpireInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopExpiry:
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
		s.log.Error("tombstone expiry failed", "err", err)
	} else {
		tombstonesExpired.Add(float64(n))
		s.log.Debug("tombstones expired", "count", n)
	}
	if n, err := s.store.ExpireUploads(now.Add(-UploadTTL)); err != nil {
		s.log.Error("upload expiry failed", "err", err)
	} else if n > 0 {
		s.log.Info("abandoned uploads removed", "count", n)
	}
}
