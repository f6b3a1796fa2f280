package placement

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
)

// Rendezvous placement (see the package doc): every mailbox ranks the
// backends of a membership by a hash of (mailbox, backend), and its mail
// goes to the top of its ranking. Everything here is a pure function of
// the mailbox key and the membership, the same on every front end.

// Mix is SplitMix64's finaliser: a bijection of uint64 that spreads every
// input bit over the output. Keys and scores go through it.
func Mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// MailboxKey is the key a mailbox ranks backends by: a hash of its
// canonical name.
func MailboxKey(name string) uint64 { return Mix(fnv64(name)) }

// BackendKey is a backend's key: a hash of its ID (the address).
func BackendKey(id string) uint64 { return Mix(fnv64(id) ^ 0x9e3779b97f4a7c15) }

func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// score is the rendezvous weight of a backend for a mailbox. For one
// mailbox, distinct backend keys give distinct scores (Mix is a bijection).
func score(mbox, backend uint64) uint64 { return Mix(mbox ^ backend) }

// Depth is how deep into its ranking a mailbox's mail may go: its R home
// backends, then as many again for the copies that a backend which cannot
// take them (down, read-only, full) pushes further down.
func Depth(r int) int { return 2 * r }

// Ring is one membership prepared for ranking: the backends' keys and
// failure domains. It is immutable and safe for concurrent use; indexes are
// positions in the slice it was built from.
type Ring struct {
	keys   []uint64
	groups []int32 // dense: 0 .. ngroups-1
	ngroup int
}

// NewRing prepares members (ID and Group are used).
func NewRing(members []Candidate) *Ring {
	r := &Ring{keys: make([]uint64, len(members)), groups: make([]int32, len(members))}
	dense := map[string]int32{}
	for i, b := range members {
		r.keys[i] = BackendKey(b.ID)
		g, ok := dense[b.Group]
		if !ok {
			g = int32(len(dense))
			dense[b.Group] = g
		}
		r.groups[i] = g
	}
	r.ngroup = len(dense)
	return r
}

// Len is the number of members.
func (r *Ring) Len() int { return len(r.keys) }

// Prefix is the ring of the first n members: a membership that only grew
// keeps its older epochs as prefixes (the simulator's backends are never
// removed). It shares the arrays of r.
func (r *Ring) Prefix(n int) *Ring {
	ng := 0
	for _, g := range r.groups[:n] {
		ng = max(ng, int(g)+1)
	}
	return &Ring{keys: r.keys[:n], groups: r.groups[:n], ngroup: ng}
}

// Scratch holds the buffers of Rank between calls; the zero value is ready.
// A Scratch is not safe for concurrent use.
type Scratch struct {
	scores []uint64
	head   []int32 // per group: its best member so far, -1 if none
	heads  []int32
}

// Rank appends to dst the first k members of mailbox m's ranking: first
// the best-scoring member of each failure domain, best first (so the
// first min(k, domains) sit in distinct domains, as Choose places them),
// then the other members by score. Cost O(n + k*domains), no allocation
// once sc has grown.
func (r *Ring) Rank(m uint64, k int, dst []int, sc *Scratch) []int {
	n := len(r.keys)
	k = min(k, n)
	sc.scores = slices.Grow(sc.scores[:0], n)[:n]
	sc.head = slices.Grow(sc.head[:0], r.ngroup)[:r.ngroup]
	for g := range sc.head {
		sc.head[g] = -1
	}
	for b, key := range r.keys {
		s := score(m, key)
		sc.scores[b] = s
		if g := r.groups[b]; sc.head[g] < 0 || s > sc.scores[sc.head[g]] {
			sc.head[g] = int32(b)
		}
	}
	sc.heads = sc.heads[:0]
	for _, h := range sc.head {
		if h >= 0 {
			sc.heads = append(sc.heads, h)
		}
	}
	start := len(dst)
	dst = appendBest(dst, start, sc.heads, sc.scores, k)
	for len(dst)-start < k { // fewer domains than k: the best of the rest
		best := -1
		for b := range n {
			if (best < 0 || sc.scores[b] > sc.scores[best]) && !slices.Contains(dst[start:], b) {
				best = b
			}
		}
		dst = append(dst, best)
	}
	return dst
}

// appendBest appends, best first, up to k of cands not yet in dst[start:]
// (k is small: repeated scans).
func appendBest(dst []int, start int, cands []int32, scores []uint64, k int) []int {
	for len(dst)-start < k {
		best := -1
		for _, c := range cands {
			b := int(c)
			if (best < 0 || scores[b] > scores[best]) && !slices.Contains(dst[start:], b) {
				best = b
			}
		}
		if best < 0 {
			return dst
		}
		dst = append(dst, best)
	}
	return dst
}

// ErrNoHome is wrapped when none of a mailbox's R home backends can take a
// copy: a login asks the home backends, and would not find mail that has
// no copy there (package doc).
var ErrNoHome = errors.New("placement: no home backend of the mailbox can take mail")

// Candidates appends to dst the members among the first Depth(r) of m's
// ranking for which eligible is true, in ranking order, and says how many
// of them are home (among the first r ranks). A delivery writes to the
// first r candidates that take the message, and must commit at least one
// copy at home.
func (r *Ring) Candidates(m uint64, rr int, eligible func(int) bool, dst []int, sc *Scratch) (cands []int, home int) {
	start := len(dst)
	dst = r.Rank(m, Depth(rr), dst, sc)
	out := start
	for pos, b := range dst[start:] {
		if eligible(b) {
			dst[out] = b
			out++
			if pos < rr {
				home++
			}
		}
	}
	return dst[:out], home
}

// CheckCandidates is the rule a placement must pass: at least w candidates,
// one of them at home.
func CheckCandidates(n, home, w int) error {
	switch {
	case n < w:
		return fmt.Errorf("%w: %d eligible within the first %d of the ranking, %d needed", ErrTooFew, n, Depth(w), w)
	case home == 0:
		return ErrNoHome
	}
	return nil
}

// Place chooses the backends for mailbox m's copy: the first r candidates.
// depth is the position in the ranking of the last one plus one (how deep
// the placement had to go). It fails when CheckCandidates does.
func (r *Ring) Place(m uint64, rr, w int, eligible func(int) bool, dst []int, sc *Scratch) (set []int, depth int, err error) {
	start := len(dst)
	dst = r.Rank(m, Depth(rr), dst, sc)
	out, home := start, 0
	for pos, b := range dst[start:] {
		if out-start == rr {
			break
		}
		if eligible(b) {
			dst[out] = b
			out++
			depth = pos + 1
			if pos < rr {
				home++
			}
		}
	}
	if err := CheckCandidates(out-start, home, w); err != nil {
		return dst[:start], 0, err
	}
	return dst[:out], depth, nil
}

// Holders appends to dst, without repeats, the first depth members of m's
// ranking in each of rings (the memberships a mailbox's mail may have been
// placed under). Indexes must name the same backend in every ring, as
// with prefixes.
func Holders(rings []*Ring, m uint64, depth int, dst []int, sc *Scratch) []int {
	start := len(dst)
	var buf [16]int
	for _, r := range rings {
		for _, b := range r.Rank(m, depth, buf[:0], sc) {
			if !slices.Contains(dst[start:], b) {
				dst = append(dst, b)
			}
		}
	}
	return dst
}
