package pop3d

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"powermail/impl/mailbox"
)

// account is one fake userbase entry.
type account struct {
	password string
	box      mailbox.Name
}

// fakeAuth is a userbase with per-call failure knobs.
type fakeAuth struct {
	mu       sync.Mutex
	accounts map[string]account // by lower-case login
	err      error              // returned by every call when set
	calls    int
}

func (a *fakeAuth) lookup(login string) (account, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	if a.err != nil {
		return account{}, a.err
	}
	acc, ok := a.accounts[strings.ToLower(login)]
	if !ok {
		return account{}, ErrAuthFailed
	}
	return acc, nil
}

func (a *fakeAuth) callCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

func (a *fakeAuth) Authenticate(_ context.Context, login, password string) (mailbox.Name, error) {
	acc, err := a.lookup(login)
	if err != nil {
		return "", err
	}
	if acc.password != password {
		return "", fmt.Errorf("password of %s: %w", login, ErrAuthFailed)
	}
	return acc.box, nil
}

// apopAuth adds the optional APOP secret lookup.
type apopAuth struct{ *fakeAuth }

func (a apopAuth) APOPSecret(_ context.Context, login string) (mailbox.Name, string, error) {
	acc, err := a.lookup(login)
	return acc.box, acc.password, err
}

// fakeDrops holds stored-form messages per mailbox.
type fakeDrops struct {
	mu      sync.Mutex
	boxes   map[mailbox.Name][]fakeMsg
	openErr error
	// retrFail makes Retrieve fail after writing this many bytes (-1: never).
	retrFail  int
	deleteErr error
	deleted   map[mailbox.Name][]string // UIDs
	closed    int
	// closeDelay makes Close take this long, as closing a real maildrop
	// may: it widens any window in which a quitting session holds its lock.
	closeDelay time.Duration
}

type fakeMsg struct {
	uid    string
	stored []byte
}

func (d *fakeDrops) Open(_ context.Context, box mailbox.Name) (Maildrop, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.openErr != nil {
		return nil, d.openErr
	}
	return &fakeDrop{d: d, box: box, msgs: d.boxes[box]}, nil
}

type fakeDrop struct {
	d    *fakeDrops
	box  mailbox.Name
	msgs []fakeMsg
}

func (f *fakeDrop) Messages() []Message {
	out := make([]Message, len(f.msgs))
	for i, m := range f.msgs {
		out[i] = Message{UID: m.uid, Size: int64(len(m.stored))}
	}
	return out
}

var errBackend = errors.New("fake backend unreachable")

func (f *fakeDrop) Retrieve(_ context.Context, i int, w io.Writer) error {
	f.d.mu.Lock()
	fail := f.d.retrFail
	f.d.mu.Unlock()
	data := f.msgs[i].stored
	if fail < 0 {
		_, err := io.Copy(w, bytes.NewReader(data))
		return err
	}
	if _, err := w.Write(data[:min(fail, len(data))]); err != nil {
		return err
	}
	return fmt.Errorf("after %d bytes: %w", fail, errBackend)
}

func (f *fakeDrop) Delete(_ context.Context, is []int) error {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if f.d.deleteErr != nil {
		return f.d.deleteErr
	}
	if f.d.deleted == nil {
		f.d.deleted = make(map[mailbox.Name][]string)
	}
	for _, i := range is {
		f.d.deleted[f.box] = append(f.d.deleted[f.box], f.msgs[i].uid)
	}
	return nil
}

func (f *fakeDrop) Close() error {
	f.d.mu.Lock()
	delay := f.d.closeDelay
	f.d.mu.Unlock()
	time.Sleep(delay)
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	f.d.closed++
	return nil
}

// fakeClock records the penalty sleeps. When block is set, each Sleep waits
// until the test receives from sleeping and then sends on wake.
type fakeClock struct {
	mu       sync.Mutex
	now      time.Time
	slept    []time.Duration
	block    bool
	sleeping chan time.Duration
	wake     chan struct{}
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		sleeping: make(chan time.Duration), wake: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	block := c.block
	c.mu.Unlock()
	if !block {
		return nil
	}
	select {
	case c.sleeping <- d:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-c.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// stuff turns message content with CRLF lines into the stored form:
// RFC 5321 section 4.5.2 dot-stuffing, as powersmtp keeps it.
func stuff(content string) []byte {
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(content, "\r\n") {
		if strings.HasPrefix(line, ".") {
			b.WriteByte('.')
		}
		b.WriteString(line)
	}
	return b.Bytes()
}

// Test messages: the client must see exactly this content after unstuffing.
var (
	msgPlain = "Received: from test\r\nSubject: hello\r\n\r\nHello Alice.\r\nBye.\r\n"
	msgDots  = "Subject: dots\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\nafter a lone dot\r\n"
	msgLong  = "Subject: long\r\n\r\n" + strings.Repeat("x", 998) + "\r\n" + strings.Repeat("y", 500) + "\r\n"
	msg8bit  = "Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln \xff\xfe\x80\r\n"
)

// world is the fake userbase and maildrops of most tests.
type world struct {
	auth  *fakeAuth
	drops *fakeDrops
	clock *fakeClock
}

var (
	alice = mailbox.MustParse("alice@example.com")
	bob   = mailbox.MustParse("bob@example.com")
)

func newWorld() *world {
	auth := &fakeAuth{accounts: map[string]account{
		"alice@example.com": {"secret", alice},
		"bob@example.com":   {"hunter 2", bob},
	}}
	drops := &fakeDrops{retrFail: -1, boxes: map[mailbox.Name][]fakeMsg{
		alice: {
			{"0001aaaa", stuff(msgPlain)},
			{"0002bbbb", stuff(msgDots)},
			{"0003cccc", stuff(msgLong)},
			{"0004dddd", stuff(msg8bit)},
		},
	}}
	return &world{auth: auth, drops: drops, clock: newFakeClock()}
}

// testConfig is Defaults with plaintext allowed from the pipe "address".
func testConfig() Config {
	c := Defaults()
	c.PlaintextAuth = PlaintextAlways
	c.Hostname = "pop.test"
	return c
}

func (w *world) server(t testing.TB, cfg Config, auth Authenticator) *Server {
	t.Helper()
	if auth == nil {
		auth = w.auth
	}
	cfg.Clock = w.clock
	s, err := New(cfg, auth, w.drops, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// addrConn gives a net.Pipe end a client address.
type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }

func tcpAddr(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
