package policy

import "fmt"

// Rendezvous places each recipient's copy on the R backends that rank highest
// for that mailbox (rendezvous hashing), preferring distinct failure domains.
// Only 1/N of the mailboxes change placement when a backend joins, and those
// keep their older mail where it is: the login asks the union of the
// placements in force since the mailbox's oldest message (Memory).
type Rendezvous struct {
	R, W int

	r       ranker
	scratch []int
}

// Name implements Policy.
func (p *Rendezvous) Name() string { return "rendezvous" }

// Place implements Policy: one file per distinct backend set among the
// recipients (recipients whose sets agree share one file).
func (p *Rendezvous) Place(v *View, rcpts []uint32) ([]File, error) {
	var files []File
	for _, m := range rcpts {
		set, depth, err := p.choose(v, m)
		if err != nil {
			return nil, err
		}
		files = addRcpt(files, set, depth, m)
	}
	return files, nil
}

// choose walks m's ranking and takes the first R eligible backends; a down
// backend is skipped, which pushes the mailbox deeper into its ranking.
func (p *Rendezvous) choose(v *View, m uint32) ([]int, uint8, error) {
	for k := p.R; ; k = min(2*k, v.N()) {
		p.scratch = p.r.rank(v, v.N(), m, k, p.scratch[:0])
		var set []int
		for i, b := range p.scratch {
			if v.Eligible(b) {
				set = append(set, b)
				if len(set) == p.R {
					return set, uint8(min(i+1, 255)), nil
				}
			}
		}
		if k >= v.N() {
			if len(set) >= p.W {
				return set, uint8(min(k, 255)), nil
			}
			return nil, 0, fmt.Errorf("rendezvous: %d eligible, %d needed", len(set), p.W)
		}
	}
}

func addRcpt(files []File, set []int, depth uint8, m uint32) []File {
	for i := range files {
		if sameSet(files[i].Backends, set) {
			files[i].Rcpts = append(files[i].Rcpts, m)
			files[i].Depth = max(files[i].Depth, depth)
			return files
		}
	}
	return append(files, File{Backends: set, Rcpts: []uint32{m}, Depth: depth})
}

func sameSet(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}

// Holders implements Policy: the union, over every epoch since the mailbox's
// oldest message, of the first Depth backends of its ranking among the
// backends of that epoch. An empty mailbox needs only its current placement
// (a delivery may be in flight).
func (p *Rendezvous) Holders(v *View, m uint32, mem *Memory, dst []int) ([]int, bool) {
	if mem == nil {
		return p.r.rank(v, v.N(), m, p.R, dst), false
	}
	depth := max(int(mem.Depth), p.R)
	start := len(dst)
	for e := int(mem.OldestEpoch); e <= v.Epoch(); e++ {
		p.scratch = p.r.rank(v, v.epochN[e], m, depth, p.scratch[:0])
		for _, b := range p.scratch {
			if !contains(dst[start:], b) {
				dst = append(dst, b)
			}
		}
	}
	return dst, false
}

func contains(s []int, x int) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
