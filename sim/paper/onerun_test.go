package paper

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRenderFailsOnMixedRuns: figures quoted from files of two runs fail
// the render; one run, files of no run (results before run ids), and
// peers.json's own run pass.
func TestRenderFailsOnMixedRuns(t *testing.T) {
	root := t.TempDir()
	results := filepath.Join(root, "results")
	require.NoError(t, os.MkdirAll(results, 0o755))
	write := func(name, run string) {
		js := `{"metrics":{"x":{"median":7}}}`
		if run != "" {
			js = `{"run":{"id":"` + run + `"},"metrics":{"x":{"median":7}}}`
		}
		require.NoError(t, os.WriteFile(filepath.Join(results, name), []byte(js), 0o644))
	}
	paper := "a <!-- v:a.json:metrics.x.median -->7<!-- /v --> msg/s, b <!-- v:b.json:metrics.x.median -->7<!-- /v --> msg/s " +
		"(results/a.json, results/b.json, results/peers.json)\n"
	for _, c := range []struct {
		a, b, peers string
		ok          bool
	}{
		{"r1", "r1", "p1", true},
		{"", "", "", true},
		{"r1", "r2", "r1", false},
		{"r1", "", "r1", false},
	} {
		write("a.json", c.a)
		write("b.json", c.b)
		write("peers.json", c.peers)
		_, err := Render(paper, root)
		if c.ok {
			assert.NoError(t, err, "runs %q %q", c.a, c.b)
		} else {
			assert.Error(t, err, "runs %q %q", c.a, c.b)
		}
	}
}
