package store

import (
	"sync"

	"powermail/impl/msgid"
)

// keyed hands out one shared value per key for as long as somebody uses it
// and forgets the key when the last user releases it, so memory follows the
// number of operations in flight, not the number of ids or mailboxes seen.
// The zero value is ready to use; V must be usable as its zero value.
type keyed[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]*keyedEntry[V]
}

type keyedEntry[V any] struct {
	users int
	v     V
}

// acquire returns the value for key; the caller must release key after.
func (k *keyed[K, V]) acquire(key K) *V {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = make(map[K]*keyedEntry[V])
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry[V]{}
		k.m[key] = e
	}
	e.users++
	return &e.v
}

func (k *keyed[K, V]) release(key K) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.m[key]
	e.users--
	if e.users == 0 {
		delete(k.m, key)
	}
}

// has reports whether anybody holds key.
func (k *keyed[K, V]) has(key K) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.m[key] != nil
}

// idLock serialises the operations on one message id.
type idLock struct{ sync.Mutex }

// lockID locks id until the returned function is called.
func (s *Store) lockID(id msgid.ID) func() {
	l := s.ids.acquire(id)
	l.Lock()
	return func() {
		l.Unlock()
		s.ids.release(id)
	}
}
