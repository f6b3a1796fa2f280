package backendview

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"powermail/impl/mail"
	"powermail/impl/placement"
)

// Placement: where a new message's copies go and where a login looks, by
// the policy of Config.Policy (package placement). Under rendezvous
// placement the cluster keeps the placement history, read with the
// membership from a HistorySource (the userbase backends table); the
// current membership of that history decides homes, so a backend that is
// in the table but not in the history takes no mail yet (ppadmin records
// every change it makes; a change by hand waits for `ppadmin init`).

// HistorySource is a Source that also keeps the placement history.
type HistorySource interface {
	Source
	History(ctx context.Context) (placement.History, error)
}

// maxHistoryAge bounds how old a history may be for placing mail: a front
// end cut off from the userbase must not go on placing by a membership
// that may have changed, or a rebalance could settle past mail it is
// still placing (the settle delay, repair's -settle-after, is longer).
// Logins fall back to listing every backend instead.
const maxHistoryAge = 10 * time.Minute

// ErrNoHistory is returned by Place under rendezvous placement when the
// placement history was never read, or not for maxHistoryAge.
var ErrNoHistory = errors.New("cluster: no recent placement history")

// homesAt is the placement history as read at a time.
type homesAt struct {
	homes *placement.Homes
	read  time.Time
}

// reloadHistory reads the placement history, under rendezvous placement,
// and says in the log when the members (of the table) are not its
// current membership.
func (c *View[C]) reloadHistory(ctx context.Context, ms []mail.Member) error {
	hs, ok := c.src.(HistorySource)
	if c.cfg.Policy != placement.Rendezvous || !ok {
		return nil
	}
	h, err := hs.History(ctx)
	if err != nil {
		return fmt.Errorf("placement history: %w", err)
	}
	c.homes.Store(&homesAt{homes: placement.NewHomes(h, c.cfg.Redundancy), read: time.Now()})
	differs := !sameMembers(h.Current().Members, ms)
	if was := c.historyDiffers.Swap(differs); differs && !was {
		c.log.Warn("the backends table differs from the placement history's current epoch: mail is placed by the history until `ppadmin init` records the table", "epoch", h.Current().Number)
	}
	return nil
}

// sameMembers reports whether ms, less those marked read-only, are epoch.
func sameMembers(epoch []placement.Candidate, ms []mail.Member) bool {
	n := 0
	for _, m := range ms {
		if m.ReadOnly {
			continue
		}
		n++
		if !slices.ContainsFunc(epoch, func(b placement.Candidate) bool { return b.ID == m.Addr && b.Group == m.Group }) {
			return false
		}
	}
	return n == len(epoch)
}

// freshHomes is the placement history, if recent enough to place by.
func (c *View[C]) freshHomes() (*placement.Homes, error) {
	h := c.homes.Load()
	switch {
	case h == nil:
		return nil, ErrNoHistory
	case time.Since(h.read) > maxHistoryAge:
		return nil, fmt.Errorf("%w: last read %s ago", ErrNoHistory, time.Since(h.read).Round(time.Second))
	}
	return h.homes, nil
}

// Target is where the copies for one mailbox may go: the first R of
// Candidates that take them, the first Home of which are the mailbox's
// home (all of them under PowerMail's placement).
type Target[C Checker] struct {
	Candidates []*Node[C]
	Home       int
}

// Place returns a Target for each of boxes. Under PowerMail's placement
// they are all the same: placement.Choose's order. Under rendezvous each
// mailbox has its own, and placement.CheckCandidates must pass.
func (c *View[C]) Place(boxes []string, req placement.Request) ([]Target[C], error) {
	out := make([]Target[C], len(boxes))
	if c.cfg.Policy != placement.Rendezvous {
		primary, spares, err := c.Choose(req)
		if err != nil {
			return nil, err
		}
		all := append(primary, spares...)
		for i := range out {
			out[i] = Target[C]{Candidates: all, Home: len(all)}
		}
		return out, nil
	}
	homes, err := c.freshHomes()
	if err != nil {
		return nil, err
	}
	byAddr := c.byAddr()
	eligible := func(id string) bool { n := byAddr[id]; return n != nil && n.placement().Eligible() }
	for i, box := range boxes {
		ids, home := homes.Candidates(box, eligible)
		if err := placement.CheckCandidates(len(ids), home, req.Min); err != nil {
			return nil, fmt.Errorf("%s: %w", box, err)
		}
		out[i] = Target[C]{Candidates: nodesOf(byAddr, ids), Home: home}
	}
	return out, nil
}

// Location is where a login of one mailbox looks (placement.Location), as
// the nodes that are reachable.
type Location[C Checker] struct {
	Ask, Extra []*Node[C]
	// Degraded: a backend of Ask is not reachable (or not configured).
	Degraded bool
	// Home names the current home backends; nil: any backend will do.
	Home []string
	// Order is where a delete's tombstones go after the holders; nil:
	// any backend listed.
	Order []*Node[C]
}

// Locate applies the login rule of package placement to box. Under
// PowerMail's placement, an unanchored history, or none recent, a login
// asks every reachable backend.
func (c *View[C]) Locate(box string) Location[C] {
	if c.cfg.Policy != placement.Rendezvous {
		return Location[C]{Ask: c.Reachable()}
	}
	homes, err := c.freshHomes()
	if err != nil {
		return Location[C]{Ask: c.Reachable()}
	}
	loc := homes.Locate(box)
	if loc.All {
		return Location[C]{Ask: c.Reachable()}
	}
	reach := map[string]*Node[C]{}
	for _, n := range c.Reachable() {
		reach[n.Addr] = n
	}
	ask := nodesOf(reach, loc.Ask)
	return Location[C]{Ask: ask, Extra: nodesOf(reach, loc.Extra), Degraded: len(ask) < len(loc.Ask),
		Home: loc.Home, Order: nodesOf(reach, loc.Order)}
}

// byAddr maps every member's address to its node.
func (c *View[C]) byAddr() map[string]*Node[C] {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]*Node[C], len(c.nodes))
	for a, n := range c.nodes {
		out[a] = n
	}
	return out
}

// nodesOf is the nodes of ids that nodes holds, in the order of ids.
func nodesOf[C Checker](nodes map[string]*Node[C], ids []string) []*Node[C] {
	out := make([]*Node[C], 0, len(ids))
	for _, id := range ids {
		if n := nodes[id]; n != nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
