package smtpd

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
)

// fakeResolver knows only the local mailboxes below; everything else is
// refused, which is what makes the open-relay tests meaningful.
type fakeResolver struct {
	mu    sync.Mutex
	calls []string
}

var localMailboxes = map[string]bool{"u@local.test": true, "postmaster@local.test": true, "ü@local.test": true}

func (r *fakeResolver) Resolve(_ context.Context, rcpt string) (mail.Recipient, error) {
	r.mu.Lock()
	r.calls = append(r.calls, rcpt)
	r.mu.Unlock()
	switch {
	case localMailboxes[rcpt]:
		return mail.Recipient{Mailbox: mailbox.Name(rcpt)}, nil
	case rcpt == "down@local.test":
		return mail.Recipient{}, errors.New("userbase: connection refused")
	case rcpt == "full@local.test":
		return mail.Recipient{}, &mail.Reply{Code: 452, Enhanced: "4.2.2", Text: "mailbox full"}
	case strings.HasSuffix(rcpt, "@catchall.test"):
		return mail.Recipient{Mailbox: mailbox.CatchAll("catchall.test")}, nil
	}
	return mail.Recipient{}, &mail.Reply{Code: 550, Enhanced: "5.1.1", Text: "no such mailbox"}
}

// delivered is one message the fake Deliverer accepted.
type delivered struct {
	tx   Transaction
	body []byte
}

// fakeDeliverer reads the whole body and records it, unless the body reader
// fails (then it aborts, like the real engine) or fail is set.
type fakeDeliverer struct {
	mu       sync.Mutex
	accepted []delivered
	aborted  int
	fail     error // returned after reading the body
	stopRead bool  // return nil without reading (a buggy deliverer)
}

func (f *fakeDeliverer) Deliver(_ context.Context, tx *Transaction, body io.Reader) error {
	if f.stopRead {
		return nil
	}
	b, err := io.ReadAll(body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.aborted++
		return err
	}
	if f.fail != nil {
		return f.fail
	}
	f.accepted = append(f.accepted, delivered{tx: *tx, body: b})
	return nil
}

func (f *fakeDeliverer) messages() []delivered {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]delivered(nil), f.accepted...)
}

// testConfig has small limits so the tests can reach them.
func testConfig() Config {
	cfg := Defaults()
	cfg.Hostname = "mx.local.test"
	cfg.PostmasterDomain = "local.test"
	cfg.MaxRecipients = 3
	cfg.MaxMessageBytes = 2000
	cfg.MaxErrors = 5
	cfg.CommandTimeout = 5 * time.Second
	cfg.DataTimeout = 10 * time.Second
	cfg.SessionTimeout = 20 * time.Second
	cfg.Conn.MaxConnectionsPerIP = 2
	cfg.Conn.MaxConnections = 10
	cfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{testCert}}
	return cfg
}

func newTestServer(t testing.TB, cfg Config) (*Server, *fakeDeliverer) {
	t.Helper()
	del := &fakeDeliverer{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(cfg, &fakeResolver{}, del, log)
	if err != nil {
		t.Fatal(err)
	}
	return srv, del
}

// pipeSession starts a session over net.Pipe and returns the client end.
func pipeSession(t *testing.T, srv *Server) net.Conn {
	t.Helper()
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() { srv.ServeConn(server); close(done) }()
	client.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() {
		client.Close()
		<-done
	})
	return client
}

// testCert is a self-signed certificate for "mx.local.test" and 127.0.0.1.
var testCert, testCertPool = selfSigned()

func selfSigned() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.local.test"},
		DNSNames: []string{"mx.local.test"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// bufConn is a net.Conn that reads a fixed input and records the output; the
// fuzz target uses it so a session is deterministic and needs no goroutine.
type bufConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *bufConn) Read(p []byte) (int, error)       { return c.in.Read(p) }
func (c *bufConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *bufConn) Close() error                     { return nil }
func (c *bufConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25} }
func (c *bufConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }
func (c *bufConn) SetDeadline(time.Time) error      { return nil }
func (c *bufConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bufConn) SetWriteDeadline(time.Time) error { return nil }
