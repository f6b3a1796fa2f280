package repair

import (
	"cmp"
	"hash/fnv"
	"math/rand/v2"
	"slices"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/placement"
)

// Kind is what an action does.
type Kind string

// Actions.
const (
	Copy         Kind = "copy"   // GET from Source, PREPARE+COMMIT on Target
	RemoveTomb   Kind = "delete" // DELETE on Target: tombstoned elsewhere
	RemoveOrphan Kind = "abort"  // ABORT on Target: orphan of a refused delivery
	// RemoveAway is ABORT on Target of a copy away from home, once every
	// home backend holds the message (rebalance).
	RemoveAway Kind = "remove-away"
)

// Action is one change repair makes (or, in a dry run, would make).
type Action struct {
	Kind   Kind         `json:"kind"`
	Box    mailbox.Name `json:"mailbox"`
	ID     msgid.ID     `json:"id"`
	Size   int64        `json:"size"`
	Source string       `json:"source,omitempty"`
	Target string       `json:"target"`
	// Spares are the backends a copy falls back to, in order, when the
	// target fails.
	Spares []string `json:"-"`
}

// decision is the plan for one message.
type decision struct {
	actions     []Action
	orphansKept int  // orphan-log copies kept as replicas of a delivered message
	below       bool // fewer than R copies when scanned
	short       bool // fewer than R copies even after the planned copies
	// Rendezvous placement: the copies away from home when scanned, and
	// their removal, to be applied only once every copy of actions is made
	// (then every home backend holds the message).
	away   []string
	unhome []Action
}

// planner decides what to do with each message of a mailbox. It does no
// I/O: the same scan and seed give the same plan.
type planner struct {
	states  []State
	r       int
	drain   string
	seed    uint64
	orphans map[boxID][]string // backends the orphan log names, per (mailbox, id)
	// homes, under rendezvous placement: where each mailbox's copies
	// belong (nil: PowerMail's placement, where any backend will do).
	homes     *placement.Homes
	rebalance bool // move copies home
}

type boxID struct {
	box mailbox.Name
	id  msgid.ID
}

func (p *planner) plan(ms MailboxState, c Copies) decision {
	switch {
	case c.Tombstoned():
		return decision{actions: p.each(RemoveTomb, ms.Box, c, c.Holders)}
	case len(c.Holders) == 0:
		return decision{} // a tombstone-free id with no copy cannot be listed
	}
	named := p.orphans[boxID{ms.Box, c.ID}]
	orphaned := slices.DeleteFunc(slices.Clone(c.Holders), func(h Holder) bool { return !slices.Contains(named, h.Addr) })
	if len(orphaned) == len(c.Holders) {
		return decision{actions: p.each(RemoveOrphan, ms.Box, c, orphaned)}
	}
	return p.replicate(ms, c, len(orphaned))
}

// each is one action of kind per holder.
func (p *planner) each(kind Kind, box mailbox.Name, c Copies, holders []Holder) []Action {
	out := make([]Action, len(holders))
	for i, h := range holders {
		out[i] = Action{Kind: kind, Box: box, ID: c.ID, Size: h.Size, Target: h.Addr}
	}
	return out
}

// replicate plans the copies that bring c to R copies outside the drained
// backend.
func (p *planner) replicate(ms MailboxState, c Copies, orphansKept int) decision {
	if p.homes != nil {
		return p.rehome(ms, c, orphansKept)
	}
	d := decision{orphansKept: orphansKept}
	have := len(c.Holders)
	if c.Held(p.drain) {
		have--
	}
	need := p.r - have
	if need <= 0 {
		return d
	}
	d.below = true
	src := p.source(c)
	order := p.targets(ms, c)
	targets, spares := order[:min(need, len(order))], order[min(need, len(order)):]
	for _, t := range targets {
		d.actions = append(d.actions, Action{Kind: Copy, Box: ms.Box, ID: c.ID, Size: src.Size, Source: src.Addr, Target: t, Spares: spares})
	}
	d.short = len(targets) < need
	return d
}

// source picks the holder to copy from: one with the size most holders
// agree on (a different size is a damaged copy), not the drained backend
// if another will do.
func (p *planner) source(c Copies) Holder {
	votes := map[int64]int{}
	for _, h := range c.Holders {
		votes[h.Size]++
	}
	best := slices.Clone(c.Holders)
	slices.SortStableFunc(best, func(a, b Holder) int {
		return cmp.Or(cmp.Compare(votes[b.Size], votes[a.Size]), cmp.Compare(boolInt(a.Addr == p.drain), boolInt(b.Addr == p.drain)))
	})
	return best[0]
}

// targets orders the writable backends that lack the message and could be
// listed, through the placement policy, groups that hold no copy yet first.
func (p *planner) targets(ms MailboxState, c Copies) []string {
	heldGroups := map[string]bool{}
	var cands []placement.Candidate
	for _, s := range p.states {
		if c.Held(s.Addr) && s.Addr != p.drain {
			heldGroups[s.Group] = true
		}
		if s.Addr == p.drain || c.Held(s.Addr) || !s.Writable() || slices.Contains(ms.Unreachable, s.Addr) {
			continue
		}
		cands = append(cands, s.placement())
	}
	if len(cands) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(p.seed, idHash(c.ID)))
	ch, err := placement.Choose(cands, placement.Request{Target: len(cands), Min: 1, Spread: placement.SpreadMostFree}, rng)
	if err != nil {
		return nil
	}
	order := ch.Primary
	slices.SortStableFunc(order, func(a, b placement.Candidate) int {
		return cmp.Compare(boolInt(heldGroups[a.Group]), boolInt(heldGroups[b.Group]))
	})
	out := make([]string, len(order))
	for i, b := range order {
		out[i] = b.ID
	}
	return out
}

func idHash(id msgid.ID) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
