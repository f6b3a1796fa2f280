//go:build galera

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
	"powermail/impl/userbase"
)

// How long traffic runs before and after the kill.
const (
	galeraWarmup    = 4 * time.Second
	galeraAfterKill = 10 * time.Second
	galeraSenders   = 4
	galeraPoppers   = 2
	galeraUsers     = 8
)

// TestUserbaseSurvivesADatabaseNode: the userbase is a three-node MariaDB
// Galera cluster listed in userbase-hosts, with every cache off so that each
// RCPT and each login asks the database. Deliveries and logins run while
// the node every front end uses is killed (kill -9). Required: no 5xx and no
// -ERR other than a temporary one, every message answered 250 retrievable
// exactly once, and service going on after the kill. 4xx and -ERR
// [SYS/TEMP] during the failover are allowed, and counted in the log.
func TestUserbaseSurvivesADatabaseNode(t *testing.T) {
	began := time.Now()
	nodes := startGalera(t)
	t.Logf("galera: 3 nodes synced in %v", time.Since(began).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nodes[0].exec(ctx, t, "CREATE DATABASE powermail")

	ub := userbase.Defaults()
	ub.Driver, ub.DSN = userbase.DriverMySQL, "root@tcp("+nodes[0].sql+")/powermail"
	for _, n := range nodes {
		ub.Hosts = append(ub.Hosts, n.sql)
	}
	ub.ConnectTimeout, ub.QueryTimeout = time.Second, 2*time.Second
	ub.CachePositiveTTL, ub.CacheNegativeTTL, ub.AuthCacheTTL = 0, 0, 0
	var users []devcluster.User
	for i := range galeraUsers {
		users = append(users, devcluster.User{Name: fmt.Sprintf("user%d@example.com", i), Password: fmt.Sprintf("pw%d", i)})
	}
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2, Users: users, MySQL: &ub})

	load := &galeraLoad{c: c, users: users, stop: make(chan struct{})}
	load.run()
	time.Sleep(galeraWarmup)
	killedAt := time.Now()
	load.mark()
	nodes[0].kill()
	time.Sleep(galeraAfterKill)
	load.finish()
	t.Logf("node1 killed %v into the traffic; traffic went on for %v", galeraWarmup, galeraAfterKill)
	t.Logf("SMTP: %d accepted (%d after the kill), 4xx %v, 5xx %v, other %v",
		len(load.accepted), load.acceptedAfter, load.smtpTemp, load.smtpPerm, load.smtpOther)
	t.Logf("POP: %d logins ok (%d after the kill), temporary %v, failed %v",
		load.popOK, load.popOKAfter, load.popTemp, load.popPerm)
	if !load.firstTemp.IsZero() {
		t.Logf("temporary failures from %v to %v after the kill",
			load.firstTemp.Sub(killedAt).Round(time.Millisecond), load.lastTemp.Sub(killedAt).Round(time.Millisecond))
	}

	assert.Empty(t, load.smtpPerm, "no 5xx")
	assert.Empty(t, load.smtpOther, "no connection failures")
	assert.Empty(t, load.popPerm, "no login refused other than temporarily")
	assert.Positive(t, load.acceptedAfter, "deliveries go on after the kill")
	assert.Positive(t, load.popOKAfter, "logins go on after the kill")
	assertDelivered(t, c, users, load.accepted)
	assertNodeSkipped(t, c, nodes[0].sql)
}

// galeraLoad is the traffic of the test: senders over SMTP, each message
// tagged, and POP logins (USER, PASS, STAT, QUIT) that delete nothing.
type galeraLoad struct {
	c     *devcluster.Cluster
	users []devcluster.User
	stop  chan struct{}
	wg    sync.WaitGroup

	mu                  sync.Mutex
	killed              bool
	accepted            map[string]string // tag -> mailbox
	acceptedAfter       int
	smtpTemp, smtpPerm  map[string]int
	smtpOther           map[string]int
	popOK, popOKAfter   int
	popTemp, popPerm    map[string]int
	firstTemp, lastTemp time.Time
}

func (l *galeraLoad) run() {
	l.accepted = map[string]string{}
	l.smtpTemp, l.smtpPerm, l.smtpOther = map[string]int{}, map[string]int{}, map[string]int{}
	l.popTemp, l.popPerm = map[string]int{}, map[string]int{}
	for w := range galeraSenders {
		l.wg.Add(1)
		go l.sender(w)
	}
	for w := range galeraPoppers {
		l.wg.Add(1)
		go l.popper(w)
	}
}

func (l *galeraLoad) mark() {
	l.mu.Lock()
	l.killed = true
	l.mu.Unlock()
}

func (l *galeraLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

func (l *galeraLoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

func (l *galeraLoad) sender(w int) {
	defer l.wg.Done()
	for seq := 0; !l.stopped(); seq++ {
		tag := fmt.Sprintf("%d-%d", w, seq)
		rcpt := l.users[(w+seq)%len(l.users)].Name
		body := "Subject: galera " + tag + "\r\n\r\nfailover traffic\r\n"
		err := smtp.SendMail(l.c.SMTPAddr, nil, "s@remote.example", []string{rcpt}, []byte(body))
		l.mu.Lock()
		l.smtpResult(tag, rcpt, err)
		l.mu.Unlock()
	}
}

func (l *galeraLoad) smtpResult(tag, rcpt string, err error) {
	var te *textproto.Error
	switch {
	case err == nil:
		l.accepted[tag] = rcpt
		if l.killed {
			l.acceptedAfter++
		}
	case errors.As(err, &te) && te.Code/100 == 4:
		l.temp(l.smtpTemp, fmt.Sprint(te.Code))
	case errors.As(err, &te):
		l.smtpPerm[fmt.Sprintf("%d %s", te.Code, te.Msg)]++
	default:
		l.smtpOther[err.Error()]++
	}
}

func (l *galeraLoad) temp(m map[string]int, key string) {
	m[key]++
	now := time.Now()
	if l.killed && l.firstTemp.IsZero() {
		l.firstTemp = now
	}
	if l.killed {
		l.lastTemp = now
	}
}

func (l *galeraLoad) popper(w int) {
	defer l.wg.Done()
	for seq := 0; !l.stopped(); seq++ {
		u := l.users[(w+seq*galeraPoppers)%len(l.users)]
		reply, err := popSession(l.c.POPAddr, u.Name, u.Password)
		l.mu.Lock()
		switch {
		case err != nil:
			l.popPerm["connection: "+err.Error()]++
		case reply == "":
			l.popOK++
			if l.killed {
				l.popOKAfter++
			}
		case strings.HasPrefix(reply, "-ERR [SYS/TEMP]"), strings.HasPrefix(reply, "-ERR [IN-USE]"):
			l.temp(l.popTemp, reply)
		default:
			l.popPerm[reply]++
		}
		l.mu.Unlock()
	}
}

// popSession logs in, asks STAT and quits; reply is the first -ERR line
// ("" when every command answered +OK).
func popSession(addr, user, pass string) (reply string, err error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewConn(conn)
	for _, cmd := range []string{"", "USER " + user, "PASS " + pass, "STAT", "QUIT"} {
		if cmd != "" {
			if err := tp.PrintfLine("%s", cmd); err != nil {
				return "", err
			}
		}
		line, err := tp.ReadLine()
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(line, "+OK") {
			return line, nil
		}
	}
	return "", nil
}

var subjectTag = regexp.MustCompile(`(?m)^Subject: galera (\S+)\r?$`)

// assertDelivered reads every mailbox and requires each accepted message
// exactly once, in the mailbox it was sent to.
func assertDelivered(t *testing.T, c *devcluster.Cluster, users []devcluster.User, accepted map[string]string) {
	seen := map[string]int{}
	for _, u := range users {
		p := popLogin(t, c.POPAddr, u.Name, u.Password)
		for i := range p.uidl() {
			msg := p.retr(i + 1)
			m := subjectTag.FindStringSubmatch(msg)
			require.NotNil(t, m, "message without a tag in %s", u.Name)
			assert.Equal(t, accepted[m[1]], u.Name, "message %s in the wrong mailbox (or never accepted)", m[1])
			seen[m[1]]++
		}
		p.quit()
	}
	for tag := range accepted {
		assert.Equal(t, 1, seen[tag], "accepted message %s retrieved %d times", tag, seen[tag])
	}
}

// assertNodeSkipped checks in the front ends' metrics that the killed node
// was really tried and skipped (the failover path ran, not a cache).
func assertNodeSkipped(t *testing.T, c *devcluster.Cluster, dead string) {
	failed := 0.0
	for _, addr := range []string{c.SMTPMetrics, c.POPMetrics} {
		m, err := devcluster.Scrape(context.Background(), addr)
		require.NoError(t, err)
		failed += m.Sum("powermail_userbase_connects_total", map[string]string{"node": dead, "result": "error"})
	}
	t.Logf("connections to the killed node refused and skipped: %v", failed)
	assert.Positive(t, failed, "the front ends never tried the killed node")
}
