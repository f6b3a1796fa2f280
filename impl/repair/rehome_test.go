package repair_test

import (
	"fmt"
	"slices"
	"testing"

	"powermail/impl/internal/e2e/inproc"
	"powermail/impl/mailbox"
	"powermail/impl/placement"
	"powermail/impl/repair"
)

// history has one epoch per count of backends: bs[:n] for n in counts.
func history(bs []*inproc.Listener, counts ...int) placement.History {
	h := placement.History{Anchored: true}
	for i, n := range counts {
		e := placement.Epoch{Number: i + 1}
		for j, b := range bs[:n] {
			e.Members = append(e.Members, placement.Candidate{ID: b.Addr, Group: fmt.Sprint(j)})
		}
		h.Epochs = append(h.Epochs, e)
	}
	return h
}

// homeOf is box's home under the newest epoch of h.
func homeOf(h placement.History, box mailbox.Name) []string {
	return placement.NewHomes(h, 2).Locate(string(box)).Home
}

// holderAddrs are the backends holding m in box.
func holderAddrs(bs []*inproc.Listener, box mailbox.Name, m message) []string {
	var out []string
	for _, b := range bs {
		if b.Read(box, m.id) != nil {
			out = append(out, b.Addr)
		}
	}
	slices.Sort(out)
	return out
}

// TestRebalanceMovesEverythingHome: mail placed at its homes among three
// backends; a fourth joins. The dry run counts the messages away from home
// and changes nothing; the rebalance copies each moved message to its new
// home and then removes the copy off home, so every message sits exactly
// at its home; a second run does nothing.
func TestRebalanceMovesEverythingHome(t *testing.T) {
	bs := inproc.Start(t, 4)
	before, after := history(bs, 3), history(bs, 3, 4)
	boxes := []mailbox.Name{}
	var msgs []message
	moved := 0
	for i := range 24 {
		box := mailbox.Name(fmt.Sprintf("user%d@example.com", i))
		m := newMessage(i)
		boxes, msgs = append(boxes, box), append(msgs, m)
		for _, b := range bs {
			if slices.Contains(homeOf(before, box), b.Addr) {
				b.Put(m.id, m.body, box)
			}
		}
		if !slices.Equal(sorted(homeOf(before, box)), sorted(homeOf(after, box))) {
			moved++
		}
	}
	if moved == 0 || moved == len(boxes) {
		t.Fatalf("%d of %d mailboxes moved: pick other names", moved, len(boxes))
	}
	opt := repair.Options{Homes: placement.NewHomes(after, 2), Rebalance: true}
	dry := run(t, bs, repair.Options{Homes: opt.Homes, Rebalance: true, DryRun: true})
	if dry.AwayFromHome != moved || dry.Rebalanced != moved || dry.StillAway != 0 {
		t.Fatalf("dry run (counts are what would be done), %d moved: %+v", moved, dry)
	}
	for i, box := range boxes {
		if got := holderAddrs(bs, box, msgs[i]); !slices.Equal(got, sorted(homeOf(before, box))) {
			t.Fatalf("the dry run changed %s: %v", box, got)
		}
	}
	rep := run(t, bs, opt)
	if rep.AwayFromHome != moved || rep.Rebalanced != moved || rep.StillAway != 0 || !rep.Clean() {
		t.Fatalf("rebalance, %d moved: %+v", moved, rep)
	}
	for i, box := range boxes {
		if got, want := holderAddrs(bs, box, msgs[i]), sorted(homeOf(after, box)); !slices.Equal(got, want) {
			t.Errorf("%s: held by %v, home %v", box, got, want)
		}
		holders(t, bs, box, msgs[i]) // byte-identical
	}
	assertNothingToDo(t, bs, opt)
}

// TestRebalanceNeverRemovesWhileAHomeLacks: the new home backend is down;
// the copies away from home stay, and the run says it is not done.
func TestRebalanceNeverRemovesWhileAHomeLacks(t *testing.T) {
	bs := inproc.Start(t, 3)
	h := history(bs, 3)
	box := mailbox.Name("ann@example.com")
	home := homeOf(h, box)
	m := newMessage(1)
	var away *inproc.Listener
	for _, b := range bs {
		if !slices.Contains(home, b.Addr) {
			away = b
		}
	}
	away.Put(m.id, m.body, box)
	for _, b := range bs {
		if b.Addr == home[0] {
			b.Put(m.id, m.body, box)
		}
		if b.Addr == home[1] {
			b.Stop()
		}
	}
	rep, err := repair.Run(ctxT(t), cluster(bs), repair.Options{Redundancy: 2, Homes: placement.NewHomes(h, 2), Rebalance: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rebalanced != 0 || rep.StillAway != 1 || rep.Clean() || away.Read(box, m.id) == nil {
		t.Fatalf("report %+v; copy away kept: %v", rep, away.Read(box, m.id) != nil)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
