package msgid

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewParsesAndCarriesTime(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_123)
	id := New(now)
	assert.Len(t, string(id), Len)
	got, err := Parse(string(id))
	require.NoError(t, err)
	assert.Equal(t, id, got)
	assert.True(t, id.Time().Equal(now))
}

func TestIDsAreUniqueAndSortByTime(t *testing.T) {
	seen := map[ID]bool{}
	var ids []string
	base := time.UnixMilli(1_700_000_000_000)
	for i := 0; i < 1000; i++ {
		id := New(base.Add(time.Duration(999-i) * time.Millisecond))
		require.False(t, seen[id], "duplicate id")
		seen[id] = true
		ids = append(ids, string(id))
	}
	sort.Strings(ids)
	for i := 1; i < len(ids); i++ {
		assert.True(t, ID(ids[i-1]).Time().Before(ID(ids[i]).Time()))
	}
}

func TestParseRejects(t *testing.T) {
	valid := string(New(time.Now()))
	for _, s := range []string{"", "../../etc/passwd", valid[:Len-1], valid + "0",
		"G" + valid[1:], "A" + valid[1:], valid[:10] + "\x00" + valid[11:]} {
		_, err := Parse(s)
		assert.ErrorIs(t, err, ErrSyntax, "%q", s)
	}
}

// TestGeneratorNeverGoesBack: ids from one Generator increase in the
// order they are handed out, through a clock that jumps back three hours
// and forward again, and through many ids in one millisecond.
func TestGeneratorNeverGoesBack(t *testing.T) {
	var g Generator
	base := time.UnixMilli(1_800_000_000_000)
	clock := []time.Duration{0, 0, 0, -3 * time.Hour, -3 * time.Hour, 0, time.Millisecond, 3 * time.Hour, 0, 0}
	prev := ID("")
	for i, shift := range clock {
		id := g.New(base.Add(shift))
		_, err := Parse(string(id))
		require.NoError(t, err)
		require.Greater(t, id, prev, "id %d (clock %v) after %s", i, shift, prev)
		prev = id
	}
	require.True(t, prev.Time().Equal(base.Add(3*time.Hour)), "after a jump forward is undone, the prefix waits for the clock")
	require.True(t, g.New(base.Add(4*time.Hour)).Time().Equal(base.Add(4*time.Hour)), "and follows it again once it has passed")
}

func TestGeneratorSequenceOverflowMovesThePrefixOn(t *testing.T) {
	var g Generator
	now := time.UnixMilli(1_800_000_000_000)
	prev := g.New(now)
	for range maxSeq + 1 {
		id := g.New(now)
		require.Greater(t, id, prev)
		prev = id
	}
	require.True(t, prev.Time().Equal(now.Add(time.Millisecond)), "the 65,537th id of one millisecond takes the next")
}
