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
//     spread-load orderings, and then also order the groups by their first
//     backend (ties in random order), since with one backend per group a
//     tie-break inside groups would never apply; SpreadRandom ignores both.
//  4. The first R picks are the Primary replicas; every remaining eligible
//     backend follows in Spares, in the same round-robin order, so the delivery
//     engine can replace a replica that fails during PREPARE without asking
//     again.
//
// Determinism: the result depends only on the set of backends (not on the
// order of the input slice) and on the state of the *rand.Rand. Cost: O(n)
// per message with a Chooser, which keeps its buffers, plus the ranking of
// each group (quadratic in a group's size under SpreadFree).
package placement

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
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
// randomness; the same seed and the same set of backends give the same
// Choice. It allocates the result; a caller placing many messages uses a
// Chooser instead.
func Choose(backends []Backend, req Request, rng *rand.Rand) (Choice, error) {
	c := choosers.Get().(*Chooser)
	defer choosers.Put(c)
	ch, err := c.Choose(backends, req, rng)
	if err != nil {
		return Choice{}, err
	}
	n := len(ch.Primary)
	order := slices.Clone(c.order)
	return Choice{Primary: order[:n:n], Spares: order[n:]}, nil
}

var choosers = sync.Pool{New: func() any { return new(Chooser) }}

func checkRequest(req Request) error {
	if req.Target < 1 || req.Min < 1 || req.Min > req.Target {
		return fmt.Errorf("placement: bad request: target %d, min %d", req.Target, req.Min)
	}
	return nil
}
