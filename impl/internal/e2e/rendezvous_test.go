package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
	"powermail/impl/placement"
	"powermail/impl/userbase"
)

// Rendezvous placement on a whole cluster of processes (issue 13): six
// backends, R=2, twelve mailboxes (with three backends added, a mailbox's
// home moves with probability 1-(6/9)^2: twelve make it all but certain
// that some move).

const rendezvousUsers = 12

func rendezvousOptions() devcluster.Options {
	opt := devcluster.Options{Backends: 6, Redundancy: 2, Placement: placement.Rendezvous}
	for i := range rendezvousUsers {
		opt.Users = append(opt.Users, devcluster.User{Name: user(i), Password: "pw"})
	}
	return opt
}

func user(i int) string { return fmt.Sprintf("user%d@example.com", i) }

// mail is what a test sent: per mailbox, the tags of the accepted messages.
type mail struct {
	mu   sync.Mutex
	tags map[string][]string
	n    int
}

func (m *mail) send(t *testing.T, c *devcluster.Cluster, box string) error {
	m.mu.Lock()
	m.n++
	tag := fmt.Sprintf("m%04d", m.n)
	m.mu.Unlock()
	err := send(c.SMTPAddr, "s@remote.example", []string{box}, "Subject: "+tag+"\r\n\r\n"+tag+"\r\n")
	if err == nil {
		m.mu.Lock()
		m.tags[box] = append(m.tags[box], tag)
		m.mu.Unlock()
	}
	return err
}

// popTags logs in as box and returns the tag of every message, in order.
func popTags(t *testing.T, c *devcluster.Cluster, box string) []string {
	t.Helper()
	p := popLogin(t, c.POPAddr, box, "pw")
	n := len(p.uidl())
	var out []string
	for i := 1; i <= n; i++ {
		body := p.retr(i)
		out = append(out, strings.TrimSpace(body[strings.LastIndex(strings.TrimSpace(body), "\n")+1:]))
	}
	p.quit()
	return out
}

// deleteFirst deletes box's first message and returns its tag.
func deleteFirst(t *testing.T, c *devcluster.Cluster, box string) string {
	t.Helper()
	tag := popTags(t, c, box)[0]
	p := popLogin(t, c.POPAddr, box, "pw")
	p.uidl()
	p.ok("DELE 1")
	p.quit()
	return tag
}

// lists is each backend's count of LIST requests.
func lists(t *testing.T, c *devcluster.Cluster) map[string]float64 {
	out := map[string]float64{}
	for _, b := range c.Backends {
		out[b.Addr] = scrape(t, b.MetricsAddr, "powermail_listener_requests_total", map[string]string{"verb": "LIST"})
	}
	return out
}

// listedByLogin is the backends that one login (USER, PASS, STAT) sent LIST.
func listedByLogin(t *testing.T, c *devcluster.Cluster, box string) []string {
	t.Helper()
	before := lists(t, c)
	p := popLogin(t, c.POPAddr, box, "pw")
	p.ok("STAT")
	p.quit()
	var out []string
	for addr, n := range lists(t, c) {
		if n > before[addr] {
			out = append(out, addr)
		}
	}
	slices.Sort(out)
	return out
}

// homes is where the placement history says a login of box looks.
func homes(t *testing.T, c *devcluster.Cluster, box string) placement.Location {
	t.Helper()
	cfg := userbase.Defaults()
	cfg.Path = c.DBPath
	db, err := userbase.OpenDB(cfg)
	require.NoError(t, err)
	defer db.Close()
	h, err := db.History(context.Background())
	require.NoError(t, err)
	loc := placement.NewHomes(h, 2).Locate(box)
	slices.Sort(loc.Ask)
	return loc
}

// rebalance runs ppadmin repair -rebalance; settling needs no wait here.
func rebalance(t *testing.T, c *devcluster.Cluster, extra ...string) string {
	t.Helper()
	args := append([]string{"-db", c.DBPath, "repair", "-placement", "rendezvous", "-rebalance", "-settle-after", "0s",
		"-backend-secret-file", filepath.Join(c.Dir(), "secret")}, extra...)
	out, err := exec.Command(filepath.Join(binDir, "ppadmin"), args...).CombinedOutput()
	require.NoError(t, err, "ppadmin repair: %s", out)
	return string(out)
}

// TestRendezvousAcrossAMembershipChange: a login lists exactly the home
// backends; three backends join while mail flows and nothing delivered
// before goes missing from POP; a delete before and one after the change
// stay deleted; repair -rebalance moves the mail home and settles the
// history, after which a login lists exactly the new home backends.
func TestRendezvousAcrossAMembershipChange(t *testing.T) {
	c := startCluster(t, rendezvousOptions())
	waitAllUp()
	sent := &mail{tags: map[string][]string{}}
	for i := range 2 * rendezvousUsers {
		require.NoError(t, sent.send(t, c, user(i%rendezvousUsers)))
	}
	var before [][]string
	for i := range rendezvousUsers {
		before = append(before, homes(t, c, user(i)).Ask)
		assert.Equal(t, before[i], listedByLogin(t, c, user(i)), "%s lists its home only", user(i))
	}
	deleted := map[string]string{user(0): deleteFirst(t, c, user(0))}

	failures := addBackendsWhileSending(t, c, sent, 3)
	assert.Zero(t, failures, "messages refused while backends joined")
	waitAllUp()
	for i := range rendezvousUsers { // the union of the homes of every epoch, nothing more
		assert.Equal(t, homes(t, c, user(i)).Ask, listedByLogin(t, c, user(i)), "%s before the rebalance", user(i))
	}
	deleted[user(1)] = deleteFirst(t, c, user(1))
	requireMailboxes(t, c, sent, deleted)

	out := rebalance(t, c)
	assert.Contains(t, out, "settled")
	time.Sleep(2 * devcluster.MembershipInterval) // powerpop reads the settled history
	moved := 0
	for i := range rendezvousUsers {
		loc := homes(t, c, user(i))
		assert.Len(t, loc.Ask, 2, "a settled history asks one home set")
		assert.Equal(t, loc.Ask, listedByLogin(t, c, user(i)), "%s lists its new home only", user(i))
		if !slices.Equal(loc.Ask, before[i]) {
			moved++
		}
	}
	require.NotZero(t, moved, "no mailbox moved home: the test checked nothing of the rebalance")
	requireMailboxes(t, c, sent, deleted)
	assert.Regexp(t, `still away from home +0\n`, rebalance(t, c, "-dry-run"))
}

// addBackendsWhileSending adds n backends, one after another, while a
// sender keeps delivering, and returns how many messages were refused.
func addBackendsWhileSending(t *testing.T, c *devcluster.Cluster, sent *mail, n int) int {
	t.Helper()
	stop := make(chan struct{})
	failures := make(chan int)
	go func() {
		failed := 0
		for i := 0; ; i++ {
			select {
			case <-stop:
				failures <- failed
				return
			default:
			}
			if err := sent.send(t, c, user(i%rendezvousUsers)); err != nil {
				t.Logf("refused while backends joined: %v", err)
				failed++
			}
		}
	}()
	for range n {
		time.Sleep(devcluster.MembershipInterval)
		_, err := c.AddBackend(context.Background())
		require.NoError(t, err)
	}
	time.Sleep(2 * devcluster.MembershipInterval) // mail placed under the last membership too
	close(stop)
	return <-failures
}

// requireMailboxes: every mailbox shows exactly what was accepted for it,
// less what was deleted.
func requireMailboxes(t *testing.T, c *devcluster.Cluster, sent *mail, deleted map[string]string) {
	t.Helper()
	for i := range rendezvousUsers {
		box := user(i)
		want := slices.DeleteFunc(slices.Clone(sent.tags[box]), func(tag string) bool { return tag == deleted[box] })
		got := popTags(t, c, box)
		slices.Sort(want)
		slices.Sort(got)
		require.Equal(t, want, got, "%s after %d messages", box, len(sent.tags[box]))
	}
}

// TestRendezvousDownHomePushesMailDown: one of a mailbox's home backends
// is down while mail arrives; the copy goes one rank down. When the
// backend is back, a login lists its home, sees the message on one home
// backend only, lists the deeper ranks too, and shows it once.
func TestRendezvousDownHomePushesMailDown(t *testing.T) {
	opt := rendezvousOptions()
	opt.Backends, opt.Users = 4, opt.Users[:1]
	c := startCluster(t, opt)
	box := user(0)
	loc := homes(t, c, box)
	down := slices.IndexFunc(c.Backends, func(b *devcluster.Listener) bool { return b.Addr == loc.Home[0] })
	require.NoError(t, c.StopBackend(down))
	waitAllUp()
	sent := &mail{tags: map[string][]string{}}
	require.NoError(t, sent.send(t, c, box))
	assert.Empty(t, messageFiles(t, c.Backends[down].Root), "the down home backend got a copy")
	require.NoError(t, c.StartBackend(down))
	waitAllUp()
	assert.Equal(t, sent.tags[box], popTags(t, c, box))
	assert.Len(t, listedByLogin(t, c, box), 4, "the home listing is incomplete: the login lists down to rank 2R")
}
