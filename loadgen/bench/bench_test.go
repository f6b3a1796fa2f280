package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/loadgen/limits"
)

// TestQuickSmallestScenario builds the daemons, runs the quick suite's
// smallest scenario end to end on loopback and validates what it wrote.
func TestQuickSmallestScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	bin := t.TempDir()
	buildDaemons(t, bin)
	out := filepath.Join(t.TempDir(), "results")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const name = "smtp-throughput-r2-4k"
	_, err := Run(ctx, Options{BinDir: bin, OutDir: out, WorkDir: t.TempDir(), Quick: true, Only: []string{name}})
	require.NoError(t, err)

	var r Result
	mustReadJSON(t, filepath.Join(out, name+".json"), &r)
	require.Equal(t, name, r.Scenario)
	require.Equal(t, 1, r.Runs)
	rate := r.Metrics["msgs_per_sec"]
	require.Greater(t, rate.Median, 0.0)
	require.Len(t, rate.Values, 1)
	require.Zero(t, r.Metrics["failed"].Median)
	require.Greater(t, r.Metrics["p99_ms"].Median, 0.0)
	require.NotEmpty(t, r.Run.ID, "names its run")
	// What the simulator's calibration reads (sim/scenario/calibfit.go).
	for _, k := range []string{"cpu_us_per_msg_powersmtp", "cpu_us_per_msg_pplisteners", "loadgen_cpu_us_per_msg"} {
		require.Contains(t, r.Metrics, k)
	}
	require.NotEmpty(t, r.Limits, "related to a machine limit")
	for _, l := range r.Limits {
		require.Greater(t, l.Fraction, 0.0)
	}

	var m map[string]any
	mustReadJSON(t, filepath.Join(out, "machine.json"), &m)
	require.NotZero(t, m["cpus"])
	mustReadJSON(t, filepath.Join(out, "limits.json"), &m)
	require.NotEmpty(t, m["fsync_4k_create"])
	svg, err := os.ReadFile(filepath.Join(out, "smtp-throughput.svg"))
	require.NoError(t, err)
	require.True(t, strings.Contains(string(svg), "<svg"))
	md, err := os.ReadFile(filepath.Join(out, "summary.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), name)
}

func mustReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, v), path)
}

func buildDaemons(t *testing.T, dir string) {
	t.Helper()
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	require.NoError(t, err)
	cmd := exec.Command("go", "build", "-o", dir+"/", "./impl/cmd/...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(mod)))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// TestQuickAuthFloodScenario runs smtp-under-auth-flood as the quick suite
// does (without the machine limits, which it does not use) and checks its
// result file and its row in the summary: SMTP measured both ways, and a
// flood that really tried logins from the other addresses.
func TestQuickAuthFloodScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	bin := t.TempDir()
	buildDaemons(t, bin)
	out := t.TempDir()
	e := &env{opt: Options{BinDir: bin, OutDir: out, WorkDir: t.TempDir(), Quick: true, Runs: 1, MinIdlePct: defaultMinIdlePct},
		results: map[string]*Result{}, run: newRunInfo(), limits: &limits.Limits{}}
	const name = "smtp-under-auth-flood"
	i := slices.IndexFunc(scenarios(), func(s scenario) bool { return s.name == name })
	require.GreaterOrEqual(t, i, 0, "registered in scenarios(), so make bench runs it")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, e.runScenario(ctx, scenarios()[i]))

	var r Result
	mustReadJSON(t, filepath.Join(out, name+".json"), &r)
	t.Log(r.headline())
	for _, k := range []string{"p50_ms", "p99_ms", "p50_ms_flood", "p99_ms_flood", "p99_ratio", "flood_attempted_total"} {
		require.Greater(t, r.Metrics[k].Median, 0.0, k)
	}
	require.Zero(t, r.Metrics["failed"].Median, "SMTP without the flood")
	require.Contains(t, r.Metrics, "flood_attempted_per_sec")
	require.Contains(t, r.Metrics, "flood_answered_per_sec")
	require.Contains(t, r.Metrics, "flood_sys_temp")
	ts := e.targets()
	require.Contains(t, e.markdown(ts), name)
	require.True(t, slices.ContainsFunc(ts, func(t Target) bool { return strings.Contains(t.Name, "flood") }))
}

func TestGroupLimitPicksTheWritersInFlight(t *testing.T) {
	rates := []limits.Rate{{Parallel: 16}, {Parallel: 32}, {Parallel: 64}}
	for inFlight, want := range map[int]int{8: 16, 16: 16, 20: 16, 32: 32, 48: 32, 64: 64, 96: 64} {
		if g, ok := groupLimit(rates, inFlight); !ok || g.Parallel != want {
			t.Errorf("groupLimit(%d in flight) = %d, want %d", inFlight, g.Parallel, want)
		}
	}
	if _, ok := groupLimit(nil, 32); ok {
		t.Error("groupLimit of no measurement found one")
	}
}

// fakePoint records the order in which the sweep measures repetitions.
type fakePoint struct {
	name  string
	order *[]string
}

func (p fakePoint) once(_ context.Context, _ *env, i int) (sample, any, error) {
	*p.order = append(*p.order, fmt.Sprintf("%s#%d", p.name, i))
	return sample{"msgs_per_sec": float64(10 + i)}, nil, nil
}

func (p fakePoint) result(_ *env, samples []sample, raw []any) *Result {
	return aggregate(map[string]any{}, samples, raw)
}

// The sweep runs repetition i of every point before repetition i+1 of
// any, so that the machine's drift during a sweep falls on every point
// alike, and each point's file holds all its repetitions.
func TestSweepInterleavesRepetitions(t *testing.T) {
	var order []string
	out := t.TempDir()
	e := &env{opt: Options{OutDir: out, Runs: 3, Quick: true, MinIdlePct: 1}, results: map[string]*Result{}, run: newRunInfo()}
	var points []scenario
	for _, n := range []string{"a", "b"} {
		points = append(points, scenario{name: n, point: fakePoint{n, &order}})
	}
	require.NoError(t, e.runSweep(context.Background(), points))
	assert.Equal(t, []string{"a#0", "b#0", "a#1", "b#1", "a#2", "b#2"}, order)
	var r Result
	mustReadJSON(t, filepath.Join(out, "b.json"), &r)
	assert.Equal(t, 3, r.Runs)
	assert.Equal(t, []float64{10, 11, 12}, r.Metrics["msgs_per_sec"].Values)
}
