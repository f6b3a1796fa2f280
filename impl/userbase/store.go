package userbase

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"powermail/impl/mailbox"
	"powermail/impl/userbase/lru"
	"powermail/impl/userbase/password"
)

var (
	lookups = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_userbase_lookups_total",
		Help: "Recipient lookups by cache (hit, miss) and result (found, not_found, temporary).",
	}, []string{"cache", "result"})
	logins = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_userbase_logins_total",
		Help: "Password checks by cache (hit, miss) and result (ok, failed, temporary).",
	}, []string{"cache", "result"})
)

// Cached is the Userbase the daemons use: a Source behind a lookup cache and
// a verification cache. Safe for concurrent use.
type Cached struct {
	src    Source
	db     *DB // nil unless made by Open
	posTTL time.Duration
	negTTL time.Duration
	authTT time.Duration

	// Found and not-found answers live in separate caches, so that a
	// dictionary attack of unknown recipients cannot evict the real ones.
	found    *lru.Cache[mailbox.Name, Entry]
	notFound *lru.Cache[mailbox.Name, struct{}]
	verified *lru.Cache[[sha256.Size]byte, struct{}]
	// gate bounds the password hashes computed at once (verifygate.go).
	gate *verifyGate
	// hmacKey is random per process: a verification cache key means nothing
	// outside this process and cannot be tested offline against guesses.
	hmacKey [32]byte
}

var _ Userbase = (*Cached)(nil)

// Open opens the database of cfg and puts the caches in front of it.
func Open(cfg Config) (*Cached, error) {
	db, err := OpenDB(cfg)
	if err != nil {
		return nil, err
	}
	s := NewCached(db, cfg, nil)
	s.db = db
	return s, nil
}

// NewCached puts caches sized and timed by cfg in front of src. now is the
// clock for the cache expiry; nil means time.Now.
func NewCached(src Source, cfg Config, now func() time.Time) *Cached {
	s := &Cached{
		src: src, posTTL: cfg.CachePositiveTTL, negTTL: cfg.CacheNegativeTTL, authTT: cfg.AuthCacheTTL,
		found:    lru.New[mailbox.Name, Entry](cfg.CacheMaxEntries, now),
		notFound: lru.New[mailbox.Name, struct{}](cfg.CacheMaxEntries, now),
		verified: lru.New[[sha256.Size]byte, struct{}](cfg.AuthCacheMaxEntries, now),
		gate:     newVerifyGate(cfg),
	}
	rand.Read(s.hmacKey[:])
	return s
}

// DB returns the database for administration and the backend list; nil if
// the Cached was made by NewCached over another Source.
func (s *Cached) DB() *DB { return s.db }

// Close closes the database if Open made it.
func (s *Cached) Close() error {
	if s.db == nil {
		return nil
	}
	return s.db.Close()
}

// Lookup implements Userbase. Found and not-found answers are cached for
// their own TTLs; temporary failures never are, so the next RCPT retries.
func (s *Cached) Lookup(ctx context.Context, rcpt mailbox.Name) (Entry, error) {
	name, err := mailbox.Parse(string(rcpt))
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrNoSuchMailbox, err)
	}
	if e, ok := s.found.Get(name); ok {
		lookups.WithLabelValues("hit", "found").Inc()
		return e, nil
	}
	if _, ok := s.notFound.Get(name); ok {
		lookups.WithLabelValues("hit", "not_found").Inc()
		return Entry{}, fmt.Errorf("%w: %s", ErrNoSuchMailbox, name)
	}
	m, err := s.src.Find(ctx, name)
	switch {
	case err == nil:
		s.found.Put(name, m.Entry(), s.posTTL)
		lookups.WithLabelValues("miss", "found").Inc()
		return m.Entry(), nil
	case errors.Is(err, ErrNoSuchMailbox):
		s.notFound.Put(name, struct{}{}, s.negTTL)
		lookups.WithLabelValues("miss", "not_found").Inc()
		return Entry{}, err
	}
	lookups.WithLabelValues("miss", "temporary").Inc()
	return Entry{}, err
}

// Authenticate implements Userbase. The row is always read from the
// database, so a disabled mailbox or a changed password takes effect at
// once; what the cache saves is the cost of the hash. Only the mailbox
// itself authenticates: a catch-all row does not accept logins for other
// names (log in as "*@domain" to read it). A login that needs a hash waits
// for the verification gate; a cached success does not, so users who logged
// in recently are not turned away by a password-guessing flood.
func (s *Cached) Authenticate(ctx context.Context, login, pw string) (Entry, error) {
	name, err := LoginName(login)
	if err != nil || pw == "" || len(pw) > password.MaxPasswordBytes {
		return s.fail("miss")
	}
	m, err := s.src.Find(ctx, name)
	if err != nil && !errors.Is(err, ErrNoSuchMailbox) {
		logins.WithLabelValues("miss", "temporary").Inc()
		return Entry{}, err
	}
	known := err == nil && m.Name == name
	key := s.verifyKey(name, m.PasswordHash, pw)
	if _, hit := s.verified.Get(key); hit && known {
		logins.WithLabelValues("hit", "ok").Inc()
		return m.Entry(), nil
	}
	ok, err := s.verify(ctx, known, m, pw)
	switch {
	case err != nil:
		logins.WithLabelValues("miss", "temporary").Inc()
		return Entry{}, err
	case !ok:
		return s.fail("miss")
	}
	s.verified.Put(key, struct{}{}, s.authTT)
	logins.WithLabelValues("miss", "ok").Inc()
	return m.Entry(), nil
}

// verify checks pw against m's stored hash inside the verification gate.
// For an unknown login it spends the time of a default hash instead, so
// that unknown logins and wrong passwords look alike, also under load: both
// queue, and both get the same temporary error when the gate is full.
func (s *Cached) verify(ctx context.Context, known bool, m Mailbox, pw string) (bool, error) {
	leave, err := s.gate.enter(ctx)
	if err != nil {
		return false, temporary("password check", err)
	}
	start, ok := time.Now(), false
	if known {
		if ok, err = password.Verify(m.PasswordHash, pw); err != nil {
			slog.Warn("userbase: unusable stored password", "mailbox", m.Name, "scheme", password.SchemeOf(m.PasswordHash), "err", err)
		}
	} else {
		burnHashTime(pw)
	}
	failed := time.Since(start)
	if ok {
		failed = 0 // only failed checks make their slot rest
	}
	leave(failed)
	return ok, nil
}

// APOPSecret returns the plaintext password of login for APOP (RFC 1939
// section 7), whose digest needs the shared secret itself. Only {plain}
// passwords have one (as in PowerMail); every other login, known or not,
// gets ErrAuthFailed, so APOP reveals nothing about which mailboxes exist.
func (s *Cached) APOPSecret(ctx context.Context, login string) (mailbox.Name, string, error) {
	name, err := LoginName(login)
	if err != nil {
		return "", "", ErrAuthFailed
	}
	m, err := s.src.Find(ctx, name)
	switch {
	case err != nil && !errors.Is(err, ErrNoSuchMailbox):
		return "", "", err
	case err != nil || m.Name != name:
		return "", "", ErrAuthFailed
	}
	secret, ok := strings.CutPrefix(m.PasswordHash, "{"+password.Plain+"}")
	if !ok || secret == "" {
		return "", "", ErrAuthFailed
	}
	return name, secret, nil
}

func (s *Cached) fail(cache string) (Entry, error) {
	logins.WithLabelValues(cache, "failed").Inc()
	return Entry{}, ErrAuthFailed
}

// verifyKey is HMAC-SHA256(process key, login 0 stored-hash 0 password).
// The stored hash is part of the key, so a password change makes every old
// entry unreachable; the NUL separators keep the fields from running into
// each other (no field can contain NUL: names and hashes are checked, and a
// password with NUL simply gets its own key).
func (s *Cached) verifyKey(name mailbox.Name, stored, pw string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, s.hmacKey[:])
	for i, f := range []string{string(name), stored, pw} {
		if i > 0 {
			mac.Write([]byte{0})
		}
		mac.Write([]byte(f))
	}
	var k [sha256.Size]byte
	mac.Sum(k[:0])
	return k
}

var (
	dummyOnce sync.Once
	dummyHash string
)

// burnHashTime spends what verifying a default hash costs, so that an
// unknown login takes as long as a wrong password and does not reveal which
// mailboxes exist.
func burnHashTime(pw string) {
	dummyOnce.Do(func() { dummyHash, _ = password.Hash("dummy password") })
	password.Verify(dummyHash, pw)
}
