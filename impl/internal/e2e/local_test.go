package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
)

// A powerpop configured with local-stores reads the backends' store
// directories itself: the same messages and bytes as over the network,
// no LIST or GET reaches a backend, and a DELE still writes its tombstones
// through the backends (a second, network-only powerpop sees it gone).
func TestLocalStoresReadDirectly(t *testing.T) {
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2})
	var local []string
	for _, b := range c.Backends {
		local = append(local, b.Addr+"="+b.Root)
	}
	addr, proc, err := c.StartExtraPOP("powerpop-local", "-local-stores", strings.Join(local, ","))
	require.NoError(t, err)
	t.Cleanup(func() { proc.Stop() })
	bodies := []string{sample, "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("z", 70)+"\r\n", 2000)}
	for _, b := range bodies {
		require.NoError(t, send(c.SMTPAddr, "s@remote.example", []string{"demo@example.com"}, b))
	}
	requests := func(verb string) (n float64) {
		for _, b := range c.Backends {
			n += scrape(t, b.MetricsAddr, "powermail_listener_requests_total", map[string]string{"result": "ok", "verb": verb})
		}
		return n
	}
	lists, gets := requests("LIST"), requests("GET")

	p := popLogin(t, addr, "demo@example.com", "demo")
	require.Len(t, p.uidl(), len(bodies))
	for i, b := range bodies {
		got := p.retr(i + 1)
		assert.True(t, strings.HasSuffix(got, b), "message %d differs", i+1)
	}
	assert.Zero(t, requests("LIST")-lists, "no LIST went to a backend")
	assert.Zero(t, requests("GET")-gets, "no GET went to a backend")
	p.ok("DELE 1")
	p.quit()

	q := popLogin(t, c.POPAddr, "demo@example.com", "demo") // the network-only powerpop
	assert.Len(t, q.uidl(), len(bodies)-1, "the delete went through the backends")
	q.quit()
}
