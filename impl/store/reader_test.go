package store

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mailbox"
)

// A Reader of a store that another Store owns sees what the owner made
// visible: the same listing, the same bytes, deletes as tombstones, and
// nothing of an upload not yet committed.
func TestReaderSeesWhatTheOwnerCommitted(t *testing.T) {
	s, dir := openTemp(t)
	r, err := OpenReader(dir, quiet)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })

	kept := deliver(t, s, body(300), alice)
	gone := deliver(t, s, body(10), alice)
	require.NoError(t, s.Delete(alice, gone, t0))
	prepare(t, s, "0000000000000000000000000000000000000000abcd", body(5))

	want, err := s.List(alice)
	require.NoError(t, err)
	got, err := r.List(alice)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	require.Len(t, got.Messages, 1)
	assert.Equal(t, kept, got.Messages[0].ID)

	f, size, err := r.OpenMessage(alice, kept)
	require.NoError(t, err)
	defer f.Close()
	data, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.Equal(t, body(300), data)
	assert.EqualValues(t, 300, size)

	_, _, err = r.OpenMessage(alice, gone)
	assert.ErrorIs(t, err, ErrNotFound)
	l, err := r.List(mailbox.MustParse("nobody@example.com"))
	assert.NoError(t, err)
	assert.Empty(t, l.Messages)
}

func TestReaderRefusesANonStore(t *testing.T) {
	_, err := OpenReader(t.TempDir(), quiet)
	assert.Error(t, err)
}
