package delivery

import (
	"slices"

	"powermail/impl/mailbox"
)

// tombstones is where a refused message's tombstones are (VOID), per
// mailbox, and where more must go. A mailbox has enough when R of its
// candidates hold one (all of them, if it has fewer), one of them a home
// candidate that every login lists: losing R-1 disks then leaves a
// tombstone, and a login finds it (the home one, or a deeper rank, which a
// login also lists when a listing is incomplete; see package maildrop).
// This is the rule a delete follows, for the same reason.
type tombstones struct {
	r       int
	boxes   []mailbox.Name
	targets []Target // targets[i]: where boxes[i] may go
	on      map[mailbox.Name][]string
}

// newTombstones starts from on (backends holding a tombstone, per
// mailbox), which may be nil.
func newTombstones(r int, boxes []mailbox.Name, targets []Target, on map[mailbox.Name][]string) *tombstones {
	ts := &tombstones{r: r, boxes: boxes, targets: targets, on: map[mailbox.Name][]string{}}
	for box, bs := range on {
		ts.on[box] = slices.Clone(bs)
	}
	return ts
}

// add records that backend holds tombstones for boxes.
func (ts *tombstones) add(backend string, boxes []mailbox.Name) {
	for _, box := range boxes {
		if !slices.Contains(ts.on[box], backend) {
			ts.on[box] = append(ts.on[box], backend)
		}
	}
}

// enough reports whether boxes[i] has its tombstones.
func (ts *tombstones) enough(i int) bool {
	t, on := ts.targets[i], ts.on[ts.boxes[i]]
	return ts.count(t, on) >= min(ts.r, len(t.Candidates)) && ts.atHome(t, on)
}

// count is how many of on are candidates of t.
func (ts *tombstones) count(t Target, on []string) int {
	n := 0
	for _, c := range t.Candidates {
		if slices.Contains(on, c.Name()) {
			n++
		}
	}
	return n
}

// atHome reports whether one of on is a home candidate of t (trivially
// so when t has none).
func (ts *tombstones) atHome(t Target, on []string) bool {
	for _, c := range t.Candidates[:t.Home] {
		if slices.Contains(on, c.Name()) {
			return true
		}
	}
	return t.Home == 0
}

// short returns the mailboxes without enough tombstones.
func (ts *tombstones) short() []mailbox.Name {
	var out []mailbox.Name
	for i, box := range ts.boxes {
		if !ts.enough(i) {
			out = append(out, box)
		}
	}
	return out
}

// wants returns the mailboxes a tombstone on b would help: those short of
// tombstones that b is a candidate for and holds none of. A backend off
// home leaves room for the one at home: it is wanted only while the count
// is below R-1 for a mailbox without a home tombstone yet.
func (ts *tombstones) wants(b Backend) []mailbox.Name {
	var out []mailbox.Name
	for i, box := range ts.boxes {
		t, on := ts.targets[i], ts.on[box]
		if slices.Contains(on, b.Name()) || !slices.ContainsFunc(t.Candidates, sameBackend(b)) {
			continue
		}
		has, need, home := ts.count(t, on), min(ts.r, len(t.Candidates)), ts.atHome(t, on)
		if t.home(b) && (has < need || !home) || !t.home(b) && has < need-boolInt(!home) {
			out = append(out, box)
		}
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// order is every candidate of every mailbox once: those named in first,
// then home candidates, then the others, each in the targets' order.
func (ts *tombstones) order(first []string) []Backend {
	var out []Backend
	add := func(b Backend) {
		if !slices.ContainsFunc(out, sameBackend(b)) {
			out = append(out, b)
		}
	}
	for _, pass := range []func(Target, int, Backend) bool{
		func(_ Target, _ int, b Backend) bool { return slices.Contains(first, b.Name()) },
		func(t Target, i int, _ Backend) bool { return i < t.Home },
		func(Target, int, Backend) bool { return true },
	} {
		for _, t := range ts.targets {
			for i, b := range t.Candidates {
				if pass(t, i, b) {
					add(b)
				}
			}
		}
	}
	return out
}

// fill tries void on the backends of order not in skip, each for the
// mailboxes it would help, until every mailbox has enough tombstones or
// order is exhausted. void reports success; fill records it.
func (ts *tombstones) fill(order []Backend, skip map[string]bool, void func(Backend, []mailbox.Name) bool) {
	for _, b := range order {
		if len(ts.short()) == 0 {
			return
		}
		if boxes := ts.wants(b); !skip[b.Name()] && len(boxes) > 0 && void(b, boxes) {
			ts.add(b.Name(), boxes)
		}
	}
}

// byBackend is the mailboxes each backend holds tombstones for.
func (ts *tombstones) byBackend() map[string][]mailbox.Name {
	out := map[string][]mailbox.Name{}
	for _, box := range ts.boxes {
		for _, b := range ts.on[box] {
			out[b] = append(out[b], box)
		}
	}
	return out
}

func sameBackend(b Backend) func(Backend) bool {
	return func(o Backend) bool { return o.Name() == b.Name() }
}
