package chaos

import (
	"cmp"
	"slices"
)

// What is promised about the order of a mailbox (impl/msgid): the ids that
// one powersmtp process hands out increase, whatever its wall clock does,
// and a mailbox lists messages by id. So for two messages that one process
// acknowledged, A before B's transaction began (A's 250 arrived before
// B's DATA was sent), every mailbox holding both lists A first. Nothing
// is promised for transactions that overlapped, nor across processes
// (another powersmtp, or the same one restarted: their ids are as ordered
// as their clocks agree).

// ordered is one acknowledged message as one mailbox listed it.
type ordered struct {
	pos       int     // message number in the listing
	data, ack float64 // ms since the run's start: DATA sent, 250 received
}

// misordered counts the messages listed before a message that, by the
// rule above, must come first.
func misordered(sends []SendRecord, copies []Copy) int {
	acked := map[string]*SendRecord{}
	for i := range sends {
		if sends[i].Outcome == OK {
			acked[sends[i].ID] = &sends[i]
		}
	}
	type group struct {
		box   string
		epoch int
	}
	groups := map[group][]ordered{}
	seen := map[key]bool{}
	for _, cp := range copies {
		s, k := acked[cp.ChaosID], key{cp.Box, cp.ChaosID}
		if s == nil || seen[k] { // a duplicate is counted elsewhere
			continue
		}
		seen[k] = true
		g := group{cp.Box, s.Epoch}
		groups[g] = append(groups[g], ordered{pos: cp.Pos, data: s.DataAtMs, ack: s.AckAtMs})
	}
	n := 0
	for _, msgs := range groups {
		n += countMisordered(msgs)
	}
	return n
}

// countMisordered sweeps the messages of one mailbox and process in the
// order their DATA was sent, keeping the highest position of those
// acknowledged before: a message listed above it is out of order.
func countMisordered(msgs []ordered) int {
	byAck := slices.SortedFunc(slices.Values(msgs), func(a, b ordered) int { return cmp.Compare(a.ack, b.ack) })
	slices.SortFunc(msgs, func(a, b ordered) int { return cmp.Compare(a.data, b.data) })
	n, next, highest := 0, 0, 0
	for _, b := range msgs {
		for ; next < len(byAck) && byAck[next].ack < b.data; next++ {
			highest = max(highest, byAck[next].pos)
		}
		if b.pos < highest {
			n++
		}
	}
	return n
}

// reusedIDs counts listed messages whose id (UIDL) some other message
// also has: ids are random beyond their time prefix, so this is a
// collision or a bug.
func reusedIDs(copies []Copy) int {
	owner := map[string]string{}
	n := 0
	for _, cp := range copies {
		if o, ok := owner[cp.UID]; !ok {
			owner[cp.UID] = cp.ChaosID
		} else if o != cp.ChaosID {
			n++
		}
	}
	return n
}
