package backendview

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mail"
	"powermail/impl/placement"
)

// historySource is a table with its placement history.
type historySource struct {
	mutableSource
	hist placement.History
}

func (h *historySource) History(context.Context) (placement.History, error) { return h.hist, nil }

// rendezvousCluster has six members, one group each, and a history whose
// only epoch is that membership.
func rendezvousCluster(t *testing.T, anchored bool) (*View[*fakeChecker], map[string]*fakeChecker, []placement.Candidate) {
	src := &historySource{}
	var members []placement.Candidate
	for i := range 6 {
		m := mail.Member{Addr: fmt.Sprintf("10.0.0.%d:1101", i), Group: fmt.Sprint(i)}
		src.ms = append(src.ms, m)
		members = append(members, placement.Candidate{ID: m.Addr, Group: m.Group})
	}
	src.hist = placement.History{Anchored: anchored, Epochs: []placement.Epoch{{Number: 1, Members: members}}}
	c, checkers := newTestCluster(src)
	c.cfg.Policy, c.cfg.Redundancy = placement.Rendezvous, 2
	require.NoError(t, c.Refresh(context.Background()))
	return c, checkers, members
}

// ranking is box's ranking, by the placement package itself.
func ranking(members []placement.Candidate, box string) []string {
	var sc placement.Scratch
	var out []string
	for _, i := range placement.NewRing(members).Rank(placement.MailboxKey(box), 4, nil, &sc) {
		out = append(out, members[i].ID)
	}
	return out
}

func TestPlaceAndLocateUnderRendezvous(t *testing.T) {
	c, checkers, members := rendezvousCluster(t, true)
	const box = "ann@example.com"
	want := ranking(members, box)
	req := placement.Request{Target: 2, Min: 2}

	targets, err := c.Place([]string{box}, req)
	require.NoError(t, err)
	assert.Equal(t, want, addrs(targets[0].Candidates))
	assert.Equal(t, 2, targets[0].Home)
	loc := c.Locate(box)
	assert.Equal(t, want[:2], addrs(loc.Ask), "a login asks the home backends")
	assert.Equal(t, want[2:], addrs(loc.Extra))
	assert.Equal(t, want[:2], loc.Home)
	assert.False(t, loc.Degraded)

	checkers[want[0]].set(true)
	c.checkAll(context.Background())
	targets, err = c.Place([]string{box}, req)
	require.NoError(t, err)
	assert.Equal(t, want[1:], addrs(targets[0].Candidates), "a down home backend pushes the copy down")
	assert.Equal(t, 1, targets[0].Home)
	loc = c.Locate(box)
	assert.True(t, loc.Degraded)
	assert.Equal(t, want[1:2], addrs(loc.Ask))

	checkers[want[1]].set(true)
	c.checkAll(context.Background())
	_, err = c.Place([]string{box}, req)
	assert.ErrorIs(t, err, placement.ErrNoHome)
}

func TestLocateListsEverythingWithoutAnAnchoredHistory(t *testing.T) {
	c, _, _ := rendezvousCluster(t, false)
	assert.Len(t, c.Locate("ann@example.com").Ask, 6, "an unanchored history proves nothing")
	targets, err := c.Place([]string{"ann@example.com"}, placement.Request{Target: 2, Min: 2})
	require.NoError(t, err, "placing by rendezvous needs no anchor")
	assert.Equal(t, 2, targets[0].Home)

	c.homes.Store(&homesAt{homes: c.homes.Load().homes, read: time.Now().Add(-2 * maxHistoryAge)})
	_, err = c.Place([]string{"ann@example.com"}, placement.Request{Target: 2, Min: 2})
	assert.ErrorIs(t, err, ErrNoHistory, "no placing by a history that may be stale")
	assert.Len(t, c.Locate("ann@example.com").Ask, 6)
}

func TestPowerMailPlacementIsTheSameForEveryMailbox(t *testing.T) {
	src := &mutableSource{ms: []mail.Member{{Addr: "a:1", Group: "g1"}, {Addr: "b:1", Group: "g2"}, {Addr: "c:1", Group: "g3"}}}
	c, _ := newTestCluster(src)
	require.NoError(t, c.Refresh(context.Background()))
	targets, err := c.Place([]string{"x@example.com", "y@example.com"}, placement.Request{Target: 2, Min: 2})
	require.NoError(t, err)
	assert.Equal(t, targets[0], targets[1])
	assert.Len(t, targets[0].Candidates, 3)
	assert.Equal(t, 3, targets[0].Home)
	loc := c.Locate("x@example.com")
	assert.Len(t, loc.Ask, 3)
	assert.Nil(t, loc.Home)
}
