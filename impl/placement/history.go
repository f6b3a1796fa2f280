package placement

import (
	"slices"
	"sync"
	"time"
)

// Epoch is one placement membership of a cluster: the enabled backends that
// are not marked read-only, with their groups (ID and Group are used).
type Epoch struct {
	Number  int
	Started time.Time
	Members []Candidate
}

// History is the record that rendezvous placement needs (package doc):
// every membership a mailbox's mail may have been placed under.
type History struct {
	Epochs []Epoch // oldest first; the last is the current membership
	// Anchored: a rebalance settled the oldest epoch, so every message sits
	// at its home under one of Epochs. Without it the history proves
	// nothing and a login lists every backend.
	Anchored bool
}

// Current is the newest epoch (the zero Epoch for an empty history).
func (h History) Current() Epoch {
	if len(h.Epochs) == 0 {
		return Epoch{}
	}
	return h.Epochs[len(h.Epochs)-1]
}

// Homes answers, from a History, where a mailbox's copies go and where a
// login looks. It is immutable and safe for concurrent use.
type Homes struct {
	hist    History
	r       int
	rings   []*Ring
	scratch sync.Pool // of *Scratch
}

// NewHomes prepares h for redundancy r.
func NewHomes(h History, r int) *Homes {
	hs := &Homes{hist: h, r: r, rings: make([]*Ring, len(h.Epochs))}
	for i, e := range h.Epochs {
		hs.rings[i] = NewRing(e.Members)
	}
	hs.scratch.New = func() any { return new(Scratch) }
	return hs
}

// History is what h was built from.
func (h *Homes) History() History { return h.hist }

// Candidates returns mailbox box's candidates under the current membership
// (Ring.Candidates), as IDs, and how many of them are home.
func (h *Homes) Candidates(box string, eligible func(id string) bool) (ids []string, home int) {
	if len(h.rings) == 0 {
		return nil, 0
	}
	cur := h.hist.Current().Members
	sc := h.scratch.Get().(*Scratch)
	defer h.scratch.Put(sc)
	idx, home := h.rings[len(h.rings)-1].Candidates(MailboxKey(box), h.r,
		func(i int) bool { return eligible(cur[i].ID) }, nil, sc)
	return idsOf(cur, idx), home
}

// Location is where a login of one mailbox looks, and where its deletes go.
type Location struct {
	// All: the history is not anchored; list every backend (Home and
	// Order are still the current membership's).
	All bool
	// Ask: the home sets of every epoch, current first.
	Ask []string
	// Extra: ranks R+1 .. Depth(R) of every epoch, not in Ask; listed too
	// when the listing of Ask is incomplete.
	Extra []string
	// Home: the current home set. A delete needs a tombstone on one of them.
	Home []string
	// Order: the first Depth(R) of the current ranking, where a delete's
	// tombstones go after the holders.
	Order []string
}

// Locate is the login rule of the package doc for mailbox box.
func (h *Homes) Locate(box string) Location {
	loc := Location{All: !h.hist.Anchored}
	if len(h.rings) == 0 {
		loc.All = true
		return loc
	}
	m := MailboxKey(box)
	sc := h.scratch.Get().(*Scratch)
	defer h.scratch.Put(sc)
	deep := make([]int, 0, Depth(h.r))
	for i := len(h.rings) - 1; i >= 0; i-- { // current first
		members := h.hist.Epochs[i].Members
		deep = h.rings[i].Rank(m, Depth(h.r), deep[:0], sc)
		home := min(h.r, len(deep))
		if i == len(h.rings)-1 {
			loc.Home, loc.Order = idsOf(members, deep[:home]), idsOf(members, deep)
		}
		loc.Ask = appendNew(loc.Ask, idsOf(members, deep[:home])...)
		loc.Extra = appendNew(loc.Extra, idsOf(members, deep[home:])...)
	}
	loc.Extra = slices.DeleteFunc(loc.Extra, func(id string) bool { return slices.Contains(loc.Ask, id) })
	return loc
}

func idsOf(members []Candidate, idx []int) []string {
	out := make([]string, len(idx))
	for i, b := range idx {
		out[i] = members[b].ID
	}
	return out
}

// appendNew appends the ids not in s yet.
func appendNew(s []string, ids ...string) []string {
	for _, id := range ids {
		if !slices.Contains(s, id) {
			s = append(s, id)
		}
	}
	return s
}
