package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
)

// Graceful shutdown under load (issue 14, item 4): SIGTERM to a daemon
// while senders deliver tagged messages, a restart, and then the user's
// view through POP3 is checked against what each sender was told.

// TestSIGTERMPowersmtpUnderLoad: a message acknowledged with 250 is in the
// mailbox exactly once; a message refused (4xx, 421) or left without a
// reply is not there; a session in DATA when the signal came gets its 250
// (the backends are fine), not a dropped connection.
func TestSIGTERMPowersmtpUnderLoad(t *testing.T) {
	c := startCluster(t, devcluster.Options{Backends: 3, Redundancy: 2})
	l := startLoad(t, c.SMTPAddr, 6)
	l.waitAcked(t, 20)
	l.waitInData(t, 3)
	term := time.Now()
	require.NoError(t, c.SMTP().Signal(syscall.SIGTERM))
	require.NoError(t, c.SMTP().Wait(40*time.Second), "powersmtp ends cleanly within its shutdown timeout")
	acked := l.acked()
	require.NoError(t, c.StartSMTP())
	l.waitAcked(t, acked+20)
	attempts := l.finish()

	inData := 0
	for _, a := range attempts {
		if !a.got354.IsZero() && a.got354.Before(term) && a.replied.After(term) {
			inData++
			assert.Equal(t, 250, a.code, "%s was in DATA at SIGTERM", a.tag)
		}
	}
	require.Positive(t, inData, "no session was in DATA at SIGTERM: the test proved nothing")
	checkVisible(t, c.POPAddr, l.prefix, attempts)
	t.Logf("%s; %d in DATA at SIGTERM", summarize(attempts), inData)
}

// TestSIGTERMBackendUnderLoad: SIGTERM to a pplistener mid-load and its
// restart lose no acknowledged message (each has W copies on disk
// afterwards: a commit answered OK was durable), show no refused one, and
// leave no upload behind in any tmp/.
func TestSIGTERMBackendUnderLoad(t *testing.T) {
	c := startCluster(t, devcluster.Options{Backends: 3, Redundancy: 2})
	l := startLoad(t, c.SMTPAddr, 6)
	l.waitAcked(t, 20)
	l.waitInData(t, 3)
	b := c.Backends[0].Proc()
	require.NoError(t, b.Signal(syscall.SIGTERM))
	require.NoError(t, b.Wait(40*time.Second), "pplistener ends cleanly within its shutdown timeout")
	acked := l.acked()
	require.NoError(t, c.StartBackend(0))
	l.waitAcked(t, acked+20)
	attempts := l.finish()

	ids := checkVisible(t, c.POPAddr, l.prefix, attempts)
	var roots []string
	for _, b := range c.Backends {
		roots = append(roots, b.Root)
		assert.Empty(t, tmpEntries(t, b.Root), "uploads left in %s/tmp", b.Root)
	}
	for _, a := range attempts {
		if a.code == 250 {
			assert.GreaterOrEqual(t, copiesOnDisk(t, roots, ids[a.tag]), 2, "%s: acknowledged with W=2", a.tag)
		}
	}
	t.Logf("%s", summarize(attempts))
}

// attempt is one tagged message as its sender saw it.
type attempt struct {
	tag     string
	code    int       // the reply that ended it: 250, a 4xx; 0 when none came (refused, reset)
	got354  time.Time // zero unless DATA was answered 354
	replied time.Time // when it ended
}

// load is several senders, each delivering one tagged message per SMTP
// session until finish; a failed attempt is followed by a new message (a
// new tag), so every tag has exactly one outcome.
type load struct {
	addr, prefix string
	stop         chan struct{}
	wg           sync.WaitGroup
	inData       atomic.Int32 // sessions between 354 and the final reply

	mu       sync.Mutex
	attempts []attempt
	nAcked   int
}

func startLoad(t *testing.T, addr string, senders int) *load {
	l := &load{addr: addr, prefix: fmt.Sprintf("tag-%d-", time.Now().UnixNano()), stop: make(chan struct{})}
	for s := range senders {
		l.wg.Go(func() { l.sender(s) })
	}
	t.Cleanup(func() { l.finish() })
	return l
}

// retryPause spaces the attempts of a sender whose last one failed (while
// powersmtp is down, connections are refused at once).
const retryPause = 20 * time.Millisecond

func (l *load) sender(s int) {
	for seq := 0; ; seq++ {
		select {
		case <-l.stop:
			return
		default:
		}
		a := l.sendOne(fmt.Sprintf("%s%d-%d", l.prefix, s, seq))
		l.mu.Lock()
		l.attempts = append(l.attempts, a)
		if a.code == 250 {
			l.nAcked++
		}
		l.mu.Unlock()
		if a.code != 250 {
			time.Sleep(retryPause)
		}
	}
}

// bodyPause is a pause between the parts of each body: the senders spend
// most of their time in DATA, where SIGTERM is to find them.
const bodyPause = 30 * time.Millisecond

// sendOne delivers one message with net/smtp.
func (l *load) sendOne(tag string) (a attempt) {
	a.tag = tag
	defer func() { a.replied = time.Now() }()
	nc, err := net.DialTimeout("tcp", l.addr, 5*time.Second)
	if err != nil {
		return a
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := smtp.NewClient(nc, "localhost")
	if err == nil {
		err = c.Hello("sender.example")
	}
	if err == nil {
		err = c.Mail("s@remote.example")
	}
	if err == nil {
		err = c.Rcpt("demo@example.com")
	}
	if err == nil {
		err = l.data(c, &a)
	}
	if err == nil {
		a.code = 250
		c.Quit() // 221, or 421 when powersmtp is shutting down: either is fine
		return a
	}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		a.code = reply.Code
	}
	return a
}

// data sends the body in parts, each flushed to the socket (net/smtp's
// DATA writer would send it all at Close), so that powersmtp reads it in
// several reads, some after SIGTERM.
func (l *load) data(c *smtp.Client, a *attempt) error {
	tp := c.Text
	if err := tp.PrintfLine("DATA"); err != nil {
		return err
	}
	if _, _, err := tp.ReadResponse(354); err != nil {
		return err
	}
	a.got354 = time.Now()
	l.inData.Add(1)
	defer l.inData.Add(-1)
	parts := []string{"From: s@remote.example\r\nSubject: " + a.tag + "\r\n\r\n", "first line\r\n", "last line\r\n.\r\n"}
	for i, p := range parts {
		if i > 0 {
			time.Sleep(bodyPause)
		}
		if _, err := tp.W.WriteString(p); err != nil {
			return err
		}
		if err := tp.W.Flush(); err != nil {
			return err
		}
	}
	_, _, err := tp.ReadResponse(250)
	return err
}

func (l *load) acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nAcked
}

// waitAcked waits until n messages have been acknowledged in all.
func (l *load) waitAcked(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return l.acked() >= n }, 30*time.Second, 10*time.Millisecond,
		"acknowledged: %d of %d", l.acked(), n)
}

// waitInData waits until n sessions are in DATA at once.
func (l *load) waitInData(t *testing.T, n int32) {
	t.Helper()
	require.Eventually(t, func() bool { return l.inData.Load() >= n }, 10*time.Second, time.Millisecond)
}

// finish stops the senders and returns every attempt.
func (l *load) finish() []attempt {
	l.mu.Lock()
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.mu.Unlock()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.attempts
}

// checkVisible reads the mailbox through POP3 and checks every attempt
// against it: acknowledged, present exactly once; otherwise absent. It
// returns the message id (UIDL) of each tag present.
func checkVisible(t *testing.T, popAddr, prefix string, attempts []attempt) map[string]string {
	t.Helper()
	p := popLogin(t, popAddr, "demo@example.com", "demo")
	seen, ids := map[string]int{}, map[string]string{}
	for i, uid := range p.uidl() {
		tag := tagOf(p.retr(i+1), prefix)
		require.NotEmpty(t, tag, "message %d has no tag", i+1)
		seen[tag]++
		ids[tag] = uid
	}
	p.quit()
	for _, a := range attempts {
		if a.code == 250 {
			assert.Equal(t, 1, seen[a.tag], "%s: acknowledged, so in the mailbox exactly once", a.tag)
		} else {
			assert.Zero(t, seen[a.tag], "%s: answered %d (0: no reply), so never visible", a.tag, a.code)
		}
		delete(seen, a.tag)
	}
	assert.Empty(t, seen, "messages that no sender tried")
	return ids
}

func tagOf(msg, prefix string) string {
	for _, line := range strings.Split(msg, "\r\n") {
		if tag, ok := strings.CutPrefix(line, "Subject: "); ok && strings.HasPrefix(tag, prefix) {
			return tag
		}
	}
	return ""
}

// copiesOnDisk counts the message files named id in the backends' stores
// (a tombstone is <id>.tomb, not counted).
func copiesOnDisk(t *testing.T, roots []string, id string) int {
	n := 0
	for _, root := range roots {
		paths, err := filepath.Glob(filepath.Join(root, "mbox", "*", "*", "*", id))
		require.NoError(t, err)
		for _, p := range paths {
			if _, err := os.Stat(p); err == nil {
				n++
			}
		}
	}
	return n
}

func summarize(attempts []attempt) string {
	counts := map[int]int{}
	for _, a := range attempts {
		counts[a.code]++
	}
	return fmt.Sprintf("%d attempts: %d acknowledged, %d answered 4xx/421, %d without reply (by code: %v)",
		len(attempts), counts[250], len(attempts)-counts[250]-counts[0], counts[0], counts)
}

// TestSIGTERMPowerpopFinishesQuit: a QUIT whose deletes are being written
// when powerpop gets SIGTERM completes (+OK) and its deletes hold after
// the restart; a session idle in TRANSACTION is told -ERR [SYS/TEMP] and
// its DELE marks are dropped (RFC 1939 section 6: no UPDATE without QUIT).
// A gate in front of one backend holds the DELETE, so the QUIT is surely
// in progress when the signal comes.
func TestSIGTERMPowerpopFinishesQuit(t *testing.T) {
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2, Users: []devcluster.User{
		{Name: "demo@example.com", Password: "demo"}, {Name: "other@example.com", Password: "other"}}})
	g := newGate()
	proxy := startProxy(t, c.Backends[0].Addr, 0, g.hold)
	routeThrough(t, c, 0, proxy.ln.Addr().String())
	for i := range 6 {
		for _, to := range []string{"demo@example.com", "other@example.com"} {
			require.NoError(t, send(c.SMTPAddr, "s@remote.example", []string{to}, fmt.Sprintf("Subject: m%d\r\n\r\nbody\r\n", i)))
		}
	}
	quitter := popLogin(t, c.POPAddr, "demo@example.com", "demo")
	uids := quitter.uidl()
	require.Len(t, uids, 6)
	for n := 1; n <= 3; n++ {
		quitter.ok(fmt.Sprintf("DELE %d", n))
	}
	idler := popLogin(t, c.POPAddr, "other@example.com", "other")
	idler.ok("DELE 1")

	g.shut()
	require.NoError(t, quitter.tp.PrintfLine("QUIT"))
	require.Eventually(t, g.deletes.Load, 10*time.Second, time.Millisecond, "powerpop never sent DELETE")
	require.NoError(t, c.POP().Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool { return refused(c.POPAddr) }, 10*time.Second, 5*time.Millisecond)
	line, err := idler.tp.ReadLine()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(line, "-ERR [SYS/TEMP]"), "idle session at shutdown: %s", line)
	g.release()
	line, err = quitter.tp.ReadLine()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(line, "+OK"), "QUIT in progress at shutdown: %s", line)
	require.NoError(t, c.POP().Wait(40*time.Second), "powerpop ends cleanly within its shutdown timeout")

	require.NoError(t, c.StartPOP())
	after := popLogin(t, c.POPAddr, "demo@example.com", "demo")
	assert.Equal(t, uids[3:], after.uidl(), "the three deleted at QUIT stay deleted")
	after.quit()
	other := popLogin(t, c.POPAddr, "other@example.com", "other")
	assert.Len(t, other.uidl(), 6, "a DELE mark without QUIT deletes nothing")
	other.quit()
}

// gate holds what a proxy forwards to its backend while shut, and notes
// whether a DELETE was among what it held.
type gate struct {
	mu      sync.Mutex
	open    chan struct{} // closed while the gate lets everything through
	deletes atomic.Bool
}

func newGate() *gate {
	g := &gate{open: make(chan struct{})}
	close(g.open)
	return g
}

func (g *gate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = make(chan struct{})
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.open)
}

func (g *gate) hold(p []byte) {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
		return
	default:
	}
	if bytes.Contains(p, []byte("DELETE ")) {
		g.deletes.Store(true)
	}
	<-open
}

// refused reports that nothing accepts connections on addr.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}
