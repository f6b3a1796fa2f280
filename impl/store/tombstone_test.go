package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

func TestTombstoneBlocksRecommitAndSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	id := deliver(t, s, body(10), alice, bob)
	require.NoError(t, s.Delete(alice, id, t0))

	l, err := s.List(alice)
	require.NoError(t, err)
	assert.Empty(t, l.Messages)
	require.Len(t, l.Tombstones, 1)
	assert.Equal(t, id, l.Tombstones[0].ID)
	assert.True(t, l.Tombstones[0].Deleted.Equal(t0))

	// A retried commit (the source is bob's link) must not resurrect it.
	require.NoError(t, s.Commit(id, []mailbox.Name{alice, bob, carol}))
	_, _, err = s.OpenMessage(alice, id)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, body(10), readMessage(t, s, carol, id))

	require.NoError(t, s.Close())
	s = openAt(t, dir, Options{})
	l, err = s.List(alice)
	require.NoError(t, err)
	require.Len(t, l.Tombstones, 1)
	assert.True(t, l.Tombstones[0].Deleted.Equal(t0))
	assert.Empty(t, l.Messages)
}

func TestDeleteOfAbsentMessageLeavesTombstone(t *testing.T) {
	s, _ := openTemp(t)
	id := msgid.New(t0)
	require.NoError(t, s.Delete(alice, id, t0))
	require.NoError(t, s.Delete(alice, id, t0.Add(time.Hour))) // first date stands
	l, err := s.List(alice)
	require.NoError(t, err)
	require.Equal(t, []mail.Tombstone{{ID: id, Deleted: l.Tombstones[0].Deleted}}, l.Tombstones)
	assert.True(t, l.Tombstones[0].Deleted.Equal(t0))

	prepare(t, s, id, body(5))
	require.NoError(t, s.Commit(id, []mailbox.Name{alice}))
	l, err = s.List(alice)
	require.NoError(t, err)
	assert.Empty(t, l.Messages)
}

func TestDeleteKeepsOtherRecipients(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	id := deliver(t, s, body(10), alice, bob)
	require.NoError(t, s.Delete(alice, id, t0))
	_, links := statOf(t, fileOf(dir, bob, id))
	assert.EqualValues(t, 1, links)
	st, _ := s.Status()
	assert.EqualValues(t, 1, st.Messages)

	require.NoError(t, s.Delete(bob, id, t0))
	st, _ = s.Status()
	assert.Zero(t, st.Messages)
}

func TestExpireTombstones(t *testing.T) {
	s := openAt(t, t.TempDir(), Options{TombstoneTTL: time.Hour})
	old, young := msgid.New(t0), msgid.New(t0)
	require.NoError(t, s.Delete(alice, old, t0))
	require.NoError(t, s.Delete(alice, young, t0.Add(90*time.Minute)))

	n, err := s.ExpireTombstones(t0.Add(30 * time.Minute))
	require.NoError(t, err)
	assert.Zero(t, n)
	n, err = s.ExpireTombstones(t0.Add(2 * time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	l, err := s.List(alice)
	require.NoError(t, err)
	require.Len(t, l.Tombstones, 1)
	assert.Equal(t, young, l.Tombstones[0].ID)
}

// A crash between the two steps of Delete leaves message and tombstone;
// Open finishes the delete.
func TestOpenFinishesInterruptedDelete(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	id := deliver(t, s, body(10), alice)
	require.NoError(t, s.Close())
	tomb := filepath.Join(dir, filepath.FromSlash(tombPath(boxPath(alice), id)))
	require.NoError(t, os.WriteFile(tomb, nil, filePerm))

	s = openAt(t, dir, Options{})
	_, err := os.Stat(fileOf(dir, alice, id))
	assert.ErrorIs(t, err, os.ErrNotExist)
	st, _ := s.Status()
	assert.Zero(t, st.Messages)
}

// Void of a committed message: tombstones in every box, the links and the
// tmp file gone, and the listing shows the tombstone, not the message.
func TestVoidHidesAndRemoves(t *testing.T) {
	s, dir := openTemp(t)
	id := deliver(t, s, body(10), alice, bob)
	require.NoError(t, s.Void(id, []mailbox.Name{alice, bob, carol}, t0))
	for _, b := range []mailbox.Name{alice, bob, carol} {
		l, err := s.List(b)
		require.NoError(t, err)
		assert.Empty(t, l.Messages, "%s", b)
		require.Len(t, l.Tombstones, 1, "%s", b)
		assert.Equal(t, id, l.Tombstones[0].ID)
	}
	assert.Empty(t, tmpNames(t, dir))
	st, _ := s.Status()
	assert.Zero(t, st.Messages)
	// A late COMMIT of the voided id links nothing.
	require.Error(t, s.Commit(id, []mailbox.Name{alice}))
}

// Void of a message only prepared (its commit never came) removes the
// prepared file and still leaves the tombstones.
func TestVoidOfPreparedMessage(t *testing.T) {
	s, dir := openTemp(t)
	id := msgid.New(t0)
	prepare(t, s, id, body(10))
	require.NoError(t, s.Void(id, []mailbox.Name{alice}, t0))
	assert.Empty(t, tmpNames(t, dir))
	l, err := s.List(alice)
	require.NoError(t, err)
	assert.Len(t, l.Tombstones, 1)
}

// TestNewestIsTheLastWrite: Open reports the latest date of a message or
// tombstone, the store's last activity, for expiry to count from.
func TestNewestIsTheLastWrite(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	assert.True(t, s.Newest().IsZero(), "an empty store")
	delivered := time.Now()
	deliver(t, s, body(10), alice)
	later := delivered.Add(time.Hour).Truncate(time.Second)
	require.NoError(t, s.Delete(bob, msgid.New(t0), later))
	require.NoError(t, s.Delete(bob, msgid.New(t0), t0))
	require.NoError(t, s.Close())
	assert.True(t, openAt(t, dir, Options{}).Newest().Equal(later), "the newest tombstone")
}
