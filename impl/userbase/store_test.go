package userbase

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"powermail/impl/mailbox"
	"powermail/impl/userbase/password"
)

// fakeSource serves rows from a map, counts calls, and fails on demand.
type fakeSource struct {
	rows  map[mailbox.Name]Mailbox
	calls atomic.Int64
	fail  error
}

func (f *fakeSource) Find(_ context.Context, n mailbox.Name) (Mailbox, error) {
	f.calls.Add(1)
	if f.fail != nil {
		return Mailbox{}, f.fail
	}
	for _, k := range []mailbox.Name{n, mailbox.CatchAll(n.Domain())} {
		if m, ok := f.rows[k]; ok {
			return m, nil
		}
	}
	return Mailbox{}, fmt.Errorf("%w: %s", ErrNoSuchMailbox, n)
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) step(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock                { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }
func plainRow(name, pw string) Mailbox {
	return Mailbox{Name: mailbox.Name(name), PasswordHash: "{plain}" + pw, Enabled: true}
}
func rows(ms ...Mailbox) map[mailbox.Name]Mailbox {
	out := map[mailbox.Name]Mailbox{}
	for _, m := range ms {
		out[m.Name] = m
	}
	return out
}

func cacheConfig() Config {
	c := Defaults()
	c.CachePositiveTTL, c.CacheNegativeTTL, c.AuthCacheTTL = time.Minute, 10*time.Second, 5*time.Minute
	return c
}

func TestLookupCacheExpiry(t *testing.T) {
	src := &fakeSource{rows: rows(plainRow("a@example.com", "x"))}
	clk := newClock()
	s := NewCached(src, cacheConfig(), clk.now)
	lookup := func(n mailbox.Name) error { _, err := s.Lookup(context.Background(), n); return err }
	for range 3 {
		if err := lookup("a@example.com"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "negative", lookup("b@example.com"), ErrNoSuchMailbox)
	}
	if n := src.calls.Load(); n != 2 {
		t.Fatalf("%d source calls for 2 names, want 2 (cached)", n)
	}
	// Adding b is seen once the negative TTL has passed, not before.
	src.rows["b@example.com"] = plainRow("b@example.com", "y")
	clk.step(10*time.Second - 1)
	wantErr(t, "within negative TTL", lookup("b@example.com"), ErrNoSuchMailbox)
	clk.step(1)
	if err := lookup("b@example.com"); err != nil {
		t.Fatalf("after negative TTL: %v", err)
	}
	// Removing a is seen once the positive TTL has passed.
	delete(src.rows, "a@example.com")
	clk.step(time.Minute - 10*time.Second - 1)
	if err := lookup("a@example.com"); err != nil {
		t.Fatalf("within positive TTL: %v", err)
	}
	clk.step(1)
	wantErr(t, "after positive TTL", lookup("a@example.com"), ErrNoSuchMailbox)
}

func TestTemporaryErrorsAreNotCached(t *testing.T) {
	src := &fakeSource{rows: rows(plainRow("a@example.com", "x")), fail: temporary("find", errors.New("down"))}
	s := NewCached(src, cacheConfig(), newClock().now)
	for range 2 {
		_, err := s.Lookup(context.Background(), "a@example.com")
		wantErr(t, "db down", err, ErrTemporary)
		_, err = s.Authenticate(context.Background(), "a@example.com", "x")
		wantErr(t, "db down login", err, ErrTemporary)
	}
	src.fail = nil
	if _, err := s.Lookup(context.Background(), "a@example.com"); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if src.calls.Load() != 5 {
		t.Fatalf("%d source calls, want 5: temporary failures must not be cached", src.calls.Load())
	}
}

func TestVerificationCache(t *testing.T) {
	src := &fakeSource{rows: rows(plainRow("a@example.com", "old"))}
	clk := newClock()
	s := NewCached(src, cacheConfig(), clk.now)
	auth := func(pw string) error { _, err := s.Authenticate(context.Background(), "a@example.com", pw); return err }
	if err := auth("old"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "wrong", auth("wrong"), ErrAuthFailed)
	if s.verified.Len() != 1 {
		t.Fatalf("%d cached verifications, want 1 (only successes)", s.verified.Len())
	}
	// A password change makes the old password fail at once: the stored
	// hash is part of the key and the row is always read fresh.
	src.rows["a@example.com"] = plainRow("a@example.com", "new")
	wantErr(t, "old after change", auth("old"), ErrAuthFailed)
	if err := auth("new"); err != nil {
		t.Fatal(err)
	}
	// Disabling takes effect at once too.
	delete(src.rows, "a@example.com")
	wantErr(t, "removed", auth("new"), ErrAuthFailed)
	src.rows["a@example.com"] = plainRow("a@example.com", "new")
	clk.step(5 * time.Minute)
	key := s.verifyKey("a@example.com", "{plain}new", "new")
	if _, ok := s.verified.Get(key); ok {
		t.Fatal("verification outlived its TTL")
	}
}

// TestVerificationCacheSavesHashCost measures what the cache is for: a
// repeated login with an argon2id password does not pay for the hash again.
func TestVerificationCacheSavesHashCost(t *testing.T) {
	h, err := password.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{rows: rows(Mailbox{Name: "a@example.com", PasswordHash: h, Enabled: true})}
	s := NewCached(src, cacheConfig(), nil)
	timeAuth := func() time.Duration {
		start := time.Now()
		if _, err := s.Authenticate(context.Background(), "a%example.com", "pw"); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	first, second := timeAuth(), timeAuth()
	if second*10 > first {
		t.Fatalf("cached login took %v, first %v: cache did not save the hash", second, first)
	}
}

func TestVerifyKeyNeverHoldsThePassword(t *testing.T) {
	s := NewCached(&fakeSource{}, cacheConfig(), nil)
	k1 := s.verifyKey("a@example.com", "{plain}pw", "pw")
	k2 := NewCached(&fakeSource{}, cacheConfig(), nil).verifyKey("a@example.com", "{plain}pw", "pw")
	if k1 == k2 {
		t.Fatal("keys equal across processes: the HMAC key must be random")
	}
	// The separators keep ("ab","c") and ("a","bc") apart.
	if s.verifyKey("a@b.c", "x", "yz") == s.verifyKey("a@b.c", "xy", "z") {
		t.Fatal("field boundary ambiguity")
	}
}

func TestLoginName(t *testing.T) {
	for in, want := range map[string]mailbox.Name{
		"Alice@Example.com":   "alice@example.com",
		"alice%example.com":   "alice@example.com",
		"a%b%example.com":     "a%b@example.com",
		"a%b@example.com":     "a%b@example.com",
		"*%example.com":       "*@example.com",
		"alice":               "",
		"alice%":              "",
		"alice@example.com.":  "",
		"\"a@b\"@example.com": "",
	} {
		got, err := LoginName(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("LoginName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestUnknownRecipientsDoNotEvictKnownOnes: a dictionary attack fills only
// the negative cache.
func TestUnknownRecipientsDoNotEvictKnownOnes(t *testing.T) {
	src := &fakeSource{rows: rows(plainRow("a@example.com", "x"))}
	cfg := cacheConfig()
	cfg.CacheMaxEntries = 10
	s := NewCached(src, cfg, newClock().now)
	s.Lookup(context.Background(), "a@example.com")
	for i := range 100 {
		s.Lookup(context.Background(), mailbox.Name(fmt.Sprintf("guess%d@example.com", i)))
	}
	before := src.calls.Load()
	if _, err := s.Lookup(context.Background(), "a@example.com"); err != nil || src.calls.Load() != before {
		t.Fatalf("known recipient evicted by unknown ones (err %v)", err)
	}
	if s.notFound.Len() != 10 {
		t.Fatalf("negative cache holds %d, want its bound 10", s.notFound.Len())
	}
}

func TestAPOPSecretOnlyForPlain(t *testing.T) {
	src := &fakeSource{rows: rows(plainRow("p@example.com", "tanstaaf"),
		Mailbox{Name: "h@example.com", PasswordHash: "{md5}5f4dcc3b5aa765d61d8327deb882cf99", Enabled: true},
		plainRow("*@example.com", "catchall"))}
	s := NewCached(src, cacheConfig(), nil)
	name, secret, err := s.APOPSecret(context.Background(), "P%example.com")
	if err != nil || name != "p@example.com" || secret != "tanstaaf" {
		t.Fatalf("plain: %q %q %v", name, secret, err)
	}
	for _, login := range []string{"h@example.com", "other@example.com", "x@example.org", "bad"} {
		_, _, err := s.APOPSecret(context.Background(), login)
		wantErr(t, login, err, ErrAuthFailed)
	}
	src.fail = temporary("find", errors.New("down"))
	_, _, err = s.APOPSecret(context.Background(), "p@example.com")
	if !errors.Is(err, ErrTemporary) {
		t.Fatalf("db down: %v", err)
	}
	var tmp interface{ Temporary() bool }
	if !errors.As(err, &tmp) || !tmp.Temporary() {
		t.Fatal("TemporaryError lacks Temporary() bool")
	}
}
