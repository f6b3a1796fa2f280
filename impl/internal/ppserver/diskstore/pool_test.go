package diskstore_test

import (
	"testing"
	"time"

	"powermail/impl/internal/ppserver"
)

// TestDeadPooledConnectionIsReplaced: the server drops idle connections
// silently (here after 50 ms); the client's next request, made before its
// own health check would PING, fails on the dead connection without any
// answer and is repeated on a new one, invisibly to the caller.
func TestDeadPooledConnectionIsReplaced(t *testing.T) {
	b := startBackend(t, func(c *ppserver.Config) { c.IdleTimeout = 50 * time.Millisecond })
	c := b.client(t)
	put(t, c, message(100), 100, ann) // leaves a pooled connection
	time.Sleep(200 * time.Millisecond)
	if _, err := c.List(ctxT(t), ann); err != nil {
		t.Fatalf("List on a dead pooled connection: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	put(t, c, message(100), 100, ann) // Begin checks pooled connections first
}
