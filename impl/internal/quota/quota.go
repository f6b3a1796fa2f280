// Package quota keeps an estimate of every limited mailbox's size, so that
// quota checks (at RCPT and at the end of DATA) do not list the mailbox on
// every backend for every message.
//
// The exact size of a mailbox is its merged listing over the backends
// (maildrop), which costs a LIST on each of them. The Meter keeps, per
// mailbox, the last exact figure plus the bytes this front end delivered
// since, and recounts once the figure is EstimateTTL old. The rule that
// keeps the estimate harmless: mail is only ever refused on an exact count
// (taken at most ExactTTL ago), never on an estimate. An estimate can only
// be low by what other front ends delivered within EstimateTTL (it cannot
// see their deliveries), so a mailbox exceeds its quota by at most that; it
// can be high after POP3 deletes, which only makes the meter recount before
// it refuses. A mailbox that is full costs one recount per ExactTTL, however
// much mail keeps arriving for it.
package quota

import (
	"context"
	"sync/atomic"
	"time"

	"powermail/impl/mailbox"
	"powermail/impl/userbase/lru"
)

// Counter gives the exact size of a mailbox in bytes (the merged listing).
type Counter interface {
	Usage(ctx context.Context, box mailbox.Name) (int64, error)
}

// Config of a Meter; zero fields get the defaults below.
type Config struct {
	EstimateTTL time.Duration // an estimate older than this is recounted
	ExactTTL    time.Duration // a refusal may rest on a count this old
	MaxEntries  int           // mailboxes remembered
}

// Defaults.
const (
	DefaultEstimateTTL = 30 * time.Second
	DefaultExactTTL    = 2 * time.Second
	DefaultMaxEntries  = 100_000
)

// Meter estimates mailbox sizes; safe for concurrent use.
type Meter struct {
	cfg     Config
	counter Counter
	now     func() time.Time
	cache   *lru.Cache[mailbox.Name, *figure]
	recount atomic.Int64 // exact counts taken, for tests and metrics
}

// figure is one mailbox's size: an exact count and what was added since.
type figure struct {
	counted time.Time
	bytes   atomic.Int64
}

// New returns a Meter over counter; now is the clock (nil: time.Now).
func New(cfg Config, counter Counter, now func() time.Time) *Meter {
	if cfg.EstimateTTL <= 0 {
		cfg.EstimateTTL = DefaultEstimateTTL
	}
	if cfg.ExactTTL <= 0 {
		cfg.ExactTTL = DefaultExactTTL
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if now == nil {
		now = time.Now
	}
	return &Meter{cfg: cfg, counter: counter, now: now, cache: lru.New[mailbox.Name, *figure](cfg.MaxEntries, now)}
}

// Usage returns the bytes box holds. With exact false an estimate at most
// EstimateTTL old will do; with exact true the figure rests on a count at
// most ExactTTL old (callers refuse mail only on such a figure).
func (m *Meter) Usage(ctx context.Context, box mailbox.Name, exact bool) (int64, error) {
	maxAge := m.cfg.EstimateTTL
	if exact {
		maxAge = m.cfg.ExactTTL
	}
	if f, ok := m.cache.Get(box); ok && m.now().Sub(f.counted) <= maxAge {
		return f.bytes.Load(), nil
	}
	n, err := m.counter.Usage(ctx, box)
	if err != nil {
		return 0, err
	}
	m.recount.Add(1)
	f := &figure{counted: m.now()}
	f.bytes.Store(n)
	m.cache.Put(box, f, m.cfg.EstimateTTL)
	return n, nil
}

// Added records that size bytes were just stored in box by this front end.
// A mailbox without a figure is left alone: its first check counts it.
func (m *Meter) Added(box mailbox.Name, size int64) {
	if f, ok := m.cache.Get(box); ok {
		f.bytes.Add(size)
	}
}

// Recounts is how many exact counts the meter took.
func (m *Meter) Recounts() int64 { return m.recount.Load() }
