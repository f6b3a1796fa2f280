package scenario

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"powermail/sim/cluster"
	"powermail/sim/workload"
)

// The benchmark suite's SMTP throughput scenario (loadgen/bench): 3
// backends on this one machine, R = W, fixed 4 KiB messages, one recipient,
// closed loop, one message per connection.
const (
	calibBackends = 3
	calibKiB      = 4
	calibSessions = 8 // used when no measured file says otherwise
	calibSimSec   = 20
	calibWarmSec  = 2
)

// Measured is a figure from the benchmark suite's results/ JSON.
type Measured struct {
	File        string  `json:"file"`
	Sessions    int     `json:"sessions"`
	MsgPerSec   float64 `json:"msgs_per_sec_median"`
	P50Ms       float64 `json:"p50_ms_median"`
	P99Ms       float64 `json:"p99_ms_median"`
	Runs        int     `json:"runs"`
	SpreadPct   float64 `json:"spread_pct"`
	ErrorPct    float64 `json:"throughput_error_pct"` // (predicted - measured) / measured
	P50ErrorPct float64 `json:"p50_error_pct"`
	Within15Pct bool    `json:"throughput_within_15pct"`
}

// CalibPoint is the prediction for one R.
type CalibPoint struct {
	R         int       `json:"r"`
	Sessions  int       `json:"sessions"`
	MsgPerSec float64   `json:"predicted_msgs_per_sec"`
	P50Ms     float64   `json:"predicted_p50_ms"`
	P99Ms     float64   `json:"predicted_p99_ms"`
	HostUtil  float64   `json:"predicted_host_cpu_util"`
	Measured  *Measured `json:"measured"`
	Status    string    `json:"status"`
}

// Calibration predicts the benchmark suite's SMTP throughput and latency
// and sets them beside the measured figures when results/ has them.
func Calibration(o Options) error {
	out := map[string]any{"scenario": "calibration", "calibration_source": o.Costs.Source,
		"calibration_inputs": o.Costs, "model": calibModelNote}
	var points []CalibPoint
	measured := map[int]*Measured{}
	for _, r := range []int{1, 2, 3} {
		m := readMeasured(filepath.Dir(o.OutDir), r)
		measured[r] = m
		sessions := calibSessions
		if m != nil && m.Sessions > 0 {
			sessions = m.Sessions
		}
		res, err := calibRun(o, r, sessions)
		if err != nil {
			return err
		}
		points = append(points, calibPoint(r, sessions, res, m))
		o.logf("calibration R=%d sessions=%d: %.0f msg/s predicted, p50 %.2f ms", r, sessions, res.ThroughputMsgS, res.Deliver.P50Ms)
	}
	out["points"] = points
	var fits []Fit
	if lim := readLimits(filepath.Dir(o.OutDir)); lim != nil {
		var err error
		if fits, err = leaveOneOut(o, measured, lim); err != nil {
			return err
		}
		out["limits"], out["leave_one_out"] = lim, fits
		out["leave_one_out_note"] = looNote
	}
	sweep, err := calibSweep(o)
	if err != nil {
		return err
	}
	out["sessions_sweep_r2"] = sweep
	if err := writeJSON(o.OutDir, "calibration", out); err != nil {
		return err
	}
	return calibChart(o, fits, points)
}

const looNote = "a priori costs (calib.json) describe an idle machine; the benchmark ran on a shared one. The fit " +
	"takes the measured accept rates of two replica counts, solves cores/X(R) = a + R*b for the CPU per message (a) and " +
	"per replica (b), runs the model with them and predicts the third replica count: an out-of-sample check. Flush " +
	"latency comes from limits.json of the same run."

const calibModelNote = "one host station with host_cpus servers shared by the 3 backends and the SMTP front end (and loadgen); " +
	"a message costs smtp_cpu_ms on it, then each replica write_cpu_ms (+ per KiB) on it and write_flush_ms of device latency; " +
	"250 after W replicas; sessions send the next message when answered"

func calibConfig(o Options, r, sessions int) cluster.Config {
	c := cluster.Defaults()
	c.Seed, c.Costs = o.Seed, o.Costs
	c.Backends, c.Groups, c.SharedHost, c.QueueBroadcast = calibBackends, calibBackends, true, true
	c.R, c.W, c.Sessions, c.Mix = r, r, sessions, workload.Fixed(calibKiB)
	c.Mailboxes, c.LoginRate = 100, 0
	c.Duration, c.Warmup = calibSimSec, calibWarmSec
	return c
}

func calibRun(o Options, r, sessions int) (cluster.Result, error) {
	s, err := cluster.New(calibConfig(o, r, sessions))
	if err != nil {
		return cluster.Result{}, err
	}
	return s.Run(), nil
}

func calibPoint(r, sessions int, res cluster.Result, m *Measured) CalibPoint {
	p := CalibPoint{R: r, Sessions: sessions, MsgPerSec: res.ThroughputMsgS, P50Ms: res.Deliver.P50Ms,
		P99Ms: res.Deliver.P99Ms, HostUtil: res.UtilMax, Status: "measured figures pending (no results/smtp-throughput-rN-4k.json yet)"}
	if m == nil {
		return p
	}
	m.ErrorPct = 100 * (p.MsgPerSec - m.MsgPerSec) / m.MsgPerSec
	if m.P50Ms > 0 {
		m.P50ErrorPct = 100 * (p.P50Ms - m.P50Ms) / m.P50Ms
	}
	m.Within15Pct = math.Abs(m.ErrorPct) <= 15
	p.Measured = m
	p.Status = fmt.Sprintf("throughput error %+.1f%% (target within 15%%)", m.ErrorPct)
	return p
}

// benchResult is the part of loadgen/bench's Result that calibration reads.
type benchResult struct {
	Params  map[string]any `json:"params"`
	Runs    int            `json:"runs"`
	Skipped string         `json:"skipped"`
	Metrics map[string]struct {
		Median    float64 `json:"median"`
		SpreadPct float64 `json:"spread_pct"`
	} `json:"metrics"`
}

// readMeasured loads resultsDir/smtp-throughput-r<R>-4k.json, or nil.
func readMeasured(resultsDir string, r int) *Measured {
	path := filepath.Join(resultsDir, fmt.Sprintf("smtp-throughput-r%d-4k.json", r))
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var br benchResult
	if json.Unmarshal(b, &br) != nil || br.Skipped != "" || br.Metrics["msgs_per_sec"].Median <= 0 {
		return nil
	}
	m := &Measured{File: filepath.Join("results", filepath.Base(path)), Runs: br.Runs,
		MsgPerSec: br.Metrics["msgs_per_sec"].Median, SpreadPct: br.Metrics["msgs_per_sec"].SpreadPct,
		P50Ms: br.Metrics["p50_ms"].Median, P99Ms: br.Metrics["p99_ms"].Median}
	if c, ok := br.Params["concurrency"].(float64); ok {
		m.Sessions = int(c)
	}
	return m
}

// SweepPoint is the R=2 prediction at one concurrency.
type SweepPoint struct {
	Sessions  int     `json:"sessions"`
	MsgPerSec float64 `json:"predicted_msgs_per_sec"`
	P50Ms     float64 `json:"predicted_p50_ms"`
	P99Ms     float64 `json:"predicted_p99_ms"`
}

func calibSweep(o Options) ([]SweepPoint, error) {
	var out []SweepPoint
	for _, n := range []int{1, 2, 4, 8, 16, 32} {
		res, err := calibRun(o, 2, n)
		if err != nil {
			return nil, err
		}
		out = append(out, SweepPoint{n, res.ThroughputMsgS, res.Deliver.P50Ms, res.Deliver.P99Ms})
	}
	return out, nil
}

func calibChart(o Options, fits []Fit, points []CalibPoint) error {
	c := chart{Title: "Calibration: SMTP accept rate, 3 backends on one host, 4 KiB, closed loop",
		XLabel: "replicas R (= W)", YLabel: "messages/s", LogY: true}
	prior, meas, loo := series{Name: "model, a-priori costs (idle machine)"}, series{Name: "measured (results/)"},
		series{Name: "model, fitted on the other two R"}
	for _, p := range points {
		prior.X, prior.Y = append(prior.X, float64(p.R)), append(prior.Y, p.MsgPerSec)
		if p.Measured != nil {
			meas.X, meas.Y = append(meas.X, float64(p.R)), append(meas.Y, p.Measured.MsgPerSec)
		}
	}
	for _, f := range fits {
		loo.X, loo.Y = append(loo.X, float64(f.PredictR)), append(loo.Y, f.Predicted)
	}
	for _, s := range []series{prior, meas, loo} {
		if len(s.X) > 0 {
			c.Lines = append(c.Lines, s)
		}
	}
	return c.save(o.OutDir, "calibration")
}
