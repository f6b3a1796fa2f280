package paper

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"powermail/sim/calib"
	"powermail/sim/scenario"
)

var (
	calibOnce    sync.Once
	calibResults string // one run's benchmark files and the calibration fitted on them
	calibErr     error
)

// calibrated returns a fresh copy of a results directory holding the
// benchmark files of one run (../testdata/benchrun) and the calibration
// that make sim fits on them.
func calibrated(t *testing.T) string {
	calibOnce.Do(func() {
		dir, err := os.MkdirTemp("", "paper-calib-")
		if err != nil {
			calibErr = err
			return
		}
		calibResults = filepath.Join(dir, "results")
		if calibErr = os.CopyFS(calibResults, os.DirFS("../testdata/benchrun")); calibErr != nil {
			return
		}
		calibErr = scenario.Calibration(scenario.Options{OutDir: filepath.Join(calibResults, "sim"), Seed: 1,
			Costs: calib.Default(), Quick: true})
	})
	require.NoError(t, calibErr)
	out := filepath.Join(t.TempDir(), "results")
	require.NoError(t, os.CopyFS(out, os.DirFS(calibResults)))
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if calibResults != "" {
		os.RemoveAll(filepath.Dir(calibResults))
	}
	os.Exit(code)
}

// edit rewrites one JSON file of results through f.
func edit(t *testing.T, results, name string, f func(object)) {
	p := filepath.Join(results, name)
	o, err := load(results, name)
	require.NoError(t, err)
	f(o)
	b, err := json.Marshal(o)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, b, 0o644))
}

// TestCalibrationTableFromItsFiles: a calibration fitted on the run beside
// it renders, with the measured figures of the benchmark files.
func TestCalibrationTableFromItsFiles(t *testing.T) {
	out, err := simCalibration(calibrated(t))
	require.NoError(t, err)
	require.Contains(t, out, "| leave-one-out | 2 | 16 |")
	require.Contains(t, out, "| 1310 |", "R=2's measured rate, from smtp-throughput-r2-4k.json")
	require.Contains(t, out, "Where the model is wrong")
}

// TestCalibrationThatDoesNotBelongFails: each way a calibration can
// disagree with the files beside it fails the paper's build.
func TestCalibrationThatDoesNotBelongFails(t *testing.T) {
	for name, spoil := range map[string]func(t *testing.T, results string){
		"a benchmark file from another run": func(t *testing.T, results string) {
			edit(t, results, "smtp-throughput-r3-4k-c32.json", func(o object) { o["run"].(object)["id"] = "20261224T000000Z" })
		},
		"limits.json from another run": func(t *testing.T, results string) {
			edit(t, results, "limits.json", func(o object) { delete(o, "run") })
		},
		"a measured figure changed since the fit": func(t *testing.T, results string) {
			edit(t, results, "smtp-throughput-r2-4k.json", func(o object) {
				get(o, "metrics", "msgs_per_sec").(object)["median"] = 1311.0
			})
		},
		"a negative CPU cost": func(t *testing.T, results string) {
			edit(t, results, "sim/calibration.json", func(o object) { o["fitted_on_all"].(object)["write_cpu_ms"] = -0.38 })
		},
		"an implausible flush": func(t *testing.T, results string) {
			edit(t, results, "sim/calibration.json", func(o object) {
				get(o, "held_out", "0", "params").(object)["write_flush_ms"] = 500.0
			})
		},
		"a calibration that predates its inputs record": func(t *testing.T, results string) {
			edit(t, results, "sim/calibration.json", func(o object) { delete(o, "inputs") })
		},
	} {
		t.Run(name, func(t *testing.T) {
			results := calibrated(t)
			spoil(t, results)
			_, err := simCalibration(results)
			require.Error(t, err)
			t.Log(err)
		})
	}
}

// TestCalibrationOfUnnamedRun: a calibration whose inputs named no run
// (the suite before issue 17 recorded none) has no run to compare, so
// only its figures and ranges are checked.
func TestCalibrationOfUnnamedRun(t *testing.T) {
	results := calibrated(t)
	edit(t, results, "sim/calibration.json", func(o object) { o["inputs"].(object)["run"] = object{"id": ""} })
	edit(t, results, "limits.json", func(o object) { delete(o, "run") })
	_, err := simCalibration(results)
	require.NoError(t, err)
}
