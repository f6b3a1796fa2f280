package repair

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/placement"
)

var box = mailbox.MustParse("ann@example.com")

// randomScenario is five backends in three groups, some down, read-only or
// full, and one message with random holders, tombstones and orphan-log
// entries.
func randomScenario(rng *rand.Rand) (planner, MailboxState, Copies) {
	var states []State
	for i := range 5 {
		st := mail.BackendStatus{FreeBytes: 1 << 30, ReadOnly: rng.IntN(6) == 0}
		if rng.IntN(6) == 0 {
			st.MinFreeBytes = 2 << 30
		}
		states = append(states, State{Node: Node{Member: mail.Member{Addr: fmt.Sprintf("b%d", i), Group: fmt.Sprint(i % 3)}},
			Up: rng.IntN(5) != 0, Status: st})
	}
	c := Copies{ID: msgid.ID(fmt.Sprintf("%044x", rng.Uint64()))}
	var named []string
	ms := MailboxState{Box: box}
	for _, s := range states {
		switch rng.IntN(4) {
		case 0:
			c.Holders = append(c.Holders, Holder{Addr: s.Addr, Size: 10})
			if rng.IntN(2) == 0 {
				named = append(named, s.Addr)
			}
		case 1:
			if rng.IntN(4) == 0 {
				c.Tombstones = append(c.Tombstones, s.Addr)
			}
		case 2:
			if rng.IntN(4) == 0 {
				ms.Unreachable = append(ms.Unreachable, s.Addr)
			}
		}
	}
	p := planner{states: states, r: 1 + rng.IntN(3), seed: rng.Uint64(), orphans: map[boxID][]string{{box, c.ID}: named}}
	if rng.IntN(3) == 0 {
		p.drain = states[rng.IntN(len(states))].Addr
	}
	return p, ms, c
}

// TestPlanSafety checks the package doc's rules on random scenarios: only
// tombstoned copies and orphans with no other copy are removed, a
// tombstoned message is never copied, and copies go only to writable,
// listed backends that lack the message, never to the drained one.
func TestPlanSafety(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 20000 {
		p, ms, c := randomScenario(rng)
		d := p.plan(ms, c)
		if err := checkPlan(p, ms, c, d); err != nil {
			t.Fatalf("scenario %d: %v\nplanner %+v\ncopies %+v\nplan %+v", i, err, p, c, d)
		}
	}
}

func checkPlan(p planner, ms MailboxState, c Copies, d decision) error {
	named := p.orphans[boxID{box, c.ID}]
	allNamed := len(c.Holders) > 0 && !slices.ContainsFunc(c.Holders, func(h Holder) bool { return !slices.Contains(named, h.Addr) })
	targets := map[string]bool{}
	copies := 0
	for _, a := range d.actions {
		switch {
		case a.Kind == RemoveTomb && !c.Tombstoned(), a.Kind == RemoveOrphan && !allNamed:
			return fmt.Errorf("%s of a copy without reason", a.Kind)
		case a.Kind != Copy && !c.Held(a.Target):
			return fmt.Errorf("%s on a backend that does not hold it", a.Kind)
		case a.Kind == Copy && c.Tombstoned():
			return fmt.Errorf("copy of a deleted message")
		case a.Kind == Copy && !copyTargetOK(p, ms, c, a, targets):
			return fmt.Errorf("bad copy %+v", a)
		}
		if a.Kind == Copy {
			copies++
		}
	}
	have := len(c.Holders)
	if c.Held(p.drain) {
		have--
	}
	if len(c.Holders) > 0 && !c.Tombstoned() && !allNamed && have+copies < p.r && !d.short {
		return fmt.Errorf("below R without being reported short")
	}
	return nil
}

func copyTargetOK(p planner, ms MailboxState, c Copies, a Action, seen map[string]bool) bool {
	i := slices.IndexFunc(p.states, func(s State) bool { return s.Addr == a.Target })
	ok := i >= 0 && p.states[i].Writable() && !c.Held(a.Target) && a.Target != p.drain &&
		!slices.Contains(ms.Unreachable, a.Target) && c.Held(a.Source) && !seen[a.Target]
	seen[a.Target] = true
	return ok
}

// TestPlanPrefersUnusedGroups: the copy of a message held in group 0 goes
// to group 1, not to the other backend of group 0.
func TestPlanPrefersUnusedGroups(t *testing.T) {
	up := func(addr, group string) State {
		return State{Node: Node{Member: mail.Member{Addr: addr, Group: group}}, Up: true, Status: mail.BackendStatus{FreeBytes: 1 << 30}}
	}
	p := planner{states: []State{up("a", "0"), up("b", "0"), up("c", "1")}, r: 2}
	for seed := range uint64(50) {
		p.seed = seed
		d := p.plan(MailboxState{Box: box}, Copies{ID: "x", Holders: []Holder{{Addr: "a", Size: 1}}})
		if len(d.actions) != 1 || d.actions[0].Target != "c" {
			t.Fatalf("seed %d: %+v", seed, d.actions)
		}
	}
}

// TestRehomeSafety: the same rules under rendezvous placement, and its
// own: copies go only where a login looks (the first placement.Depth of
// the ranking), and a copy away from home is removed only by a rebalance
// whose copies leave every home backend holding the message.
func TestRehomeSafety(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for i := range 20000 {
		p, ms, c := randomScenario(rng)
		var members []placement.Candidate
		for _, s := range p.states {
			members = append(members, placement.Candidate{ID: s.Addr, Group: s.Group})
		}
		p.homes = placement.NewHomes(placement.History{Anchored: true, Epochs: []placement.Epoch{{Number: 1, Members: members}}}, p.r)
		p.rebalance = rng.IntN(2) == 0
		d := p.plan(ms, c)
		err := checkPlan(p, ms, c, d)
		if err == nil {
			err = checkRehome(p, ms, c, d)
		}
		if err != nil {
			t.Fatalf("scenario %d: %v\nplanner %+v\ncopies %+v\nplan %+v", i, err, p, c, d)
		}
	}
}

func checkRehome(p planner, ms MailboxState, c Copies, d decision) error {
	loc := p.homes.Locate(string(ms.Box))
	targets := map[string]bool{}
	for _, a := range d.actions {
		if a.Kind == Copy {
			targets[a.Target] = true
			if !slices.Contains(loc.Order, a.Target) {
				return fmt.Errorf("copy to %s, which no login lists", a.Target)
			}
		}
	}
	if len(d.unhome) == 0 {
		return nil
	}
	if !p.rebalance {
		return fmt.Errorf("removal without rebalance")
	}
	for _, h := range loc.Home {
		if !c.Held(h) && !targets[h] || h == p.drain {
			return fmt.Errorf("removal while home backend %s lacks the message", h)
		}
	}
	for _, a := range d.unhome {
		if a.Kind != RemoveAway || !c.Held(a.Target) || slices.Contains(loc.Home, a.Target) {
			return fmt.Errorf("bad removal %+v", a)
		}
	}
	return nil
}
