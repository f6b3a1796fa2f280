package paper

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The committed paper.md equals what its results give: every cited result
// file exists and no generated table was edited by hand or left stale
// (regenerate with make paper).
func TestPaperIsUpToDate(t *testing.T) {
	root := filepath.Join("..", "..")
	old, err := os.ReadFile(filepath.Join(root, "paper.md"))
	require.NoError(t, err)
	out, err := Render(string(old), root)
	require.NoError(t, err)
	require.Equal(t, string(old), out, "paper.md is out of date: run make paper")
}
