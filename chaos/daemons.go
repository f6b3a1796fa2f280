package chaos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"powermail/impl/devcluster"
	"powermail/impl/userbase"
)

// Failpoint environment variables read by every failpoint build at start.
const (
	envFailpoints     = "GO_FAILPOINTS"
	envFailpointsHTTP = "GO_FAILPOINTS_HTTP"
)

// settle is how long the front ends need to see a change of the backends
// table or a backend's health (devcluster's membership interval plus two
// health rounds).
const settle = devcluster.MembershipInterval + 2*devcluster.HealthInterval

// envMu serialises process starts: a child inherits this process's
// environment, which is how each backend gets its own failpoint port.
var envMu sync.Mutex

// cluster is a devcluster with, per backend, a failpoint control port and
// a fault proxy between the front ends and it.
type cluster struct {
	*devcluster.Cluster
	fpAddr  []string
	proxies []*Proxy
	http    *http.Client
	broken  []string // "name=terms" set in every backend at each start
	disks   disks    // the backends' powercut disks (nil: the real disk)
	// unsyncedSince is when the backends stopped fsyncing (a broken
	// build); zero when they never did. A power cut loses what was
	// written since.
	unsyncedSince time.Time
}

// startCluster starts a cluster whose front ends run with frontTerms
// (GO_FAILPOINTS syntax), then restarts each backend with its own
// failpoint port and puts a proxy in front of it. ds are the backends'
// disks when they are powercut disks (already mounted), else nil.
func startCluster(ctx context.Context, opt devcluster.Options, frontTerms string, broken []string, ds disks) (*cluster, error) {
	envMu.Lock()
	os.Setenv(envFailpoints, frontTerms)
	dc, err := devcluster.Start(ctx, opt)
	os.Unsetenv(envFailpoints)
	envMu.Unlock()
	if err != nil {
		return nil, err
	}
	c := &cluster{Cluster: dc, http: &http.Client{Timeout: 5 * time.Second}, broken: broken, disks: ds}
	if err := c.setup(ctx); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *cluster) setup(ctx context.Context) error {
	for i := range c.Backends {
		addr, err := devcluster.FreeAddr()
		if err != nil {
			return err
		}
		c.fpAddr = append(c.fpAddr, addr)
		if err := c.restartBackend(i, false); err != nil {
			return err
		}
	}
	if err := c.installProxies(ctx); err != nil {
		return err
	}
	time.Sleep(settle)
	return nil
}

// restartBackend stops backend i (kill -9 when kill) if it runs, and
// starts it again with its failpoint port and no failpoint active.
func (c *cluster) restartBackend(i int, kill bool) error {
	p := c.Backends[i].Proc()
	if p != nil && !p.Exited() {
		stop := p.Stop
		if kill {
			stop = p.Kill
		}
		if err := stop(); err != nil {
			return err
		}
	}
	envMu.Lock()
	defer envMu.Unlock()
	os.Setenv(envFailpointsHTTP, c.fpAddr[i])
	err := c.StartBackend(i)
	os.Unsetenv(envFailpointsHTTP)
	if err != nil {
		return err
	}
	return c.applyBroken(i)
}

// applyBroken sets the deliberately broken build's failpoints in backend i.
func (c *cluster) applyBroken(i int) error {
	for _, kv := range c.broken {
		name, terms, _ := strings.Cut(kv, "=")
		if err := c.failpoint(i, name, terms); err != nil {
			return err
		}
		if kv == BrokenFsync && c.unsyncedSince.IsZero() {
			c.unsyncedSince = time.Now()
		}
	}
	return nil
}

// installProxies points the userbase backends table at one proxy per
// backend, so that the front ends reach backend i only through proxies[i].
func (c *cluster) installProxies(ctx context.Context) error {
	cfg := userbase.Defaults()
	cfg.Path = c.DBPath
	db, err := userbase.OpenDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	for i, b := range c.Backends {
		p, err := NewProxy(b.Addr)
		if err != nil {
			return err
		}
		c.proxies = append(c.proxies, p)
		if err := db.RemoveBackend(ctx, b.Addr); err != nil {
			return err
		}
		row := userbase.BackendRow{Addr: p.Addr(), Group: i + 1, Enabled: true}
		if err := db.AddBackend(ctx, row); err != nil {
			return err
		}
	}
	return nil
}

// failpoint sets (terms != "") or clears a failpoint of backend i at run time.
func (c *cluster) failpoint(i int, name, terms string) error {
	method, body := http.MethodPut, io.Reader(strings.NewReader(terms))
	if terms == "" {
		method, body = http.MethodDelete, nil
	}
	req, err := http.NewRequest(method, "http://"+c.fpAddr[i]+"/"+name, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("failpoint %s on backend %d: %s: %s", name, i, resp.Status, msg)
	}
	return nil
}

// close stops the proxies and every daemon.
func (c *cluster) close() error {
	err := c.Close()
	for _, p := range c.proxies {
		p.Close()
	}
	return err
}
