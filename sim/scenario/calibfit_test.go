package scenario

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"powermail/sim/calib"
)

// fixtureResults copies ../testdata/benchrun (one run of the benchmark suite, in
// the shape loadgen/bench writes) to a results directory and returns the
// simulator's output directory below it.
func fixtureResults(t *testing.T) (results, out string) {
	t.Helper()
	results = filepath.Join(t.TempDir(), "results")
	if err := os.CopyFS(results, os.DirFS("../testdata/benchrun")); err != nil {
		t.Fatal(err)
	}
	return results, filepath.Join(results, "sim")
}

// TestCalibrationHeldOut: on one run's points the calibration fits
// costs in their ranges, names the run, and predicts every point from a
// fit that did not see it (6 leave-one-out, 3 from 16 to 32 sessions).
func TestCalibrationHeldOut(t *testing.T) {
	_, out := fixtureResults(t)
	if err := Calibration(opts(out)); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Inputs struct {
			Run RunRef `json:"run"`
		} `json:"inputs"`
		All      Params       `json:"fitted_on_all"`
		HeldOut  []Prediction `json:"held_out"`
		Wrong    []string     `json:"where_the_model_is_wrong"`
		NotFited string       `json:"not_fitted"`
	}
	b, err := os.ReadFile(filepath.Join(out, "calibration.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Inputs.Run.ID != "20261201T090000Z" || got.NotFited != "" {
		t.Fatalf("inputs run %+v, not fitted %q", got.Inputs.Run, got.NotFited)
	}
	if len(got.HeldOut) != 9 || len(got.Wrong) < 3 {
		t.Fatalf("%d predictions, %d notes", len(got.HeldOut), len(got.Wrong))
	}
	for _, p := range append([]Params{got.All}, paramsOf(got.HeldOut)...) {
		if err := p.costs(calib.Default()).CheckRanges(); err != nil {
			t.Error(err)
		}
	}
	for _, p := range got.HeldOut {
		for _, f := range p.Params.FittedOn {
			if f == p.File {
				t.Errorf("%s predicted from a fit that saw it", p.File)
			}
		}
		t.Logf("%-45s R=%d c=%d predicted %5.0f measured %5.0f %+6.1f%%  p50 %5.1f vs %5.1f  flushes %.2f vs %.2f %s",
			p.Scheme, p.R, p.Sessions, p.Predicted, p.Measured, p.ErrorPct, p.PredictedP50, p.MeasuredP50,
			p.PredFlushes, p.MeasFlushes, p.Flag)
	}
	t.Log(strings.Join(got.Wrong, "\n"))
}

func paramsOf(ps []Prediction) []Params {
	var out []Params
	for _, p := range ps {
		out = append(out, p.Params)
	}
	return out
}

// TestCalibrationRefusesMixedRuns: a point from another run makes the
// calibration fail instead of fitting across runs.
func TestCalibrationRefusesMixedRuns(t *testing.T) {
	results, out := fixtureResults(t)
	p := filepath.Join(results, "smtp-throughput-r2-4k-c32.json")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "20261201T090000Z", "20261202T090000Z")), 0o644)
	err := Calibration(opts(out))
	if err == nil || !strings.Contains(err.Error(), "2 runs") {
		t.Fatalf("err = %v, want a refusal naming 2 runs", err)
	}
}

// TestCalibrationWithoutCPU: results written before the suite measured
// per-process CPU give the a-priori model only, and say why.
func TestCalibrationWithoutCPU(t *testing.T) {
	dir := t.TempDir()
	js := `{"params":{"concurrency":16,"redundancy":2},"metrics":{"msgs_per_sec":{"median":300}}}`
	os.WriteFile(filepath.Join(dir, "smtp-throughput-r2-4k.json"), []byte(js), 0o644)
	if err := Calibration(opts(filepath.Join(dir, "sim"))); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "sim", "calibration.json"))
	if !strings.Contains(string(b), `"not_fitted"`) || strings.Contains(string(b), `"held_out"`) {
		t.Errorf("calibration of old results: %s", b)
	}
}

// TestNonNegativeLine: a noisy set whose least-squares line would have a
// negative intercept keeps the mean instead.
func TestNonNegativeLine(t *testing.T) {
	if a, b := nonNegativeLine([]float64{1, 2, 3}, []float64{1.1, 2, 2.9}); a < 0.19 || a > 0.21 || b < 0.89 || b > 0.91 {
		t.Errorf("clean line: a=%v b=%v", a, b)
	}
	if a, b := nonNegativeLine([]float64{1, 2, 3}, []float64{0.1, 1, 2.5}); a <= 0 || b != 0 {
		t.Errorf("negative intercept kept: a=%v b=%v", a, b)
	}
	if a, b := nonNegativeLine([]float64{1, 2, 3}, []float64{3, 2, 1}); a != 2 || b != 0 {
		t.Errorf("negative slope kept: a=%v b=%v", a, b)
	}
}

// TestFitKeepsAReplicaItsCPU: points whose line would leave a replica
// almost no CPU of its own (all of it charged to flushes) keep the mean
// per replica and no flush CPU; the costs stay in their ranges.
func TestFitKeepsAReplicaItsCPU(t *testing.T) {
	var pts []Point
	for r := 1; r <= 3; r++ {
		// Nearly one backend CPU per message whatever R: per replica
		// it falls as 1/R, as do the flushes per replica, so the line
		// is 0.02 ms per replica and 0.6 ms per flush.
		pts = append(pts, Point{File: "x", R: r, Sessions: 8, SMTPCPUMs: 0.7, LoadCPUMs: 0.4,
			BackCPUMs: 1.8 + 0.02*float64(r), FlushesMsg: 3, FlushMs: 3})
	}
	p, err := fitParams(pts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.FlushCPUMs != 0 || p.WriteCPUMs < 1.11 || p.WriteCPUMs > 1.13 {
		t.Errorf("write %v ms, flush %v ms: want the mean 1.12 and no flush CPU", p.WriteCPUMs, p.FlushCPUMs)
	}
}

// The note names the two points at one load whose CPU per replica differ
// most, and stays silent when they agree within 15%.
func TestReplicaSpreadNote(t *testing.T) {
	pt := func(r, sessions int, back, kernel float64) Point {
		return Point{R: r, Sessions: sessions, BackCPUMs: back, KernelCPUMs: kernel}
	}
	apart := []Point{pt(1, 16, 0.5, 0.1), pt(2, 16, 1.3, 0.2), pt(3, 16, 1.7, 0.2), pt(2, 32, 1.0, 0.1)}
	note := replicaSpreadNote(apart)
	for _, want := range []string{"0.60 ms at R=1", "0.75 ms at R=2", "16 sessions", "25% apart"} {
		if !strings.Contains(note, want) {
			t.Errorf("note lacks %q: %s", want, note)
		}
	}
	close := []Point{pt(1, 16, 0.5, 0.1), pt(2, 16, 1.2, 0.1), pt(3, 32, 1.8, 0.1)}
	if note := replicaSpreadNote(close); note != "" {
		t.Errorf("points within 15%% got a note: %s", note)
	}
}
