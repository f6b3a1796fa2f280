// Package placement decides where the copies of a message go, and so where
// a POP3 login must look for them. It holds both policies of the
// `placement` configuration key, used alike by powersmtp, powerpop, repair,
// ppadmin and the simulator:
//
//   - powermail (the default, PowerMail's own; Choose): every message goes
//     to R backends chosen afresh, so any backend may hold any mailbox's
//     mail and a login lists every backend.
//   - rendezvous (Ring, Homes): a mailbox ranks the backends by a hash of
//     (mailbox, backend) and its mail goes to the top of its ranking, its R
//     home backends; a login lists those.
//
// The package is pure and deterministic, with no I/O and no clock, so the
// simulator (sim/) runs this very code at a scale no test machine can hold,
// and a seed replays any decision exactly.
//
// # PowerMail's policy (Choose)
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
//
// # Rendezvous placement
//
// Ranking (Ring.Rank): the best-scoring backend of each group first, best
// first, then the others by score; the first R are the mailbox's home.
// Adding k backends to N moves the homes of about R*k/(N+k) of the
// mailboxes; removing one moves only the homes it was part of (rendezvous
// hashing's minimal disruption). Priority, free space and load play no
// part: a mailbox's place follows from its name.
//
// Delivery (Ring.Candidates, CheckCandidates): a copy for mailbox m goes to
// the first R of m's candidates that take it, the candidates being the
// eligible backends (as above) among the first Depth(R) = 2R of its
// ranking; 250 needs W of them committed, at least one at home. A home
// backend that is down thus pushes the copy one rank down, and the copy
// that stays at home keeps the message findable. When no home backend can
// take mail the sender gets 451 and retries: the price of logins that ask
// R backends (PowerMail's policy would store it anywhere). A message to
// several mailboxes is uploaded once to every backend in the union of
// their choices and committed there to the mailboxes that chose it: one
// copy per distinct backend, where PowerMail's policy stores R.
//
// History (History, Homes): mail stays where it was placed when the
// membership changes, so a login asks the union of the mailbox's home sets
// over every membership (epoch) of the history. The history lives in the
// userbase: every change of the placement membership (the enabled backends
// not marked read-only, with their groups) made through package userbase
// or ppadmin records a new epoch. `ppadmin repair -rebalance` moves every
// copy home under the newest epoch and then drops the older ones, but only
// when the newest has been in force longer than any front end keeps an
// older view or any delivery takes (-settle-after). A history no rebalance
// has settled (Anchored false: a cluster that ran PowerMail's policy)
// proves nothing, and logins then list every backend.
//
// Login (Homes.Locate): list the home sets of every epoch (Ask). When a
// backend of Ask does not answer, or some message is listed by fewer than
// R backends, the listing is incomplete: the login also lists ranks R+1
// to Depth(R) of every epoch (Extra), where copies pushed down by a failure
// and tombstones written while a home backend was down sit.
//
// Deletes: a DELE's tombstones go to every holder, then down the current
// ranking, home first, until R backends took one, at least one of them a
// current home backend; otherwise the delete fails as temporary. Every
// later login lists that home backend. If it is lost, a copy that
// survived elsewhere has fewer than R holders, so the login lists down to
// Depth(R), where the other tombstones are: the delete holds while fewer
// than R backends are lost.
//
// Refusals: a refused delivery's copies are hidden for a mailbox once a
// VOID (tombstones) landed on one of its home backends. While every home
// replica that committed is down, powersmtp's orphan log keeps the
// refusal pending and its VoidPending hides it when one is back (at most
// 10 s later): a login in between may list the message. Under PowerMail's
// policy a tombstone on any backend hides it at once, since every login
// lists every backend.
//
// Cost: a login lists R backends in a settled cluster (PowerMail's policy:
// all N). After k backends join, the R*k/(N+k) of mailboxes whose home
// moved list R more for each epoch whose home for them differs (one epoch
// per change of the table) until the rebalance settles; while a home
// backend is down or a message has fewer than R copies, a login lists up
// to 2R per epoch. Ranking costs O(N) per delivery and per epoch of a
// login; a rebalance copies the mail of the moved mailboxes once. A
// delivery is refused (451) when every home backend of a recipient is
// down, where PowerMail's policy needs only W backends up anywhere.
package placement

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"powermail/impl/mail"
)

// Candidate is the state of one backend as seen by the caller's health checks.
type Candidate struct {
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
func (b Candidate) Eligible() bool { return b.Up && !b.ReadOnly && !b.BelowFreeFloor }

// Observed is backend m as the operator listed it, with what its last
// STATUS reported (up false: it did not answer). The front ends and repair
// both see a backend through it, so they agree on what makes one read-only
// or full; Load is the caller's to set (see Spread).
func Observed(m mail.Member, st mail.BackendStatus, up bool) Candidate {
	return Candidate{
		ID: m.Addr, Group: m.Group, Priority: m.Priority, Up: up,
		ReadOnly:       m.ReadOnly || st.ReadOnly,
		FreeBytes:      int64(min(st.FreeBytes, 1<<62)),
		BelowFreeFloor: st.FreeBytes < st.MinFreeBytes,
	}
}

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
	Primary []Candidate
	Spares  []Candidate
}

// ErrTooFew is wrapped when fewer than Request.Min backends are eligible.
var ErrTooFew = errors.New("placement: too few eligible backends")

// Choose applies the policy to backends. rng is the only source of
// randomness; the same seed and the same set of backends give the same
// Choice. It allocates the result; a caller placing many messages uses a
// Chooser instead.
func Choose(backends []Candidate, req Request, rng *rand.Rand) (Choice, error) {
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
