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

// No measured figure (a rate, a latency, a ratio) is written into the
// prose by hand: each comes from a result file, through a generated block
// or an inline marker, so the paper cannot drift from what it cites.
func TestPaperStatesNoFigureByHand(t *testing.T) {
	paper, err := os.ReadFile(filepath.Join("..", "..", "paper.md"))
	require.NoError(t, err)
	require.Empty(t, bareFigures(string(paper)), "figures written by hand: cite them with <!-- v:FILE:PATH -->")
}
