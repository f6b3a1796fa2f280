package policy

import (
	"powermail/impl/placement"
)

// Rendezvous is the rendezvous policy of powermail/impl/placement: each
// recipient's copy goes to its mailbox's first R eligible backends within
// placement.Depth(R) of its ranking (Ring.Place, the very code powersmtp
// runs). Only about R/N of the mailboxes change home when a backend joins,
// and those keep their older mail where it is: the login asks the union of
// the rankings in force since the mailbox's oldest message (Memory), down
// to the deepest rank its mail went to. (The real login, which has no
// per-mailbox memory, asks R per epoch and Depth(R) only when its listing
// is incomplete; Memory.Depth stands for that.)
type Rendezvous struct {
	R, W int

	rings   []*placement.Ring // per epoch of the view, built when it grows
	sc      placement.Scratch
	scratch []int
}

// Name implements Policy.
func (p *Rendezvous) Name() string { return "rendezvous" }

// Place implements Policy: one file per distinct backend set among the
// recipients (recipients whose sets agree share one file).
func (p *Rendezvous) Place(v *View, rcpts []uint32) ([]File, error) {
	ring := p.ring(v, v.Epoch())
	var files []File
	for _, m := range rcpts {
		set, depth, err := ring.Place(placement.Mix(uint64(m)), p.R, p.W, v.Eligible, p.scratch[:0], &p.sc)
		if err != nil {
			return nil, err
		}
		p.scratch = set
		files = addRcpt(files, set, uint8(min(depth, 255)), m)
	}
	return files, nil
}

// ring is the membership of epoch e, the first epochN[e] backends.
func (p *Rendezvous) ring(v *View, e int) *placement.Ring {
	if len(p.rings) != v.Epoch()+1 {
		all := placement.NewRing(v.Backends)
		p.rings = p.rings[:0]
		for _, n := range v.epochN {
			p.rings = append(p.rings, all.Prefix(n))
		}
	}
	return p.rings[e]
}

func addRcpt(files []File, set []int, depth uint8, m uint32) []File {
	for i := range files {
		if sameSet(files[i].Backends, set) {
			files[i].Rcpts = append(files[i].Rcpts, m)
			files[i].Depth = max(files[i].Depth, depth)
			return files
		}
	}
	return append(files, File{Backends: append([]int(nil), set...), Rcpts: []uint32{m}, Depth: depth})
}

func sameSet(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}

// Holders implements Policy: placement.Holders over every epoch since the
// mailbox's oldest message, down to the deepest rank used. An empty
// mailbox needs only its current home (a delivery may be in flight).
func (p *Rendezvous) Holders(v *View, m uint32, mem *Memory, dst []int) ([]int, bool) {
	key := placement.Mix(uint64(m))
	if mem == nil {
		return p.ring(v, v.Epoch()).Rank(key, p.R, dst, &p.sc), false
	}
	p.ring(v, v.Epoch())
	depth := max(int(mem.Depth), p.R)
	return placement.Holders(p.rings[mem.OldestEpoch:], key, depth, dst, &p.sc), false
}

func contains(s []int, x int) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
