package delivery

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"powermail/impl/mailbox"
)

// TestTombstonesFill: two mailboxes with homes of their own (rendezvous),
// ann's one tombstone off home. Filling gives each R=2 tombstones, one at
// home, with no VOID that helps neither: b0 takes both (home for ann, a
// deeper rank for bob), then bob still needs one at home, b2.
func TestTombstonesFill(t *testing.T) {
	fs, _ := fakes(4)
	b := func(i int) Backend { return fs[i] }
	ann, bob := mailbox.Name("ann@example.com"), mailbox.Name("bob@example.com")
	targets := []Target{
		{Candidates: []Backend{b(0), b(1), b(2), b(3)}, Home: 2},
		{Candidates: []Backend{b(2), b(3), b(0), b(1)}, Home: 2},
	}
	ts := newTombstones(2, []mailbox.Name{ann, bob}, targets, map[mailbox.Name][]string{ann: {"b2"}})
	assert.Equal(t, []mailbox.Name{ann, bob}, ts.short())
	got := map[string][]mailbox.Name{}
	ts.fill(ts.order(nil), nil, func(b Backend, boxes []mailbox.Name) bool {
		got[b.Name()] = boxes
		return true
	})
	assert.Empty(t, ts.short())
	assert.Equal(t, map[string][]mailbox.Name{"b0": {ann, bob}, "b2": {bob}}, got)
	assert.Equal(t, map[string][]mailbox.Name{"b0": {ann, bob}, "b2": {ann, bob}}, ts.byBackend())
}

// TestTombstonesPowerMail: every backend is home; R distinct backends are
// enough, whichever they are, and a failed VOID moves on to the next.
func TestTombstonesPowerMail(t *testing.T) {
	fs, _ := fakes(4)
	all := []Backend{fs[0], fs[1], fs[2], fs[3]}
	box := mailbox.Name("a@x.example")
	ts := newTombstones(3, []mailbox.Name{box}, []Target{{Candidates: all, Home: 4}}, nil)
	ts.add("b3", []mailbox.Name{box})
	var tried []string
	ts.fill(ts.order([]string{"b1"}), map[string]bool{"b0": true}, func(b Backend, _ []mailbox.Name) bool {
		tried = append(tried, b.Name())
		return b.Name() != "b1"
	})
	assert.Equal(t, []string{"b1", "b2"}, tried, "b1 first (named), b0 skipped, b3 holds one")
	assert.Equal(t, []mailbox.Name{box}, ts.short(), "b3 and b2: one short of three")
}
