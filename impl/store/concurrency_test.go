package store

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

const (
	raceWriters           = 8
	raceMessagesPerWriter = 15
)

func TestConcurrentCommitsAndDeletes(t *testing.T) {
	s, dir := openTemp(t)
	boxes := []mailbox.Name{alice, bob, carol}
	var mu sync.Mutex
	var kept []msgid.ID
	var wg sync.WaitGroup
	for w := range raceWriters {
		wg.Go(func() {
			for i := range raceMessagesPerWriter {
				id, err := tryDeliver(s, body(100+w), boxes[i%3], boxes[(i+w)%3])
				if !assert.NoError(t, err) {
					return
				}
				if i%5 == 0 {
					assert.NoError(t, s.Delete(boxes[i%3], id, t0))
					assert.NoError(t, s.Delete(boxes[(i+w)%3], id, t0))
					continue
				}
				mu.Lock()
				kept = append(kept, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	seen := map[msgid.ID]bool{}
	for _, b := range boxes {
		l, err := s.List(b)
		require.NoError(t, err)
		for _, m := range l.Messages {
			seen[m.ID] = true
		}
	}
	assert.Len(t, seen, len(kept))
	for _, id := range kept {
		assert.True(t, seen[id], id)
	}
	st, _ := s.Status()
	assert.EqualValues(t, len(kept), st.Messages)
	assert.Empty(t, tmpNames(t, dir))
	s.Close()
	s = openAt(t, dir, Options{})
	st, _ = s.Status()
	assert.EqualValues(t, len(kept), st.Messages, "recounted at Open")
}

// A commit racing a delete of the same id never leaves the message visible
// next to its tombstone.
func TestCommitRacingDeleteNeverResurrects(t *testing.T) {
	s, _ := openTemp(t)
	for range 20 {
		id := msgid.New(time.Now())
		prepare(t, s, id, body(10))
		var wg sync.WaitGroup
		wg.Go(func() { assert.NoError(t, s.Commit(id, []mailbox.Name{alice})) })
		wg.Go(func() { assert.NoError(t, s.Delete(alice, id, t0)) })
		wg.Wait()
		_, _, err := s.OpenMessage(alice, id)
		assert.ErrorIs(t, err, ErrNotFound)
	}
}

func TestDirSyncFailureIsNotRetried(t *testing.T) {
	s, _ := openTemp(t)
	// Syncing a descriptor that is not open fails; the error reaches the
	// caller, and the coalescer state is clean for the next caller.
	err := s.syncDir(&dirHandle{fd: -1, path: "mbox/zz"})
	require.Error(t, err)
	assert.False(t, s.dirSyncs.has("mbox/zz"))
	require.NoError(t, s.syncDir(s.tmp))
}
