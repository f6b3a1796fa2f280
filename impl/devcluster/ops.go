package devcluster

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (c *Cluster) bin(name string) string { return filepath.Join(c.opt.BinDir, name) }

func (c *Cluster) logDir() string { return filepath.Join(c.opt.Dir, "logs") }

func (c *Cluster) startAll(ctx context.Context) error {
	for i := range c.Backends {
		if err := c.StartBackend(i); err != nil {
			return err
		}
	}
	if err := c.StartSMTP(); err != nil {
		return err
	}
	return c.StartPOP()
}

// StartSMTP starts (or, once its process has ended, restarts) powersmtp
// with the cluster's flags and waits until it listens.
func (c *Cluster) StartSMTP() (err error) {
	c.smtp, err = c.startFront("powersmtp", "powersmtp", c.SMTPAddr, c.frontArgs(c.SMTPAddr, c.SMTPMetrics, c.opt.ExtraSMTP, true))
	return err
}

// StartPOP starts (or restarts) powerpop, as StartSMTP does powersmtp.
func (c *Cluster) StartPOP() (err error) {
	c.pop, err = c.startFront("powerpop", "powerpop", c.POPAddr, c.frontArgs(c.POPAddr, c.POPMetrics, c.opt.ExtraPOP, false))
	return err
}

func (c *Cluster) startFront(bin, name, addr string, args []string) (*Proc, error) {
	p, err := startProc(name, c.bin(bin), args, c.opt.Env, c.logDir())
	if err != nil {
		return nil, err
	}
	if err := p.waitListening(addr, c.opt.StartTimeout); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}

// Health and membership intervals of the front ends: short, so that tests
// see restarts and added backends quickly.
const (
	HealthInterval     = 500 * time.Millisecond
	MembershipInterval = time.Second
)

// frontArgs are the flags common to powersmtp and powerpop: short health
// and membership intervals so tests see changes quickly.
func (c *Cluster) frontArgs(listen, metrics string, extra []string, smtp bool) []string {
	args := append([]string{"-listen", listen, "-metrics-listen", metrics}, c.userbaseArgs()...)
	args = append(args, "-backend-secret-file", c.secretFile(), "-redundancy", strconv.Itoa(c.opt.Redundancy),
		"-health-interval", HealthInterval.String(), "-membership-interval", MembershipInterval.String())
	if c.opt.TLS {
		args = append(args, "-tls-cert", c.Cert.CertFile, "-tls-key", c.Cert.KeyFile)
	}
	if c.opt.Placement != "" {
		args = append(args, "-placement", string(c.opt.Placement))
	}
	if smtp {
		args = append(args, "-write-quorum", strconv.Itoa(c.opt.WriteQuorum),
			"-orphan-log", filepath.Join(c.opt.Dir, "orphans.jsonl"))
	}
	if c.opt.StaticBackends {
		var specs []string
		for i, b := range c.Backends {
			specs = append(specs, fmt.Sprintf("%d:0:%s", i+1, b.Addr))
		}
		args = append(args, "-backends", strings.Join(specs, ","))
	}
	return append(args, extra...)
}

// userbaseArgs are the front ends' userbase flags: the embedded file, or
// the MySQL settings of Options.MySQL.
func (c *Cluster) userbaseArgs() []string {
	m := c.opt.MySQL
	if m == nil {
		return []string{"-userbase-db", c.DBPath}
	}
	return []string{"-userbase-driver", m.Driver, "-userbase-dsn", m.DSN,
		"-userbase-hosts", strings.Join(m.Hosts, ","), "-userbase-table-prefix", m.TablePrefix,
		"-userbase-connect-timeout", m.ConnectTimeout.String(), "-userbase-query-timeout", m.QueryTimeout.String(),
		"-userbase-cache-positive-ttl", m.CachePositiveTTL.String(),
		"-userbase-cache-negative-ttl", m.CacheNegativeTTL.String(), "-userbase-auth-cache-ttl", m.AuthCacheTTL.String()}
}

// StartExtraPOP starts another powerpop instance on a free port, as a
// second POP host of the same cluster, with extra flags after the usual
// ones; the caller stops the process.
func (c *Cluster) StartExtraPOP(name string, extra ...string) (addr string, p *Proc, err error) {
	if addr, err = FreeAddr(); err != nil {
		return "", nil, err
	}
	metrics, err := FreeAddr()
	if err != nil {
		return "", nil, err
	}
	args := c.frontArgs(addr, metrics, append(slices.Clone(c.opt.ExtraPOP), extra...), false)
	p, err = c.startFront("powerpop", name, addr, args)
	return addr, p, err
}

// StartBackend starts (or restarts) backend i and waits until it listens.
func (c *Cluster) StartBackend(i int) error {
	b := c.Backends[i]
	p, err := startProc("pplistener-"+strconv.Itoa(i), c.bin("pplistener"), b.args, c.opt.Env, c.logDir())
	if err != nil {
		return err
	}
	if err := p.waitListening(b.Addr, c.opt.StartTimeout); err != nil {
		p.Kill()
		return err
	}
	b.proc = p
	return nil
}

// StopBackend stops backend i gracefully.
func (c *Cluster) StopBackend(i int) error { return c.Backends[i].Proc().Stop() }

// KillBackend kills backend i with SIGKILL.
func (c *Cluster) KillBackend(i int) error { return c.Backends[i].Proc().Kill() }

// Proc returns the backend's current process (nil before the first start).
func (b *Listener) Proc() *Proc { return b.proc }

// SMTP returns powersmtp's process.
func (c *Cluster) SMTP() *Proc { return c.smtp }

// POP returns powerpop's process.
func (c *Cluster) POP() *Proc { return c.pop }

// Secret is the shared backend secret, for clients such as ppadmin or chaos.
func (c *Cluster) Secret() string { return c.secret }

// Dir is the cluster's working directory.
func (c *Cluster) Dir() string { return c.opt.Dir }

// Close stops the front ends first (so no delivery is cut by a vanished
// backend), then the backends.
func (c *Cluster) Close() error {
	var first error
	procs := []*Proc{c.smtp, c.pop}
	for _, b := range c.Backends {
		procs = append(procs, b.proc)
	}
	for _, p := range procs {
		if p == nil {
			continue
		}
		if err := p.Stop(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
