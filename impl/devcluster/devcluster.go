// Package devcluster starts a whole PowerMail cluster of real processes on
// this machine: N pplisteners, one powersmtp and one powerpop, with an
// embedded (SQLite) userbase. `make run` uses it for a newcomer's first
// look; integration tests, chaos and the benchmark suite use it to drive the
// real binaries over TCP, as any client would.
//
// Everything lives under Options.Dir:
//
//	Dir/
//	  secret            shared backend secret (0600)
//	  userbase.db       embedded userbase: mailboxes and the backends table
//	  backend-N/        data root of backend N
//	  tls/cert.pem      self-signed certificate (Options.TLS), kept across runs
//	  tls/key.pem       its key (0600)
//	  logs/NAME.log     each daemon's log
package devcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"powermail/impl/placement"
	"powermail/impl/userbase"
	"powermail/impl/userbase/password"
)

// User is a mailbox to create.
type User struct {
	Name       string
	Password   string
	QuotaBytes int64
	Forward    []string
}

// Options describe the cluster.
type Options struct {
	BinDir      string // holds pplistener, powersmtp, powerpop
	Dir         string // working directory, created if missing
	Backends    int    // number of pplisteners
	Redundancy  int    // R
	WriteQuorum int    // W; 0 means W = R
	// Placement is the front ends' placement key ("" is their default,
	// powermail). Under rendezvous, a cluster whose userbase is new holds
	// no mail, so its placement history is settled at start.
	Placement  placement.Policy
	SMTPListen string // "" picks a free loopback port
	POPListen  string // "" picks a free loopback port
	Users      []User
	// StaticBackends passes the backend list on the command line instead of
	// the userbase backends table.
	StaticBackends bool
	ExtraBackend   []string // more flags for every pplistener
	ExtraSMTP      []string // more flags for powersmtp
	ExtraPOP       []string // more flags for powerpop
	// Env is added to every child's environment (GO_FAILPOINTS, say).
	Env []string
	// StartTimeout bounds the wait for each daemon to listen.
	StartTimeout time.Duration
	// TLS turns on STARTTLS and STLS with the certificate of EnsureCert(Dir).
	TLS bool
	// MySQL, when set, is the userbase instead of the embedded SQLite file
	// (driver, dsn, hosts, table-prefix, timeouts and cache settings are
	// passed to the front ends); Start creates its tables.
	MySQL *userbase.Config
	// MetricsPort, when not 0, gives every daemon a predictable /metrics
	// address on 127.0.0.1: backend i at MetricsPort+1+i, powerpop at
	// MetricsPort+10, powersmtp at MetricsPort+25 (with 9100, the ports of
	// the example configurations). 0 picks free ports.
	MetricsPort int
}

// Offsets from Options.MetricsPort.
const (
	metricsOffsetBackend = 1
	metricsOffsetPOP     = 10
	metricsOffsetSMTP    = 25
	maxMetricsBackends   = metricsOffsetPOP - metricsOffsetBackend
)

// Cluster is a running cluster.
type Cluster struct {
	opt      Options
	SMTPAddr string
	POPAddr  string
	// SMTPMetrics and POPMetrics are the front ends' /metrics addresses.
	SMTPMetrics string
	POPMetrics  string
	// Cert is the certificate of STARTTLS and STLS (zero without TLS).
	Cert     Cert
	Backends []*Listener
	smtp     *Proc
	pop      *Proc
	secret   string
	DBPath   string
}

// Listener is one pplistener.
type Listener struct {
	Addr        string
	MetricsAddr string // Prometheus /metrics of this backend
	Root        string
	args        []string
	proc        *Proc
}

// Start creates the userbase and starts every daemon, waiting until each
// one listens. On error everything started is stopped.
func Start(ctx context.Context, opt Options) (*Cluster, error) {
	if err := opt.defaults(); err != nil {
		return nil, err
	}
	c := &Cluster{opt: opt, DBPath: filepath.Join(opt.Dir, "userbase.db"),
		SMTPAddr: opt.SMTPListen, POPAddr: opt.POPListen}
	err := c.prepare(ctx)
	if err == nil {
		err = c.startAll(ctx)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (o *Options) defaults() error {
	if o.Backends < 1 || o.Redundancy < 1 || o.Redundancy > o.Backends {
		return fmt.Errorf("devcluster: need 1 <= redundancy (%d) <= backends (%d)", o.Redundancy, o.Backends)
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 20 * time.Second
	}
	if o.MetricsPort != 0 && o.Backends > maxMetricsBackends {
		return fmt.Errorf("devcluster: predictable metrics ports fit %d backends, not %d", maxMetricsBackends, o.Backends)
	}
	for _, p := range []*string{&o.SMTPListen, &o.POPListen} {
		if *p == "" {
			addr, err := FreeAddr()
			if err != nil {
				return err
			}
			*p = addr
		}
	}
	return os.MkdirAll(filepath.Join(o.Dir, "logs"), 0o700)
}

// prepare writes the secret, the userbase and the backends' arguments.
func (c *Cluster) prepare(ctx context.Context) error {
	var b [24]byte
	rand.Read(b[:])
	c.secret = hex.EncodeToString(b[:])
	if err := os.WriteFile(c.secretFile(), []byte(c.secret+"\n"), 0o600); err != nil {
		return err
	}
	if err := c.prepareFronts(); err != nil {
		return err
	}
	for i := 0; i < c.opt.Backends; i++ {
		if err := c.newBackend(); err != nil {
			return err
		}
	}
	return c.initUserbase(ctx)
}

// newBackend allocates ports and a data root for one more backend.
func (c *Cluster) newBackend() error {
	addr, err := FreeAddr()
	if err != nil {
		return err
	}
	metrics, err := c.metricsAddr(metricsOffsetBackend + len(c.Backends))
	if err != nil {
		return err
	}
	root := BackendRoot(c.opt.Dir, len(c.Backends))
	args := append([]string{"-listen", addr, "-root", root, "-secret-file", c.secretFile(),
		"-metrics-listen", metrics}, c.opt.ExtraBackend...)
	c.Backends = append(c.Backends, &Listener{Addr: addr, MetricsAddr: metrics, Root: root, args: args})
	return nil
}

// BackendRoot is the data root of backend i of a cluster whose Options.Dir
// is dir, for a harness that prepares it before the backend first starts
// (chaos mounts a file system there).
func BackendRoot(dir string, i int) string { return filepath.Join(dir, "backend-"+strconv.Itoa(i)) }

// AddBackend starts one more backend and lists it in the userbase backends
// table, the way an operator adds a machine on the fly; the front ends pick
// it up at their next membership poll. It returns the new backend's index.
func (c *Cluster) AddBackend(ctx context.Context) (int, error) {
	if err := c.newBackend(); err != nil {
		return 0, err
	}
	i := len(c.Backends) - 1
	if err := c.StartBackend(i); err != nil {
		return 0, err
	}
	db, err := userbase.OpenDB(c.userbaseConfig())
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return i, db.AddBackend(ctx, userbase.BackendRow{Addr: c.Backends[i].Addr, Group: i + 1, Enabled: true})
}

// prepareFronts picks the front ends' metrics addresses and the certificate.
func (c *Cluster) prepareFronts() (err error) {
	if c.SMTPMetrics, err = c.metricsAddr(metricsOffsetSMTP); err != nil {
		return err
	}
	if c.POPMetrics, err = c.metricsAddr(metricsOffsetPOP); err != nil {
		return err
	}
	if c.opt.TLS {
		c.Cert, err = EnsureCert(c.opt.Dir)
	}
	return err
}

// metricsAddr is the /metrics address at offset from Options.MetricsPort,
// or a free port.
func (c *Cluster) metricsAddr(offset int) (string, error) {
	if c.opt.MetricsPort == 0 {
		return FreeAddr()
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.opt.MetricsPort+offset)), nil
}

func (c *Cluster) secretFile() string { return filepath.Join(c.opt.Dir, "secret") }

func (c *Cluster) userbaseConfig() userbase.Config {
	if c.opt.MySQL != nil {
		return *c.opt.MySQL
	}
	cfg := userbase.Defaults()
	cfg.Path = c.DBPath
	return cfg
}

func (c *Cluster) initUserbase(ctx context.Context) error {
	cfg := c.userbaseConfig()
	_, statErr := os.Stat(c.DBPath)
	fresh := c.opt.MySQL == nil && errors.Is(statErr, os.ErrNotExist)
	if err := userbase.Init(ctx, cfg); err != nil {
		return err
	}
	db, err := userbase.OpenDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, u := range c.opt.Users {
		if err := addUser(ctx, db, u); err != nil {
			return err
		}
	}
	if err := c.registerBackends(ctx, db); err != nil {
		return err
	}
	if fresh && c.opt.Placement == placement.Rendezvous {
		return settleEmpty(ctx, db)
	}
	return nil
}

// settleEmpty settles the placement history of a cluster that holds no
// mail (what ppadmin repair -rebalance would do after a clean scan of
// empty backends).
func settleEmpty(ctx context.Context, db *userbase.DB) error {
	h, err := db.History(ctx)
	if err != nil {
		return err
	}
	return db.SettleHistory(ctx, h.Current().Number)
}

// registerBackends makes the backends table list exactly this run's
// backends (a reused Dir holds the rows of an earlier run's ports).
func (c *Cluster) registerBackends(ctx context.Context, db *userbase.DB) error {
	old, err := db.ListBackends(ctx)
	if err != nil {
		return err
	}
	for _, row := range old {
		if err := db.RemoveBackend(ctx, row.Addr); err != nil {
			return err
		}
	}
	for i, b := range c.Backends {
		// One group per backend: replicas land on distinct backends.
		row := userbase.BackendRow{Addr: b.Addr, Group: i + 1, Enabled: true}
		if err := db.AddBackend(ctx, row); err != nil {
			return err
		}
	}
	return nil
}

func addUser(ctx context.Context, db *userbase.DB, u User) error {
	name, err := userbase.LoginName(u.Name)
	if err != nil {
		return err
	}
	hash := ""
	if u.Password != "" {
		if hash, err = password.Hash(u.Password); err != nil {
			return err
		}
	}
	m := userbase.Mailbox{Name: name, PasswordHash: hash, QuotaBytes: u.QuotaBytes, Forward: u.Forward, Enabled: true}
	if err := db.AddMailbox(ctx, m); err != nil && !errors.Is(err, userbase.ErrExists) {
		return err
	}
	return nil
}

// FreeAddr returns a loopback address with a port that was free just now
// and that it has not returned before in this process. The kernel may
// hand out a port again as soon as it is closed: among the 50 ports of a
// 24-backend cluster, a repeat came up in about one start in twenty, and
// one of the two daemons then failed to listen.
func FreeAddr() (string, error) {
	handedMu.Lock()
	defer handedMu.Unlock()
	for range maxFreeAddrTries {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := ln.Addr().String()
		ln.Close()
		if !handed[addr] {
			handed[addr] = true
			return addr, nil
		}
	}
	return "", errors.New("devcluster: no loopback port that was not handed out before")
}

// maxFreeAddrTries bounds FreeAddr's search for a port not handed out yet.
const maxFreeAddrTries = 100

var (
	handedMu sync.Mutex
	handed   = map[string]bool{} // addresses FreeAddr returned
)
