// Package lru is a bounded, TTL'd, least-recently-used cache safe for
// concurrent use. Each entry carries its own expiry so that one cache can
// hold positive and negative answers with different lifetimes.
//
// The least-recently-used bookkeeping is hashicorp/golang-lru/v2; the
// expiry is ours, read from an injected clock so that tests step time
// instead of sleeping. Its expirable package was the obvious candidate and
// does not fit here: it reads time.Now itself (the TTL boundaries, "an added
// mailbox receives mail within cache-negative-ttl", could only be tested by
// sleeping), it starts a goroutine per cache that v2.0.7 never stops, and it
// reads a size or TTL of 0 as "unlimited" where the userbase configuration
// means "off".
package lru

import (
	"time"

	hlru "github.com/hashicorp/golang-lru/v2"
)

// Cache maps K to V for at most maxEntries entries.
type Cache[K comparable, V any] struct {
	c   *hlru.Cache[K, entry[V]] // nil: caching is off
	now func() time.Time
}

type entry[V any] struct {
	value   V
	expires time.Time
}

// New returns a cache holding at most maxEntries entries. A cache with
// maxEntries <= 0 stores nothing, which is how callers disable caching.
// now is the clock; nil means time.Now.
func New[K comparable, V any](maxEntries int, now func() time.Time) *Cache[K, V] {
	if now == nil {
		now = time.Now
	}
	c := &Cache[K, V]{now: now}
	if maxEntries > 0 {
		c.c, _ = hlru.New[K, entry[V]](maxEntries) // errors only for a size <= 0
	}
	return c
}

// Get returns the value for k if present and not expired; an expired entry
// is dropped.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	var zero V
	if c.c == nil {
		return zero, false
	}
	e, ok := c.c.Get(k)
	if !ok {
		return zero, false
	}
	if !c.now().Before(e.expires) {
		c.c.Remove(k)
		return zero, false
	}
	return e.value, true
}

// Put stores v for k for ttl, evicting the least recently used entry when
// full. A ttl <= 0 stores nothing.
func (c *Cache[K, V]) Put(k K, v V, ttl time.Duration) {
	if ttl <= 0 || c.c == nil {
		return
	}
	c.c.Add(k, entry[V]{value: v, expires: c.now().Add(ttl)})
}

// Delete removes k if present.
func (c *Cache[K, V]) Delete(k K) {
	if c.c != nil {
		c.c.Remove(k)
	}
}

// Len returns the number of entries, expired ones included until touched.
func (c *Cache[K, V]) Len() int {
	if c.c == nil {
		return 0
	}
	return c.c.Len()
}
