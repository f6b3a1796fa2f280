package pp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	require.NoError(t, os.WriteFile(good, []byte("  0123456789abcdef\n"), 0o600))
	s, err := ReadSecretFile(good)
	require.NoError(t, err)
	assert.Equal(t, "0123456789abcdef", s)

	short := filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(short, []byte("0123456789abcde \n"), 0o600))
	_, err = ReadSecretFile(short)
	assert.ErrorIs(t, err, ErrShortSecret)

	_, err = ReadSecretFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
