package placement

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Chooser is Choose with buffers it keeps between calls. Once they have
// grown to the cluster, a call allocates nothing and costs O(n) plus the
// ranking of the groups, instead of a copy and a sort of the whole list:
// the simulator calls it for every message of a 1,000-backend cluster.
// A Chooser is not safe for concurrent use.
//
// What it keeps: the canonical order of the last input (by group, then
// priority, then ID), which depends only on the backends' identities. While
// the caller passes the same identities (ID, Group, Priority at the same
// positions; Up, ReadOnly, FreeBytes and the rest may change), that order
// and the check for duplicate IDs are reused; a changed identity rebuilds
// them, which costs one map and one sort.
type Chooser struct {
	known  []identity // identities of the input that canon describes
	canon  []int32    // input positions by group, priority, ID
	starts []int32    // canon[starts[g]:starts[g+1]] is the g-th group by name

	elig  []int32     // eligible input positions, in canonical order
	spans []span      // the non-empty groups: elig[lo:hi]
	order []Candidate // the result: round robin over the ranked groups

	weights []float64 // of the level being shuffled
}

type identity struct {
	id, group string
	priority  int
}

type span struct{ lo, hi int }

// Choose is the package's Choose; the Choice it returns lives in the
// Chooser's buffers and is valid until the next call.
func (c *Chooser) Choose(backends []Candidate, req Request, rng *rand.Rand) (Choice, error) {
	if err := checkRequest(req); err != nil {
		return Choice{}, err
	}
	if err := c.learn(backends); err != nil {
		return Choice{}, err
	}
	c.collect(backends)
	if len(c.elig) < req.Min {
		return Choice{}, fmt.Errorf("%w: %d eligible, %d needed", ErrTooFew, len(c.elig), req.Min)
	}
	// Map order is not involved anywhere: the groups are shuffled from
	// their sorted order, so the rng alone decides.
	rng.Shuffle(len(c.spans), func(i, j int) { c.spans[i], c.spans[j] = c.spans[j], c.spans[i] })
	for _, s := range c.spans {
		c.rankGroup(backends, c.elig[s.lo:s.hi], req.Spread, rng)
	}
	c.orderGroups(backends, req.Spread)
	c.roundRobin(backends)
	n := min(req.Target, len(c.order))
	return Choice{Primary: c.order[:n:n], Spares: c.order[n:]}, nil
}

// learn rebuilds the canonical order when the identities changed.
func (c *Chooser) learn(backends []Candidate) error {
	if c.same(backends) {
		return nil
	}
	c.known = c.known[:0]
	if id, dup := duplicateID(backends); dup {
		return fmt.Errorf("placement: backend %q listed twice", id)
	}
	c.canon = c.canon[:0]
	for i, b := range backends {
		c.known = append(c.known, identity{b.ID, b.Group, b.Priority})
		c.canon = append(c.canon, int32(i))
	}
	slices.SortFunc(c.canon, func(x, y int32) int {
		a, b := &backends[x], &backends[y]
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
	})
	c.starts = c.starts[:0]
	for k, i := range c.canon {
		if k == 0 || backends[i].Group != backends[c.canon[k-1]].Group {
			c.starts = append(c.starts, int32(k))
		}
	}
	c.starts = append(c.starts, int32(len(c.canon)))
	return nil
}

// same reports whether backends has the identities canon was built for.
// The strings are usually the very same ones, which compare in one step.
func (c *Chooser) same(backends []Candidate) bool {
	if len(backends) != len(c.known) {
		return false
	}
	for i, b := range backends {
		k := &c.known[i]
		if b.ID != k.id || b.Group != k.group || b.Priority != k.priority {
			return false
		}
	}
	return true
}

// duplicateID finds a repeated ID, which would let one backend hold two of
// the replicas of a message.
func duplicateID(backends []Candidate) (string, bool) {
	seen := make(map[string]bool, len(backends))
	for _, b := range backends {
		if seen[b.ID] {
			return b.ID, true
		}
		seen[b.ID] = true
	}
	return "", false
}

// collect fills elig with the eligible backends and spans with the groups
// that have some, both in canonical order.
func (c *Chooser) collect(backends []Candidate) {
	c.elig, c.spans = c.elig[:0], c.spans[:0]
	for g := 0; g+1 < len(c.starts); g++ {
		lo := len(c.elig)
		for _, i := range c.canon[c.starts[g]:c.starts[g+1]] {
			if backends[i].Eligible() {
				c.elig = append(c.elig, i)
			}
		}
		if len(c.elig) > lo {
			c.spans = append(c.spans, span{lo, len(c.elig)})
		}
	}
}

// rankGroup orders one group, already in ascending priority: each priority
// level is ordered by the spread mode.
func (c *Chooser) rankGroup(backends []Candidate, g []int32, spread Spread, rng *rand.Rand) {
	for start := 0; start < len(g); {
		end := start + 1
		for end < len(g) && backends[g[end]].Priority == backends[g[start]].Priority {
			end++
		}
		c.orderLevel(backends, g[start:end], spread, rng)
		start = end
	}
}

// orderGroups orders the groups by their first backend under the two
// orderings of PowerMail (most free space, least load), keeping the
// random order among equals: with one backend per group, the usual
// layout, the tie-break within a group would otherwise never apply.
func (c *Chooser) orderGroups(backends []Candidate, spread Spread) {
	head := func(s span) *Candidate { return &backends[c.elig[s.lo]] }
	switch spread {
	case SpreadMostFree:
		slices.SortStableFunc(c.spans, func(a, b span) int { return cmp.Compare(head(b).FreeBytes, head(a).FreeBytes) })
	case SpreadLeastLoad:
		slices.SortStableFunc(c.spans, func(a, b span) int { return cmp.Compare(head(a).Load, head(b).Load) })
	}
}

// roundRobin takes the head of each group in turn: distinct groups first.
func (c *Chooser) roundRobin(backends []Candidate) {
	c.order = c.order[:0]
	for depth := 0; ; depth++ {
		took := false
		for _, s := range c.spans {
			if s.lo+depth < s.hi {
				c.order = append(c.order, backends[c.elig[s.lo+depth]])
				took = true
			}
		}
		if !took {
			return
		}
	}
}

// orderLevel orders backends of equal priority in place.
func (c *Chooser) orderLevel(backends []Candidate, level []int32, spread Spread, rng *rand.Rand) {
	switch spread {
	case SpreadMostFree:
		slices.SortStableFunc(level, func(a, b int32) int { return cmp.Compare(backends[b].FreeBytes, backends[a].FreeBytes) })
	case SpreadLeastLoad:
		slices.SortStableFunc(level, func(a, b int32) int { return cmp.Compare(backends[a].Load, backends[b].Load) })
	case SpreadRandom:
		rng.Shuffle(len(level), func(i, j int) { level[i], level[j] = level[j], level[i] })
	default:
		c.weights = c.weights[:0]
		for _, b := range level {
			c.weights = append(c.weights, float64(max(backends[b].FreeBytes, 1)))
		}
		weightedShuffle(level, c.weights, rng)
	}
}

// weightedShuffle orders level by repeated draws without replacement, each
// backend drawn with probability proportional to its weight (its free
// bytes; a backend with no reported free space weighs 1, so that it is
// still reachable). w holds the weights of level, and is permuted with it.
func weightedShuffle(level []int32, w []float64, rng *rand.Rand) {
	for i := 0; i < len(level)-1; i++ {
		total := 0.0
		for _, x := range w[i:] {
			total += x
		}
		x := rng.Float64() * total
		pick := len(level) - 1
		for j := i; j < len(level); j++ {
			x -= w[j]
			if x < 0 {
				pick = j
				break
			}
		}
		level[i], level[pick] = level[pick], level[i]
		w[i], w[pick] = w[pick], w[i]
	}
}
