package ppserver_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"powermail/impl/internal/ppserver"
	"powermail/impl/ppclient"
)

const (
	testSecret  = "test secret of enough length"
	testTimeout = 5 * time.Second
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func newServer(t testing.TB, st ppserver.Store, tweak ...func(*ppserver.Config)) *ppserver.Server {
	t.Helper()
	cfg := ppserver.Config{Secret: []byte(testSecret), IOTimeout: testTimeout, MaxMessageBytes: 8 << 20}
	for _, f := range tweak {
		f(&cfg)
	}
	srv, err := ppserver.New(cfg, st, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

// pipeServer serves every connection the returned dialer makes over net.Pipe.
type pipeServer struct {
	srv *ppserver.Server
	wg  sync.WaitGroup
}

func (p *pipeServer) dial(ctx context.Context, _ string) (net.Conn, error) {
	c, s := net.Pipe()
	p.wg.Add(1)
	go func() { defer p.wg.Done(); p.srv.ServeConn(s) }()
	return c, nil
}

// rawConn returns the client end of a piped connection to srv.
func (p *pipeServer) rawConn(t testing.TB) net.Conn {
	c, _ := p.dial(context.Background(), "")
	c.SetDeadline(time.Now().Add(testTimeout))
	t.Cleanup(func() { c.Close() })
	return c
}

func newPipeClient(t testing.TB, srv *ppserver.Server, secret string) (*ppclient.Client, *pipeServer) {
	p := &pipeServer{srv: srv}
	c := ppclient.New(ppclient.Config{Addr: "pipe", Secret: secret, ClientName: "test-client",
		IOTimeout: testTimeout, Dial: p.dial})
	t.Cleanup(func() { c.Close() })
	return c, p
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}
