// Package placement chooses the backends that store a new message.
//
// It is the policy half of powersmtp's delivery: pure, deterministic, with no
// I/O and no clock, so the simulator (sim/) runs this very code at a scale no
// test machine can hold, and a seed replays any decision exactly.
//
// # Policy
//
//  1. Eligible backends are those that are up, writable, and above their
//     free-space floor. PowerMail 1.9 skipped only read-only backends; a down
//     or full backend would fail the delivery later instead of being avoided.
//  2. Eligible backends are grouped by Group (a failure domain: a rack, a
//     power feed). The groups are visited in a random order and one backend is
//     taken from each group in turn, so the first min(R, groups) replicas sit
//     in distinct groups; only when there are fewer groups than R does a group
//     hold a second replica (never the same backend twice). PowerMail 1.9
//     also drew each replica from a distinct random group, and answered 450
//     when fewer backends than its redundancy target were usable; here the
//     caller says how many it needs (Request.Min, the write quorum W) apart
//     from how many it wants (Request.Target, R), and only fewer than Min
//     eligible backends is an error.
//  3. Within a group, backends are ranked by Priority (lower is preferred, as
//     with MX preferences); among equal priority the Spread mode breaks ties:
//     SpreadFree draws at random weighted by free bytes (many powersmtp
//     instances then spread writes instead of all picking the same emptiest
//     disk, which is what PowerMail's spread-disk "sort by free space" did);
//     SpreadMostFree and SpreadLeastLoad reproduce PowerMail's spread-disk and
//     spread-load orderings; SpreadRandom ignores both.
//  4. The first R picks are the Primary replicas; every remaining eligible
//     backend follows in Spares, in the same round-robin order, so the delivery
//     engine can replace a replica that fails during PREPARE without asking
//     again.
//
// Determinism: the result depends only on the set of backends (not on the
// order of the input slice) and on the state of the *rand.Rand.
package placement

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Backend is the state of one backend as seen by the caller's health checks.
type Backend struct {
	ID             string // unique; usually the backend address
	Group          string // failure domain
	Priority       int    // lower is preferred
	Up             bool
	ReadOnly       bool
	FreeBytes      int64
	Load           float64 // e.g. 1-minute load average; lower is preferred
	BelowFreeFloor bool    // the backend refuses new messages (disk full)
}

// Eligible reports whether b may receive a new message.
func (b Backend) Eligible() bool { return b.Up && !b.ReadOnly && !b.BelowFreeFloor }

// Spread breaks ties between backends of equal priority within a group.
type Spread int

const (
	SpreadFree      Spread = iota // random, weighted by FreeBytes
	SpreadMostFree                // most FreeBytes first (PowerMail spread-disk)
	SpreadLeastLoad               // lowest Load first (PowerMail spread-load)
	SpreadRandom                  // uniform random
)

// Request says how many replicas are wanted and how many are needed.
type Request struct {
	Target int    // R: replicas to write
	Min    int    // W: fewer eligible backends than this is an error
	Spread Spread // tie-break within a priority level
}

// Choice is the outcome: Primary holds up to Target backends, Spares the
// remaining eligible ones in fallback order.
type Choice struct {
	Primary []Backend
	Spares  []Backend
}

// ErrTooFew is wrapped when fewer than Request.Min backends are eligible.
var ErrTooFew = errors.New("placement: too few eligible backends")

// Choose applies the policy to backends. rng is the only source of
// randomness; the same seed and the same set of backends give the same Choice.
func Choose(backends []Backend, req Request, rng *rand.Rand) (Choice, error) {
	if req.Target < 1 || req.Min < 1 || req.Min > req.Target {
		return Choice{}, fmt.Errorf("placement: bad request: target %d, min %d", req.Target, req.Min)
	}
	if id, dup := duplicateID(backends); dup {
		return Choice{}, fmt.Errorf("placement: backend %q listed twice", id)
	}
	groups := rankedGroups(backends, req.Spread, rng)
	order := roundRobin(groups)
	if len(order) < req.Min {
		return Choice{}, fmt.Errorf("%w: %d eligible, %d needed", ErrTooFew, len(order), req.Min)
	}
	n := min(req.Target, len(order))
	return Choice{Primary: order[:n:n], Spares: order[n:]}, nil
}

// duplicateID finds a repeated ID, which would let one backend hold two of
// the replicas of a message.
func duplicateID(backends []Backend) (string, bool) {
	seen := make(map[string]bool, len(backends))
	for _, b := range backends {
		if seen[b.ID] {
			return b.ID, true
		}
		seen[b.ID] = true
	}
	return "", false
}

// rankedGroups returns the eligible backends split by group, groups in random
// order, each group ranked by priority and spread.
func rankedGroups(backends []Backend, spread Spread, rng *rand.Rand) [][]Backend {
	byGroup := map[string][]Backend{}
	for _, b := range backends {
		if b.Eligible() {
			byGroup[b.Group] = append(byGroup[b.Group], b)
		}
	}
	names := make([]string, 0, len(byGroup))
	for g := range byGroup {
		names = append(names, g)
	}
	slices.Sort(names) // map order is random; the rng alone must decide
	rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	groups := make([][]Backend, len(names))
	for i, g := range names {
		groups[i] = rankGroup(byGroup[g], spread, rng)
	}
	return groups
}

// roundRobin takes the head of each group in turn: distinct groups first.
func roundRobin(groups [][]Backend) []Backend {
	var order []Backend
	for depth := 0; ; depth++ {
		took := false
		for _, g := range groups {
			if depth < len(g) {
				order = append(order, g[depth])
				took = true
			}
		}
		if !took {
			return order
		}
	}
}

// rankGroup orders one group: ascending priority, then each priority level
// ordered by the spread mode.
func rankGroup(g []Backend, spread Spread, rng *rand.Rand) []Backend {
	slices.SortFunc(g, func(a, b Backend) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
	})
	for start := 0; start < len(g); {
		end := start + 1
		for end < len(g) && g[end].Priority == g[start].Priority {
			end++
		}
		orderLevel(g[start:end], spread, rng)
		start = end
	}
	return g
}

// orderLevel orders backends of equal priority in place.
func orderLevel(level []Backend, spread Spread, rng *rand.Rand) {
	switch spread {
	case SpreadMostFree:
		slices.SortStableFunc(level, func(a, b Backend) int { return cmp.Compare(b.FreeBytes, a.FreeBytes) })
	case SpreadLeastLoad:
		slices.SortStableFunc(level, func(a, b Backend) int { return cmp.Compare(a.Load, b.Load) })
	case SpreadRandom:
		rng.Shuffle(len(level), func(i, j int) { level[i], level[j] = level[j], level[i] })
	default:
		weightedShuffle(level, rng)
	}
}

// weightedShuffle orders level by repeated draws without replacement, each
// backend drawn with probability proportional to its free bytes. Backends with
// no reported free space get weight 1 so they are still reachable.
func weightedShuffle(level []Backend, rng *rand.Rand) {
	for i := 0; i < len(level)-1; i++ {
		total := 0.0
		for _, b := range level[i:] {
			total += weight(b)
		}
		x := rng.Float64() * total
		pick := len(level) - 1
		for j := i; j < len(level); j++ {
			x -= weight(level[j])
			if x < 0 {
				pick = j
				break
			}
		}
		level[i], level[pick] = level[pick], level[i]
	}
}

func weight(b Backend) float64 { return float64(max(b.FreeBytes, 1)) }
