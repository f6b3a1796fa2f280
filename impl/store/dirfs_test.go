package store

import (
	"os"
	"path"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mailbox"
)

// A mailbox directory replaced by a symlink that leads out of the root
// (as an attacker with write access to the disk might plant) is refused by
// every hot path: nothing is read from, linked into or created outside.
func TestSymlinkedMailboxIsRefused(t *testing.T) {
	s, dir := openTemp(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("not mail"), 0o600))
	box := boxPath(alice)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, path.Dir(box)), 0o750))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, box)))

	_, err := s.List(alice)
	assert.Error(t, err, "List through the symlink")
	_, _, err = s.OpenMessage(alice, "secret")
	assert.Error(t, err)
	_, err = tryDeliver(s, body(10), alice)
	assert.Error(t, err, "a delivery through the symlink")
	ents, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Len(t, ents, 1, "nothing was created outside the root")
}

// The same for a fan-out level replaced by a symlink to "..": the
// RESOLVE_BENEATH lookup refuses it.
func TestSymlinkedFanoutIsRefused(t *testing.T) {
	s, dir := openTemp(t)
	fan := path.Dir(path.Dir(boxPath(bob)))
	require.NoError(t, os.Symlink("..", filepath.Join(dir, fan)))
	_, err := tryDeliver(s, body(10), bob)
	assert.Error(t, err)
	_, err = os.Stat(filepath.Join(dir, path.Base(path.Dir(boxPath(bob)))))
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing was created at the root level through ..")
}

func TestComponentRefusesPaths(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", "/etc"} {
		assert.Panics(t, func() { component(bad) }, "%q", bad)
	}
	assert.Equal(t, "0123abcd.tomb", component("0123abcd.tomb"))
}

// Past the cache's bound, handles are closed and reopened on use; a handle
// in use when it is evicted stays open until it is put back.
func TestDirCacheEvicts(t *testing.T) {
	s, _ := openTemp(t)
	c := newDirCache(s.rootFd, 2)
	t.Cleanup(c.close)
	var held *dirHandle
	for i, n := range []string{"a@x.org", "b@x.org", "c@x.org", "d@x.org"} {
		deliver(t, s, body(1), mailbox.MustParse(n))
		h, err := c.get(boxPath(mailbox.MustParse(n)))
		require.NoError(t, err)
		if i == 0 {
			held = h
			continue
		}
		c.put(h)
	}
	assert.LessOrEqual(t, c.lru.Len(), 2)
	assert.Nil(t, held.elem, "the first handle was evicted")
	_, err := statAt(held, nameFile)
	assert.NoError(t, err, "an evicted handle in use still works")
	c.put(held)
}
