package maildrop

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// Rendezvous placement: the mailbox's ranking is bs[0], bs[1], ... with
// R = 2, so bs[0] and bs[1] are its home and bs[2], bs[3] the deeper ranks
// (placement.Depth). locate is what the cluster would answer: only the
// backends that are up, home first.
func rendezvous(bs []*memBackend) *Maildrops {
	const r = 2
	up := func(from, to int) (out []Backend, missing bool) {
		for _, b := range bs[from:to] {
			b.mu.Lock()
			down := b.down
			b.mu.Unlock()
			if down {
				missing = true
				continue
			}
			out = append(out, b)
		}
		return out, missing
	}
	locate := func(mailbox.Name) Location {
		ask, degraded := up(0, r)
		extra, _ := up(r, len(bs))
		order, _ := up(0, len(bs))
		return Location{Ask: ask, Extra: extra, Degraded: degraded, Home: []string{bs[0].name, bs[1].name}, Order: order}
	}
	return New(Config{Redundancy: r, ListTimeout: time.Second, IOTimeout: time.Second}, locate, nil)
}

// lose is a disk loss: the backend comes back empty.
func (b *memBackend) lose() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs, b.tombs = map[mailbox.Name]map[msgid.ID][]byte{}, map[mailbox.Name]map[msgid.ID]time.Time{}
}

func lists(bs []*memBackend) []int {
	out := make([]int, len(bs))
	for i, b := range bs {
		b.mu.Lock()
		out[i] = b.lists
		b.mu.Unlock()
	}
	return out
}

// TestLoginListsDeeperOnlyWhenIncomplete: which backends a login lists.
// A message on both home backends: the home only. A copy pushed one rank
// down (bs[0] was down at delivery): listed on one home backend, so the
// deeper ranks too, where the second copy is. A home backend down now: the
// deeper ranks at once, and the pushed-down copy shows.
func TestLoginListsDeeperOnlyWhenIncomplete(t *testing.T) {
	for _, tc := range []struct {
		name    string
		holders []int
		down    int // -1: none
		lists   []int
		copies  int // holders the login found
	}{
		{"complete", []int{0, 1}, -1, []int{1, 1, 0, 0}, 2},
		{"pushed down", []int{1, 2}, -1, []int{1, 1, 1, 1}, 2},
		{"home down", []int{1, 2}, 1, []int{1, 0, 1, 1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs := cluster(4)
			id := msgid.New(time.Now())
			for _, h := range tc.holders {
				bs[h].put(box, id, "x")
			}
			if tc.down >= 0 {
				bs[tc.down].setDown(true)
			}
			d, err := rendezvous(bs).Open(context.Background(), box)
			require.NoError(t, err)
			require.Equal(t, []msgid.ID{id}, ids(d))
			assert.Len(t, d.Messages()[0].holders, tc.copies)
			assert.Equal(t, tc.lists, lists(bs), "LIST requests per backend")
		})
	}
}

// TestDeleteWithAHomeDownHolds: a message on both home backends is
// deleted while bs[0] is down. The tombstones go to bs[1] (the holder) and
// down the ranking to bs[2]. bs[0] comes back with its copy: hidden by
// bs[1]'s tombstone. Then bs[1] is lost: bs[0]'s copy has one holder, so
// the login lists deeper and bs[2]'s tombstone still hides it.
func TestDeleteWithAHomeDownHolds(t *testing.T) {
	bs := cluster(4)
	id := msgid.New(time.Now())
	bs[0].put(box, id, "x")
	bs[1].put(box, id, "x")
	bs[0].setDown(true)
	m := rendezvous(bs)
	d, err := m.Open(context.Background(), box)
	require.NoError(t, err)
	require.NoError(t, d.Delete(context.Background(), []int{0}))
	assert.NotZero(t, bs[1].tombs[box][id], "the holder's tombstone")
	assert.NotZero(t, bs[2].tombs[box][id], "and the next rank's")

	bs[0].setDown(false)
	d, err = m.Open(context.Background(), box)
	require.NoError(t, err)
	assert.Empty(t, ids(d), "bs[1]'s tombstone hides the stale copy")

	bs[1].lose()
	d, err = m.Open(context.Background(), box)
	require.NoError(t, err)
	assert.Empty(t, ids(d), "deleted mail came back after one backend was lost")
}

// TestDeleteNeedsAHomeTombstone: both home backends down, the copies on
// the deeper ranks: R tombstones are possible, but none where every login
// looks, so the delete fails rather than promise.
func TestDeleteNeedsAHomeTombstone(t *testing.T) {
	bs := cluster(4)
	id := msgid.New(time.Now())
	bs[2].put(box, id, "x")
	bs[3].put(box, id, "x")
	bs[0].setDown(true)
	bs[1].setDown(true)
	d, err := rendezvous(bs).Open(context.Background(), box)
	require.NoError(t, err)
	require.Equal(t, []msgid.ID{id}, ids(d))
	assert.ErrorIs(t, d.Delete(context.Background(), []int{0}), ErrTooFewTombstones)
}
