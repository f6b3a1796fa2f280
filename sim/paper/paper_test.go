package paper

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fixture(t *testing.T) string {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "results"), 0o755))
	limits := `{"machine":{"load_avg_1m":0.5,"note":"quiet"},
		"fsync_4k_create":[{"parallel":1,"ops_per_sec":1650.4}],
		"loopback_tcp":[{"parallel":8,"mb_per_sec":3000}],
		"sendfile":[{"file_bytes":524288,"conns":8,"requests_per_sec":5000,"mb_per_sec":2800}]}`
	require.NoError(t, os.WriteFile(filepath.Join(root, "results", "limits.json"), []byte(limits), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "results", "fig.svg"), []byte("<svg/>"), 0o644))
	return root
}

func TestRenderRebuildsBlocks(t *testing.T) {
	root := fixture(t)
	in := "# P\n<!-- gen:limits -->\nstale text\n<!-- /gen:limits -->\n![f](results/fig.svg)\n"
	out, err := Render(in, root)
	require.NoError(t, err)
	assert.NotContains(t, out, "stale text")
	assert.Contains(t, out, "| create + write 4 KiB + fsync file + fsync dir | 1 writers | 1650 ops/s |")
	assert.Contains(t, out, "Generated from `results/limits.json`")
	again, err := Render(out, root)
	require.NoError(t, err)
	assert.Equal(t, out, again, "rendering is idempotent")
}

func TestRenderFailsOnMissingInputs(t *testing.T) {
	root := fixture(t)
	for name, in := range map[string]string{
		"missing input":     "<!-- gen:targets -->\n<!-- /gen:targets -->\n",
		"unknown generator": "<!-- gen:nonsense -->\n<!-- /gen:nonsense -->\n",
		"mismatched block":  "<!-- gen:limits -->\n<!-- /gen:smtp -->\n",
		"missing figure":    "![f](results/missing.svg)\n",
	} {
		_, err := Render(in, root)
		assert.Error(t, err, name)
	}
}

func TestFmtNum(t *testing.T) {
	for f, want := range map[float64]string{0: "0", 2: "2", 1650.4: "1650", 27.93: "27.9", 0.223: "0.22", 0.0012: "0.0012"} {
		assert.Equal(t, want, fmtNum(f))
	}
}

func TestInlineFigures(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "results"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "results", "x.json"), []byte(`{"a":{"b":[1.5,2345]}}`), 0o644))
	out, err := Render("rate <!-- v:x.json:a.b.1 -->old<!-- /v --> msg/s, share <!-- v:x.json:a.b.0*10 -->?<!-- /v -->%", root)
	require.NoError(t, err)
	assert.Equal(t, "rate <!-- v:x.json:a.b.1 -->2345<!-- /v --> msg/s, share <!-- v:x.json:a.b.0*10 -->15<!-- /v -->%", out)
	_, err = Render("<!-- v:x.json:a.c -->1<!-- /v -->", root)
	assert.Error(t, err, "a path that names no number")
	assert.Len(t, bareFigures("we reached 1,234 msg/s, 3.1x Postfix"), 2)
	assert.Empty(t, bareFigures("RFC 5321 section 4.5.3.1, R=2, 2003, <!-- v:x.json:a -->7<!-- /v --> msg/s"))
}
