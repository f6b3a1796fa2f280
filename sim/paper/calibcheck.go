package paper

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"powermail/sim/calib"
)

// checkCalibration fails when results/sim/calibration.json cannot be
// quoted beside the benchmark files it claims to describe:
//
//   - it predates the current simulator (no "inputs": make sim);
//   - it names the run it was fitted on, and a benchmark file it reads
//     (limits.json, smtp-throughput-r*-4k*.json) is from another run: the
//     suite was re-run and make sim was not, or the files were mixed;
//   - a measured figure it copied differs from the file it copied it from;
//   - a fitted cost is outside its physical range (calib.Ranges).
func checkCalibration(results string, c object) error {
	inputs := get(c, "inputs")
	if inputs == nil {
		return fmt.Errorf("sim/calibration.json has no inputs: it predates the current simulator; run make sim")
	}
	if run := str(inputs, "run", "id"); run != "" {
		if err := sameRun(results, run); err != nil {
			return err
		}
	}
	copies := append(listOf(c, "measured"), listOf(c, "held_out")...)
	for _, p := range listOf(c, "a_priori", "points") {
		if m := get(p, "measured"); m != nil {
			copies = append(copies, m)
		}
	}
	for _, p := range copies {
		if err := copiedFigures(results, p); err != nil {
			return err
		}
	}
	params := []any{get(c, "fitted_on_all")}
	for _, p := range listOf(c, "held_out") {
		params = append(params, get(p, "params"))
	}
	for _, p := range params {
		if p == nil {
			continue
		}
		if err := inRange(p); err != nil {
			return fmt.Errorf("sim/calibration.json: fit on %v: %w", get(p, "fitted_on"), err)
		}
	}
	return nil
}

// calibInputs are the benchmark files the calibration reads.
var calibInputs = []string{"limits.json",
	"smtp-throughput-r1-4k.json", "smtp-throughput-r2-4k.json", "smtp-throughput-r3-4k.json",
	"smtp-throughput-r1-4k-c32.json", "smtp-throughput-r2-4k-c32.json", "smtp-throughput-r3-4k-c32.json"}

// sameRun: every calibration input present in results is from run.
func sameRun(results, run string) error {
	for _, name := range calibInputs {
		f, err := load(results, name)
		if err != nil {
			continue // not measured in this run: the calibration says which points it had
		}
		if got := str(f, "run", "id"); got != run {
			return fmt.Errorf("sim/calibration.json was fitted on run %q but results/%s is from run %q: "+
				"run make sim after make bench", run, name, orNone(got))
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none recorded)"
	}
	return s
}

// copiedFigures compares the measured figures an entry of calibration.json
// copied with the medians in the file it names.
func copiedFigures(results string, p any) error {
	file := str(p, "file")
	f, err := load(results, strings.TrimPrefix(file, "results/"))
	if err != nil {
		return fmt.Errorf("sim/calibration.json cites %s: %w", file, err)
	}
	for copied, metric := range map[string]string{"msgs_per_sec": "msgs_per_sec", "p50_ms": "p50_ms",
		"measured_msgs_per_sec": "msgs_per_sec", "measured_p50_ms": "p50_ms",
		"msgs_per_sec_median": "msgs_per_sec", "p50_ms_median": "p50_ms"} {
		v, ok := get(p, copied).(float64)
		if !ok {
			continue
		}
		if want := num(f, "metrics", metric, "median"); !same(v, want) {
			return fmt.Errorf("sim/calibration.json says %s = %v for %s, the file says %v: run make sim", copied, v, file, want)
		}
	}
	return nil
}

func same(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

// inRange decodes fitted parameters (named as in calib.Costs) and checks
// their ranges.
func inRange(p any) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var c calib.Costs
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	return c.CheckRanges()
}

// measuredFrom reads a figure of a benchmark file that calibration.json
// names ("results/..."), so the paper prints the file's own figure.
func measuredFrom(results, file, metric string) (float64, error) {
	f, err := load(results, filepath.Clean(strings.TrimPrefix(file, "results/")))
	if err != nil {
		return 0, err
	}
	return num(f, "metrics", metric, "median"), nil
}
