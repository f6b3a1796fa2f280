package diskstore_test

import (
	"io"
	"sync"
	"testing"
	"time"

	"powermail/impl/internal/ppserver"
	"powermail/impl/msgid"
	"powermail/impl/ppclient"
)

// TestDeadPooledConnectionIsReplaced: the server drops idle connections
// silently (here after 300 ms, long enough for a loaded machine to dial
// and authenticate); the client's next request, made before its own
// health check would PING, fails on the dead connection without any
// answer and is repeated on a new one, invisibly to the caller.
func TestDeadPooledConnectionIsReplaced(t *testing.T) {
	b := startBackend(t, func(c *ppserver.Config) { c.IdleTimeout = 300 * time.Millisecond })
	c := b.client(t)
	put(t, c, message(100), 100, ann) // leaves a pooled connection
	time.Sleep(time.Second)
	if _, err := c.List(ctxT(t), ann); err != nil {
		t.Fatalf("List on a dead pooled connection: %v", err)
	}
	time.Sleep(time.Second)
	put(t, c, message(100), 100, ann) // Begin checks pooled connections first
}

// TestAllDeadPooledConnectionsAreReplaced: after a restart every pooled
// connection is dead. A repeatable request takes the first without
// looking at its socket; its repetition must look at each one it takes,
// or it would fail on the second dead connection.
func TestAllDeadPooledConnectionsAreReplaced(t *testing.T) {
	b := startBackend(t, func(c *ppserver.Config) { c.IdleTimeout = 300 * time.Millisecond })
	c := b.client(t)
	put(t, c, message(100), 100, ann)
	var wg sync.WaitGroup
	for range 4 { // four connections in use at once, then all in the pool
		wg.Go(func() {
			if _, err := c.Get(ctxT(t), ann, firstID(t, c), io.Discard); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	time.Sleep(time.Second) // the server has closed all of them
	for range 3 {
		if _, err := c.List(ctxT(t), ann); err != nil {
			t.Fatalf("List with only dead pooled connections: %v", err)
		}
	}
}

func firstID(t *testing.T, c *ppclient.Client) msgid.ID {
	l, err := c.List(ctxT(t), ann)
	if err != nil || len(l.Messages) == 0 {
		t.Fatalf("List: %v %+v", err, l)
	}
	return l.Messages[0].ID
}
