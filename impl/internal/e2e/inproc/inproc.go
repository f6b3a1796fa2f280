// Package inproc runs real pplistener backends in the test process, on
// 127.0.0.1 over real stores in temporary directories, for the tests of
// repair and of ppadmin's backend commands. A backend can be stopped,
// restarted on the same address, and wiped (its disk "replaced").
package inproc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"powermail/impl/internal/ppserver"
	"powermail/impl/internal/ppserver/diskstore"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/ppclient"
	"powermail/impl/store"
)

// Secret is the shared secret of every test backend.
const Secret = "inproc test secret, long enough"

// Timeout bounds every step of a test backend (start, stop, one exchange).
const Timeout = 10 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Listener is one running (or stopped) pplistener.
type Listener struct {
	Addr  string
	Root  string
	Store *store.Store // nil while stopped

	tb     testing.TB
	srv    *ppserver.Server
	served chan error
}

// Start runs n backends; they stop when the test ends.
func Start(tb testing.TB, n int) []*Listener {
	tb.Helper()
	out := make([]*Listener, n)
	for i := range out {
		b := &Listener{Root: tb.TempDir(), tb: tb}
		b.start("127.0.0.1:0")
		tb.Cleanup(b.Stop)
		out[i] = b
	}
	return out
}

func (b *Listener) start(addr string) {
	b.tb.Helper()
	st, err := store.Open(b.Root, store.Options{Logger: quiet})
	if err != nil {
		b.tb.Fatal(err)
	}
	srv, err := ppserver.New(ppserver.Config{Secret: []byte(Secret), IOTimeout: Timeout}, diskstore.New(st), quiet)
	if err != nil {
		b.tb.Fatal(err)
	}
	ln, err := listenRetry(addr)
	if err != nil {
		st.Close()
		b.tb.Fatal(err)
	}
	b.Addr, b.Store, b.srv, b.served = ln.Addr().String(), st, srv, make(chan error, 1)
	go func() { b.served <- srv.Serve(ln) }()
}

// listenRetry listens on addr; a port just released may take a moment.
func listenRetry(addr string) (net.Listener, error) {
	deadline := time.Now().Add(Timeout)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			return ln, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts the server down and closes the store; idempotent.
func (b *Listener) Stop() {
	if b.Store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	b.srv.Shutdown(ctx)
	if err := <-b.served; !errors.Is(err, ppserver.ErrServerClosed) {
		b.tb.Errorf("backend %s: Serve returned %v", b.Addr, err)
	}
	b.Store.Close()
	b.Store = nil
}

// Restart starts a stopped backend again on the same address and root.
func (b *Listener) Restart() {
	b.tb.Helper()
	b.Stop()
	b.start(b.Addr)
}

// Wipe loses the backend's disk: stop, empty the root, start empty on the
// same address (a replaced machine).
func (b *Listener) Wipe() {
	b.tb.Helper()
	b.Stop()
	if err := os.RemoveAll(b.Root); err != nil {
		b.tb.Fatal(err)
	}
	b.start(b.Addr)
}

// Client returns a client of b, closed when the test ends.
func (b *Listener) Client() *ppclient.Client {
	c := ppclient.New(ppclient.Config{Addr: b.Addr, Secret: Secret, ClientName: "inproc", IOTimeout: Timeout})
	b.tb.Cleanup(func() { c.Close() })
	return c
}

// Put stores body as message id in boxes directly in b's store, as a
// delivery through b would.
func (b *Listener) Put(id msgid.ID, body []byte, boxes ...mailbox.Name) {
	b.tb.Helper()
	b.Prepare(id, body)
	if err := b.Store.Commit(id, boxes); err != nil {
		b.tb.Fatal(err)
	}
}

// Prepare runs only the first phase of a delivery: body is durable in tmp/
// and in no mailbox, as a writer that never committed leaves it.
func (b *Listener) Prepare(id msgid.ID, body []byte) {
	b.tb.Helper()
	u, err := b.Store.Begin(id)
	if err != nil {
		b.tb.Fatal(err)
	}
	defer u.Cancel()
	if _, err := u.Write(body); err != nil {
		b.tb.Fatal(err)
	}
	if err := u.Finish(int64(len(body)), store.Checksum(body)); err != nil {
		b.tb.Fatal(err)
	}
}

// Read returns the stored bytes of id in box, or nil when b does not list it.
func (b *Listener) Read(box mailbox.Name, id msgid.ID) []byte {
	b.tb.Helper()
	f, _, err := b.Store.OpenMessage(box, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		b.tb.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		b.tb.Fatal(err)
	}
	return data
}
