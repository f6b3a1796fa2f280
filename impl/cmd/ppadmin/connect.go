package main

import (
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"powermail/impl/internal/backendview"
	"powermail/impl/mail"
	"powermail/impl/placement"
	"powermail/impl/pp"
	"powermail/impl/ppclient"
	"powermail/impl/repair"
)

// clusterFlags are the flags of the commands that talk to the backends:
// where the list comes from and how to authenticate, the same keys the
// daemons read.
type clusterFlags struct {
	backends   string
	secretFile string
	redundancy int
	ioTimeout  time.Duration
	placement  string
}

// defaultRedundancy is the daemons' default R.
const defaultRedundancy = 2

// maxRedundancy matches the daemons' limit on the redundancy key.
const maxRedundancy = 16

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.backends, "backends", "", "static backend list host:port or group:priority:host:port[:ro], comma separated; empty: the userbase backends table")
	fs.StringVar(&c.secretFile, "backend-secret-file", "", "file holding the shared secret of the backends (required)")
	fs.IntVar(&c.redundancy, "redundancy", defaultRedundancy, "R: the number of copies each message should have")
	fs.DurationVar(&c.ioTimeout, "backend-io-timeout", ppclient.DefaultIOTimeout, "limit for one exchange with a backend")
	fs.StringVar(&c.placement, "placement", string(placement.PowerMail), "the daemons' placement: powermail or rendezvous (then the placement history of the userbase says where mail belongs)")
}

// clusterCommand parses the arguments of a command that takes only the
// cluster flags and nargs positional arguments, and connects.
func (e *env) clusterCommand(name string, args []string, nargs int) ([]string, clusterFlags, []repair.Node, error) {
	var cf clusterFlags
	fs := e.flags(name)
	cf.register(fs)
	pos, err := parseArgs(fs, args, nargs, nargs)
	if err != nil {
		return nil, cf, nil, err
	}
	backends, err := e.connect(cf)
	return pos, cf, backends, err
}

// connect builds a client per backend from the static list or the enabled
// rows of the backends table. The caller closes the clients.
func (e *env) connect(c clusterFlags) ([]repair.Node, error) {
	if c.redundancy < 1 || c.redundancy > maxRedundancy {
		return nil, usagef("-redundancy must be between 1 and %d", maxRedundancy)
	}
	if err := c.checkPlacement(); err != nil {
		return nil, err
	}
	secret, err := loadSecret(c.secretFile)
	if err != nil {
		return nil, err
	}
	members, err := e.members(c.backends)
	if err != nil {
		return nil, err
	}
	out := make([]repair.Node, len(members))
	for i, m := range members {
		cl := ppclient.New(ppclient.Config{Addr: m.Addr, Secret: secret, ClientName: "ppadmin", IOTimeout: c.ioTimeout})
		out[i] = repair.Node{Member: m, Client: cl}
	}
	return out, nil
}

func (c clusterFlags) checkPlacement() error {
	p, err := placement.ParsePolicy(c.placement)
	if err != nil {
		return usagef("-placement: %v", err)
	}
	if p == placement.Rendezvous && c.backends != "" {
		return usagef("-placement rendezvous needs the placement history of the backends table, not -backends")
	}
	return nil
}

// homes is the placement history under rendezvous placement, nil under
// PowerMail's. Read it after any change to the table (a drain marks its
// backend read-only, which makes a new epoch).
func (e *env) homes(c clusterFlags) (*placement.Homes, placement.History, error) {
	if c.placement != string(placement.Rendezvous) {
		return nil, placement.History{}, nil
	}
	db, err := e.open()
	if err != nil {
		return nil, placement.History{}, err
	}
	h, err := db.History(e.ctx)
	if err != nil {
		return nil, h, err
	}
	if len(h.Epochs) == 0 {
		return nil, h, fmt.Errorf("the placement history is empty (ppadmin init records the backends table)")
	}
	return placement.NewHomes(h, c.redundancy), h, nil
}

func closeAll(bs []repair.Node) {
	for _, b := range bs {
		b.Client.Close()
	}
}

// loadSecret reads the shared secret; the file is the only way to give it,
// so that it never shows in ps.
func loadSecret(path string) (string, error) {
	if path == "" {
		return "", usagef("-backend-secret-file is required")
	}
	s, err := pp.ReadSecretFile(path)
	if err != nil {
		return "", fmt.Errorf("backend secret in %s: %w", path, err)
	}
	return s, nil
}

// members returns the static list, or the enabled backends of the table
// (as the daemons use them).
func (e *env) members(static string) ([]mail.Member, error) {
	if static != "" {
		return parseStatic(splitList(static))
	}
	db, err := e.open()
	if err != nil {
		return nil, err
	}
	out, err := db.Members(e.ctx)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no enabled backends in the backends table (ppadmin backend add, or -backends)")
	}
	return out, nil
}

// parseStatic accepts the daemons' group:priority:host:port[:ro] entries and
// plain host:port, which is a group of its own.
func parseStatic(specs []string) ([]mail.Member, error) {
	var out []mail.Member
	seen := map[string]bool{}
	for _, s := range specs {
		m := mail.Member{Addr: s, Group: s}
		if strings.Count(s, ":") != 1 {
			ms, err := backendview.ParseMembers([]string{s})
			if err != nil {
				return nil, usagef("-backends: %v", err)
			}
			m = ms[0]
		} else if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, usagef("-backends: %v", err)
		}
		if seen[m.Addr] {
			return nil, usagef("-backends: %s listed twice", m.Addr)
		}
		seen[m.Addr] = true
		out = append(out, m)
	}
	return out, nil
}
