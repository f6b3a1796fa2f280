package chaos

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUnderReplicated(t *testing.T) {
	idA, idB := strings.Repeat("a", msgIDLen), strings.Repeat("b", msgIDLen)
	roots := []string{t.TempDir(), t.TempDir()}
	put := func(root, box, id string) {
		dir := filepath.Join(root, "mbox", "3f", "a9", box)
		require.NoError(t, os.MkdirAll(dir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, id), nil, 0o600))
	}
	put(roots[0], "box1", idA)
	put(roots[0], "box2", idA) // a second mailbox link on the same backend: still one copy
	put(roots[1], "box1", idA)
	put(roots[0], "box1", idB)
	require.NoError(t, os.WriteFile(filepath.Join(roots[1], "mbox", "3f", "a9", "box1", idB+".tomb"), nil, 0o600))

	counts := replicaCounts(roots)
	require.Equal(t, map[string]int{idA: 2, idB: 1}, counts)
	sends := []SendRecord{{ID: "m1", Outcome: OK}, {ID: "m2", Outcome: OK}}
	copies := []Copy{{UID: idA, ChaosID: "m1"}, {UID: idB, ChaosID: "m2"}}
	require.Equal(t, 1, underReplicated(sends, copies, counts, 2))
	require.Equal(t, 0, underReplicated(sends, copies, counts, 1))
}
