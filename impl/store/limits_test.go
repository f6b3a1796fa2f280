package store

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// refusal switches new mail off and back on at run time.
type refusal struct {
	on, off func(*Store)
	err     error
}

var refusals = map[string]refusal{
	"read-only": {
		on:  func(s *Store) { s.SetReadOnly(true) },
		off: func(s *Store) { s.SetReadOnly(false) },
		err: ErrReadOnly,
	},
	"min-free": {
		on:  func(s *Store) { s.SetMinFreeBytes(math.MaxUint64) },
		off: func(s *Store) { s.SetMinFreeBytes(1) },
		err: ErrNoSpace,
	},
}

func TestNewMailRefusalSwitchableAtRunTime(t *testing.T) {
	for name, r := range refusals {
		t.Run(name, func(t *testing.T) {
			s, _ := openTemp(t)
			kept := deliver(t, s, body(10), alice)
			prepared := msgid.New(t0)
			prepare(t, s, prepared, body(10))

			r.on(s)
			_, err := s.Begin(msgid.New(t0))
			assert.ErrorIs(t, err, r.err)
			assert.ErrorIs(t, s.Commit(prepared, []mailbox.Name{alice}), r.err)
			// Reading and deleting go on: they accept no new mail.
			assert.Equal(t, body(10), readMessage(t, s, alice, kept))
			require.NoError(t, s.Delete(alice, kept, t0))

			r.off(s)
			require.NoError(t, s.Commit(prepared, []mailbox.Name{alice}))
			deliver(t, s, body(10), bob)
		})
	}
}

func TestReadOnlyFromOptionsAndStatus(t *testing.T) {
	s := openAt(t, t.TempDir(), Options{ReadOnly: true})
	_, err := s.Begin(msgid.New(t0))
	assert.ErrorIs(t, err, ErrReadOnly)
	s.SetMinFreeBytes(42)
	st, err := s.Status()
	require.NoError(t, err)
	assert.True(t, st.ReadOnly)
	assert.EqualValues(t, 42, st.MinFreeBytes)
	s.SetReadOnly(false)
	deliver(t, s, body(1), alice)
}

// TestFreeSpaceReadingAges: a statfs reading is trusted for
// freeSpaceMaxAge, measured on the monotonic clock (a wall clock that
// jumped back would have kept it fresh, and the floor unchecked, as long).
func TestFreeSpaceReadingAges(t *testing.T) {
	var f freeSpace
	_, fresh := f.get()
	require.False(t, fresh, "no reading yet")
	f.set(5)
	n, fresh := f.get()
	require.True(t, fresh)
	require.EqualValues(t, 5, n)
	time.Sleep(freeSpaceMaxAge + 20*time.Millisecond)
	_, fresh = f.get()
	require.False(t, fresh)
}
