package diskstore_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"powermail/impl/internal/ppserver"
	"powermail/impl/internal/ppserver/diskstore"
	"powermail/impl/ppclient"
	"powermail/impl/store"
)

const (
	testSecret = "a secret long enough for tests"
	// Generous: a COMMIT to 300 new mailboxes costs ~2,000 fsyncs, and CI
	// machines are shared.
	testTimeout = 60 * time.Second
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// backend is a real pplistener on 127.0.0.1 over a real store.
type backend struct {
	root  string
	addr  string
	store *store.Store
	srv   *ppserver.Server
}

func startBackend(tb testing.TB, tweak ...func(*ppserver.Config)) *backend {
	tb.Helper()
	root := tb.TempDir()
	st, err := store.Open(root, store.Options{Logger: quietLog})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := ppserver.Config{Secret: []byte(testSecret), IOTimeout: testTimeout}
	for _, f := range tweak {
		f(&cfg)
	}
	srv, err := ppserver.New(cfg, diskstore.New(st), quietLog)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; !errors.Is(err, ppserver.ErrServerClosed) {
			tb.Errorf("Serve returned %v", err)
		}
		st.Close()
	})
	return &backend{root: root, addr: ln.Addr().String(), store: st, srv: srv}
}

func (b *backend) client(tb testing.TB) *ppclient.Client {
	c := ppclient.New(ppclient.Config{Addr: b.addr, Secret: testSecret, ClientName: "test",
		IOTimeout: testTimeout, MaxIdle: 16})
	tb.Cleanup(func() { c.Close() })
	return c
}

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	tb.Cleanup(cancel)
	return ctx
}
