package paper

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The chaos figure sums each fault class over its cells: a copy of two
// cells of the matrix gives one bar per class, with what was sent.
func TestChaosFigureFromMatrix(t *testing.T) {
	root := t.TempDir()
	const seedDir = "chaos/matrix-20261201"
	dst := filepath.Join(root, "results", seedDir)
	require.NoError(t, os.MkdirAll(dst, 0o755))
	for _, cell := range []string{"R1W1-disk-loss.json", "R2W2-kill.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "results", seedDir, cell))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, cell), data, 0o644))
	}
	byFault, cells, err := chaosOutcomes(filepath.Join(root, "results"))
	require.NoError(t, err)
	require.Equal(t, 2, cells)
	require.Positive(t, byFault["disk-loss"]["lost"], "R=1 disk loss loses mail, as that cell expects")
	require.Zero(t, byFault["kill"]["lost"])

	require.NoError(t, WritePlots(root))
	svg, err := os.ReadFile(filepath.Join(root, "results", ChaosFigure))
	require.NoError(t, err)
	for _, text := range []string{"disk-loss", "kill", "2 cells"} {
		require.True(t, strings.Contains(string(svg), text), "figure lacks %q", text)
	}
}

// Fault classes with the same share (every one at 0% not acknowledged,
// say) are drawn in the order of their names, so the figure is the same
// from one make paper to the next.
func TestChaosFigureOrdersTiesByName(t *testing.T) {
	byFault := map[string]map[string]float64{}
	for _, f := range []string{"pause", "slow-disk", "clock-back", "clock-forward", "kill", "disk-full"} {
		byFault[f] = map[string]float64{"acked": 100}
	}
	for range 10 {
		p, err := chaosPlot(byFault, 6)
		require.NoError(t, err)
		var labels []string
		for _, tick := range p.Y.Tick.Marker.Ticks(0, 5) {
			labels = append(labels, strings.Fields(tick.Label)[0])
		}
		require.Equal(t, []string{"clock-back", "clock-forward", "disk-full", "kill", "pause", "slow-disk"}, labels)
	}
}
