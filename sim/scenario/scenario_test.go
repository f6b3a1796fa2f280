package scenario

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"powermail/sim/calib"
	"powermail/sim/cluster"
)

func opts(dir string) Options {
	return Options{OutDir: dir, Seed: 1, Costs: calib.Default(), Quick: true, Budget: 2000}
}

// TestSameSeedSameFiles: two runs with one seed write byte-identical JSON
// and SVG files.
func TestSameSeedSameFiles(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := Calibration(opts(dir)); err != nil {
			t.Fatal(err)
		}
		if err := Durability(opts(dir)); err != nil {
			t.Fatal(err)
		}
	}
	names, _ := filepath.Glob(filepath.Join(a, "*"))
	if len(names) < 5 {
		t.Fatalf("only %d files written: %v", len(names), names)
	}
	for _, pa := range names {
		x, _ := os.ReadFile(pa)
		y, err := os.ReadFile(filepath.Join(b, filepath.Base(pa)))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with the same seed", filepath.Base(pa))
		}
	}
}

// TestReadMeasured reads the benchmark suite's result format.
func TestReadMeasured(t *testing.T) {
	dir := t.TempDir()
	js := `{"scenario":"smtp-throughput-r2-4k","runs":3,"params":{"concurrency":16,"redundancy":2},
	"metrics":{"msgs_per_sec":{"median":1200,"spread_pct":4},"p50_ms":{"median":6.5},"p99_ms":{"median":20}}}`
	os.WriteFile(filepath.Join(dir, "smtp-throughput-r2-4k.json"), []byte(js), 0o644)
	m := readMeasured(dir, 2)
	if m == nil || m.Sessions != 16 || m.MsgPerSec != 1200 || m.P50Ms != 6.5 || m.Runs != 3 {
		t.Fatalf("readMeasured = %+v", m)
	}
	if readMeasured(dir, 3) != nil {
		t.Error("a missing file gave figures")
	}
	p := calibPoint(2, 16, calibResult(1320), m)
	if !p.Measured.Within15Pct || p.Measured.ErrorPct < 9.9 || p.Measured.ErrorPct > 10.1 {
		t.Errorf("error %+v", p.Measured)
	}
}

func calibResult(msgPerSec float64) (r cluster.Result) {
	r.ThroughputMsgS = msgPerSec
	return r
}
