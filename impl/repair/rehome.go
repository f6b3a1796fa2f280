package repair

import (
	"slices"
)

// Rendezvous placement (package placement): a mailbox's copies belong on
// its home backends, the first R of its ranking under the newest epoch of
// the placement history, and may sit lower in the ranking where a failure
// pushed them (a login lists down to placement.Depth) or on the homes of
// older epochs (a login lists those until the history is settled). Below
// R, repair copies to the home backends first, then down the ranking, so
// that a login finds every copy. A rebalance also copies to every home
// backend that lacks the message and, once all of them hold it, removes
// the copies elsewhere: a rebalanced mailbox has its mail exactly at home,
// which is what settling the history needs. A copy is removed only when
// every home backend holds the message, so never the last one.

// rehome is replicate under rendezvous placement.
func (p *planner) rehome(ms MailboxState, c Copies, orphansKept int) decision {
	d := decision{orphansKept: orphansKept}
	loc := p.homes.Locate(string(ms.Box))
	for _, h := range c.Holders {
		if !slices.Contains(loc.Home, h.Addr) {
			d.away = append(d.away, h.Addr)
		}
	}
	have := len(c.Holders)
	if c.Held(p.drain) {
		have--
	}
	d.below = have < p.r
	free := p.writableLacking(ms, c, loc.Order)
	var targets []string
	if p.rebalance {
		targets = slices.DeleteFunc(slices.Clone(free), func(a string) bool { return !slices.Contains(loc.Home, a) })
	}
	for _, a := range free {
		if have+len(targets) >= p.r {
			break
		}
		if !slices.Contains(targets, a) {
			targets = append(targets, a)
		}
	}
	d.short = have+len(targets) < p.r
	src := p.source(c)
	for _, t := range targets {
		d.actions = append(d.actions, Action{Kind: Copy, Box: ms.Box, ID: c.ID, Size: src.Size, Source: src.Addr, Target: t})
	}
	if p.rebalance && p.homeComplete(c, loc.Home, targets) {
		for _, a := range d.away {
			d.unhome = append(d.unhome, Action{Kind: RemoveAway, Box: ms.Box, ID: c.ID, Size: src.Size, Target: a})
		}
	}
	return d
}

// writableLacking is the backends of order that may receive a copy: they
// lack it, were listed, are writable and are not being drained.
func (p *planner) writableLacking(ms MailboxState, c Copies, order []string) []string {
	var out []string
	for _, a := range order {
		i := slices.IndexFunc(p.states, func(s State) bool { return s.Addr == a })
		if i < 0 || a == p.drain || c.Held(a) || !p.states[i].Writable() || slices.Contains(ms.Unreachable, a) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// homeComplete reports whether every home backend holds the message once
// the copies to targets are made.
func (p *planner) homeComplete(c Copies, home, targets []string) bool {
	for _, h := range home {
		if !c.Held(h) && !slices.Contains(targets, h) || h == p.drain {
			return false
		}
	}
	return len(home) > 0
}
