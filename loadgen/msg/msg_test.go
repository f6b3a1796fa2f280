package msg

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBuildVerifyExactSize(t *testing.T) {
	for _, size := range []int{1, 100, 300, 301, 302, 4096, 78 * 1000, 512 << 10, 3 << 20} {
		m := Build(nil, "run1-42", "u1@example.com", size)
		if size >= 400 {
			require.Len(t, m, size)
		}
		info, err := Verify(m)
		require.NoError(t, err, "size %d", size)
		require.Equal(t, "run1-42", info.ID)
		for _, line := range bytes.Split(m, []byte("\r\n")) {
			require.LessOrEqual(t, len(line), maxLastLineLen)
			require.False(t, bytes.HasPrefix(line, []byte(".")))
		}
		require.True(t, bytes.HasSuffix(m, []byte("\r\n")))
		require.Equal(t, bytes.Count(m, []byte("\n")), bytes.Count(m, []byte("\r\n")), "bare LF")
	}
}

func TestVerifyWithPrependedHeader(t *testing.T) {
	m := Build(nil, "a-1", "x@y", 4096)
	m = append([]byte("Received: from x by y; Mon, 1 Jan 2026 00:00:00 +0000\r\n"), m...)
	_, err := Verify(m)
	require.NoError(t, err)
}

func TestVerifyCatchesCorruption(t *testing.T) {
	m := Build(nil, "a-1", "x@y", 4096)
	bad := bytes.Clone(m)
	bad[3000] ^= 0x01
	_, err := Verify(bad)
	require.True(t, errors.Is(err, ErrChecksum), "%v", err)

	_, err = Verify(m[:len(m)-10])
	require.True(t, errors.Is(err, ErrLength), "%v", err)

	other := Build(nil, "a-2", "x@y", 4096)
	swapped := append(bytes.Clone(m[:bytes.Index(m, headerEnd)+4]), other[bytes.Index(other, headerEnd)+4:]...)
	_, err = Verify(swapped)
	require.Error(t, err)

	_, err = Verify([]byte("Subject: hi\r\n\r\nbody\r\n"))
	require.True(t, errors.Is(err, ErrNoHeaders))
}

func TestBodiesDiffer(t *testing.T) {
	a := Build(nil, "r-1", "x@y", 4096)
	b := Build(nil, "r-2", "x@y", 4096)
	ia, ib := bytes.Index(a, headerEnd), bytes.Index(b, headerEnd)
	require.NotEqual(t, a[ia:], b[ib:])
}

func BenchmarkBuild4K(b *testing.B) {
	buf := make([]byte, 0, 8192)
	for i := 0; b.Loop(); i++ {
		buf = Build(buf[:0], "run-1234567", "user1@example.com", 4096)
	}
}
