// Package lru is a bounded, TTL'd, least-recently-used cache safe for
// concurrent use. Each entry carries its own expiry so that one cache can
// hold positive and negative answers with different lifetimes.
//
// The clock is injected so that tests can step time instead of sleeping.
package lru

import (
	"container/list"
	"sync"
	"time"
)

// Cache maps K to V for at most maxEntries entries.
type Cache[K comparable, V any] struct {
	mu         sync.Mutex
	maxEntries int
	now        func() time.Time
	order      *list.List // front = most recently used; elements hold *entry
	byKey      map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key     K
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
	return &Cache[K, V]{maxEntries: maxEntries, now: now, order: list.New(), byKey: make(map[K]*list.Element)}
}

// Get returns the value for k if present and not expired.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.byKey[k]
	if !ok {
		return zero, false
	}
	e := el.Value.(*entry[K, V])
	if !c.now().Before(e.expires) {
		c.remove(el)
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.value, true
}

// Put stores v for k for ttl, evicting the least recently used entry when
// full. A ttl <= 0 stores nothing.
func (c *Cache[K, V]) Put(k K, v V, ttl time.Duration) {
	if ttl <= 0 || c.maxEntries <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	expires := c.now().Add(ttl)
	if el, ok := c.byKey[k]; ok {
		el.Value = &entry[K, V]{key: k, value: v, expires: expires}
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.maxEntries {
		c.remove(c.order.Back())
	}
	c.byKey[k] = c.order.PushFront(&entry[K, V]{key: k, value: v, expires: expires})
}

// Delete removes k if present.
func (c *Cache[K, V]) Delete(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok {
		c.remove(el)
	}
}

// Len returns the number of entries, expired ones included until touched.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *Cache[K, V]) remove(el *list.Element) {
	c.order.Remove(el)
	delete(c.byKey, el.Value.(*entry[K, V]).key)
}
