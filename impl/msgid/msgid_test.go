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
