// Package cluster keeps a front end's view of the backends: who they are
// (membership, which changes at run time) and how they are (health).
//
// Membership comes from a Source, normally the `backends` table of the
// userbase database, PowerMail's "one single source of information": every
// powersmtp and powerpop polls it, so adding a backend is one INSERT and all
// instances agree within one poll interval, without a restart. A static list
// from the configuration is the other Source.
//
// Health: every backend is asked for its STATUS periodically, concurrently
// and under a deadline, so a down or slow backend is noticed without any
// session waiting for it; it comes back on its own at the first good answer.
// A backend counts as read-only when either the operator says so in the
// membership or the backend reports it, and as full when its free space is
// below the floor it reports.
package backendview

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"powermail/impl/mail"
	"powermail/impl/placement"
)

// Source lists the members.
type Source interface {
	Members(ctx context.Context) ([]mail.Member, error)
}

// Checker is what health checks need of a backend client.
type Checker interface {
	Status(ctx context.Context) (mail.BackendStatus, error)
	Close() error
}

// Config holds the intervals and deadlines, and the placement policy.
type Config struct {
	HealthInterval     time.Duration
	HealthTimeout      time.Duration
	MembershipInterval time.Duration
	Policy             placement.Policy // "" is PowerMail's
	Redundancy         int              // R, for the home sets of rendezvous placement
}

// Node is one backend: its membership, its client and its last known state.
type Node[C Checker] struct {
	mail.Member
	Client C

	mu     sync.Mutex
	status mail.BackendStatus
	up     bool
	err    error

	uploads atomic.Int64 // this front end's uploads to the node in flight
}

// State returns the last health-check outcome.
func (n *Node[C]) State() (st mail.BackendStatus, up bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.status, n.up, n.err
}

func (n *Node[C]) placement() placement.Candidate {
	st, up, _ := n.State()
	b := placement.Observed(n.Member, st, up)
	b.Load = Load(st, n.uploads.Load())
	return b
}

// StartUpload and EndUpload bracket an upload of this front end to the
// node, so that its load counts uploads as they start rather than at the
// next health check.
func (n *Node[C]) StartUpload() { n.uploads.Add(1) }

// EndUpload: see StartUpload.
func (n *Node[C]) EndUpload() { n.uploads.Add(-1) }

// minFlushWait stands in for a flush wait not known yet (a backend that
// has not stored anything since it started, or one from before STATUS
// reported it), so that such a backend is neither free nor avoided.
const minFlushWait = 100 * time.Microsecond

// Load is the figure the least-load spread orders backends by: the
// expected wait of one more upload, the backend's average wait for
// durability times the uploads ahead of it and this one. Of the uploads,
// it takes the larger of what the backend reported at its last health check
// (every front end's) and what this front end has in flight to it now
// (fresh between checks: without it, every message until the next check
// would go to the same backend). The wait counts in microseconds, the
// unit the backend protocol reports it in.
func Load(st mail.BackendStatus, localUploads int64) float64 {
	wait := float64(max(st.FlushWait, minFlushWait).Microseconds())
	return wait * float64(1+max(st.Uploads, localUploads))
}

// View is the current set of nodes, with their health; safe for concurrent use.
type View[C Checker] struct {
	cfg  Config
	src  Source
	dial func(mail.Member) C
	log  *slog.Logger

	mu    sync.RWMutex
	nodes map[string]*Node[C]
	homes atomic.Pointer[homesAt] // rendezvous placement (placement.go)
	// historyDiffers: the table and the history disagreed at the last
	// reload (logged once per change).
	historyDiffers atomic.Bool

	rngMu sync.Mutex
	rng   *rand.Rand
}

// New returns an empty cluster; call Refresh, then Run.
func New[C Checker](cfg Config, src Source, dial func(mail.Member) C, log *slog.Logger) *View[C] {
	if log == nil {
		log = slog.Default()
	}
	return &View[C]{cfg: cfg, src: src, dial: dial, log: log, nodes: map[string]*Node[C]{},
		rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// Refresh reloads the membership and checks every node once.
func (c *View[C]) Refresh(ctx context.Context) error {
	err := c.reloadMembers(ctx)
	c.checkAll(ctx)
	return err
}

// Run keeps membership and health current until ctx ends.
func (c *View[C]) Run(ctx context.Context) {
	health := time.NewTicker(c.cfg.HealthInterval)
	members := time.NewTicker(c.cfg.MembershipInterval)
	defer health.Stop()
	defer members.Stop()
	for {
		select {
		case <-ctx.Done():
			c.closeAll()
			return
		case <-health.C:
			c.checkAll(ctx)
		case <-members.C:
			if err := c.reloadMembers(ctx); err != nil {
				c.log.Warn("backend list not refreshed; keeping the previous one", "err", err)
			}
		}
	}
}

// Nodes returns every member, sorted by address.
func (c *View[C]) Nodes() []*Node[C] {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Node[C], 0, len(c.nodes))
	for _, n := range c.nodes {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *Node[C]) int { return strings.Compare(a.Addr, b.Addr) })
	return out
}

// Reachable returns the nodes whose last health check succeeded.
func (c *View[C]) Reachable() []*Node[C] {
	var out []*Node[C]
	for _, n := range c.Nodes() {
		if _, up, _ := n.State(); up {
			out = append(out, n)
		}
	}
	return out
}

// ErrNoMembers is returned by Choose when the cluster has no nodes.
var ErrNoMembers = errors.New("cluster: no backends configured")

// Choose applies the placement policy to the current state.
func (c *View[C]) Choose(req placement.Request) (primary, spares []*Node[C], err error) {
	nodes := c.Nodes()
	if len(nodes) == 0 {
		return nil, nil, ErrNoMembers
	}
	byID := make(map[string]*Node[C], len(nodes))
	states := make([]placement.Candidate, len(nodes))
	for i, n := range nodes {
		byID[n.Addr] = n
		states[i] = n.placement()
	}
	c.rngMu.Lock()
	choice, err := placement.Choose(states, req, c.rng)
	c.rngMu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	for _, b := range choice.Primary {
		primary = append(primary, byID[b.ID])
	}
	for _, b := range choice.Spares {
		spares = append(spares, byID[b.ID])
	}
	return primary, spares, nil
}

// MarkDown records a failure seen by a session, so the next message avoids
// the node without waiting for the next health check.
func (n *Node[C]) MarkDown(err error) {
	markedDown.WithLabelValues(n.Addr).Inc()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.up, n.err = false, err
}

func (c *View[C]) reloadMembers(ctx context.Context) error {
	ms, err := c.src.Members(ctx)
	if err != nil {
		return err
	}
	if err := c.reloadHistory(ctx, ms); err != nil {
		return err
	}
	want := make(map[string]mail.Member, len(ms))
	for _, m := range ms {
		want[m.Addr] = m
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for addr, n := range c.nodes {
		if m, ok := want[addr]; !ok {
			delete(c.nodes, addr)
			n.Client.Close()
			backendUp.DeleteLabelValues(addr)
			c.log.Info("backend removed", "addr", addr)
		} else {
			n.mu.Lock()
			n.Member = m
			n.mu.Unlock()
		}
	}
	for addr, m := range want {
		if _, ok := c.nodes[addr]; !ok {
			c.nodes[addr] = &Node[C]{Member: m, Client: c.dial(m)}
			c.log.Info("backend added", "addr", addr, "group", m.Group, "priority", m.Priority)
		}
	}
	return nil
}

func (c *View[C]) checkAll(ctx context.Context) {
	nodes := c.Nodes()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.check(ctx, n)
		}()
	}
	wg.Wait()
}

func (c *View[C]) check(ctx context.Context, n *Node[C]) {
	cctx, cancel := context.WithTimeout(ctx, c.cfg.HealthTimeout)
	defer cancel()
	st, err := n.Client.Status(cctx)
	n.mu.Lock()
	wasUp := n.up
	n.up, n.err = err == nil, err
	if err == nil {
		n.status = st
	}
	n.mu.Unlock()
	backendUp.WithLabelValues(n.Addr).Set(boolGauge(err == nil))
	switch {
	case err != nil && wasUp:
		c.log.Warn("backend down", "addr", n.Addr, "err", err)
	case err == nil && !wasUp:
		c.log.Info("backend up", "addr", n.Addr, "free_bytes", st.FreeBytes, "readonly", st.ReadOnly)
	}
}

func (c *View[C]) closeAll() {
	for _, n := range c.Nodes() {
		n.Client.Close()
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
