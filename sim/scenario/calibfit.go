package scenario

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"

	"powermail/sim/calib"
)

// Limits is the part of the benchmark suite's limits.json the fit uses: the
// durable 4 KiB create rate measured in the same run as the SMTP figures.
type Limits struct {
	File       string  `json:"file"`
	Fsync1OpsS float64 `json:"fsync_4k_create_1_writer_ops_per_sec"`
	Fsync8OpsS float64 `json:"fsync_4k_create_8_writers_ops_per_sec"`
	LoadAvg    float64 `json:"load_avg_1m"`
}

func readLimits(resultsDir string) *Limits {
	b, err := os.ReadFile(filepath.Join(resultsDir, "limits.json"))
	if err != nil {
		return nil
	}
	var l struct {
		Machine struct {
			Load float64 `json:"load_avg_1m"`
		} `json:"machine"`
		Fsync []struct {
			Parallel int     `json:"parallel"`
			OpsPerS  float64 `json:"ops_per_sec"`
		} `json:"fsync_4k_create"`
	}
	if json.Unmarshal(b, &l) != nil {
		return nil
	}
	out := &Limits{File: "results/limits.json", LoadAvg: l.Machine.Load}
	for _, f := range l.Fsync {
		switch f.Parallel {
		case 1:
			out.Fsync1OpsS = f.OpsPerS
		case 8:
			out.Fsync8OpsS = f.OpsPerS
		}
	}
	if out.Fsync1OpsS <= 0 || out.Fsync8OpsS <= 0 {
		return nil
	}
	return out
}

// Fit is a calibration fitted to measured throughputs: at saturation a
// closed loop keeps the host's cores busy, so cores/X(R) = a + R*b, with a
// the CPU per message outside the backends (SMTP front end, loadgen, TCP
// set-up) and b the CPU per replica (backend protocol, file creation,
// fsync's kernel work). The flush latency comes from the measured limits:
// one writer's create time minus the CPU share (8 writers).
type Fit struct {
	FittedOn      []int   `json:"fitted_on_r"`
	PerMessageMs  float64 `json:"per_message_cpu_ms"`
	PerReplicaMs  float64 `json:"per_replica_cpu_ms"`
	FlushMs       float64 `json:"flush_ms"`
	PredictR      int     `json:"predicts_r"`
	Predicted     float64 `json:"predicted_msgs_per_sec"`
	PredictedP50  float64 `json:"predicted_p50_ms"`
	Measured      float64 `json:"measured_msgs_per_sec"`
	MeasuredP50   float64 `json:"measured_p50_ms"`
	ErrorPct      float64 `json:"throughput_error_pct"`
	P50ErrorPct   float64 `json:"p50_error_pct"`
	Within15Pct   bool    `json:"throughput_within_15pct"`
	MeasuredNoise float64 `json:"measured_spread_pct"`
}

// fitLine fits h = a + R*b through the measured points (least squares).
func fitLine(rs []int, hs []float64) (a, b float64) {
	var sx, sy, sxx, sxy float64
	n := float64(len(rs))
	for i, r := range rs {
		x := float64(r)
		sx, sy, sxx, sxy = sx+x, sy+hs[i], sxx+x*x, sxy+x*hs[i]
	}
	b = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return (sy - b*sx) / n, b
}

// fittedCosts turns a fit into calibration costs for the shared host.
func fittedCosts(base calib.Costs, a, b, flushMs float64) calib.Costs {
	c := base
	c.Source = "fitted to results/smtp-throughput-r*-4k.json and results/limits.json"
	c.SMTPCPUMs, c.WriteCPUMs, c.WriteCPUPerKiBMs, c.WriteFlushMs = math.Max(a, 0), b, 0, flushMs
	return c
}

// leaveOneOut fits on every measured R but one and predicts that one: an
// out-of-sample check of the model with two fitted parameters.
func leaveOneOut(o Options, ms map[int]*Measured, lim *Limits) ([]Fit, error) {
	cores := float64(o.Costs.HostCPUs)
	flush := math.Max(0, 1e3/lim.Fsync1OpsS-1e3*cores/lim.Fsync8OpsS)
	var fits []Fit
	for _, target := range []int{1, 2, 3} {
		var rs []int
		var hs []float64
		for _, r := range []int{1, 2, 3} {
			if m := ms[r]; m != nil && r != target {
				rs, hs = append(rs, r), append(hs, 1e3*cores/m.MsgPerSec)
			}
		}
		m := ms[target]
		if m == nil || len(rs) < 2 {
			continue
		}
		a, b := fitLine(rs, hs)
		oo := o
		oo.Costs = fittedCosts(o.Costs, a, b, flush)
		res, err := calibRun(oo, target, m.Sessions)
		if err != nil {
			return nil, err
		}
		f := Fit{FittedOn: rs, PerMessageMs: a, PerReplicaMs: b, FlushMs: flush, PredictR: target,
			Predicted: res.ThroughputMsgS, PredictedP50: res.Deliver.P50Ms, Measured: m.MsgPerSec,
			MeasuredP50: m.P50Ms, MeasuredNoise: m.SpreadPct}
		f.ErrorPct = 100 * (f.Predicted - f.Measured) / f.Measured
		if m.P50Ms > 0 {
			f.P50ErrorPct = 100 * (f.PredictedP50 - m.P50Ms) / m.P50Ms
		}
		f.Within15Pct = math.Abs(f.ErrorPct) <= 15
		fits = append(fits, f)
		o.logf("calibration fit on R=%v predicts R=%d: %.0f msg/s vs %.0f measured (%+.1f%%)", rs, target, f.Predicted, f.Measured, f.ErrorPct)
	}
	return fits, nil
}
