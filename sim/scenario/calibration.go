package scenario

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"powermail/sim/calib"
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

// Calibration fits the model to the benchmark suite's SMTP runs of one run
// of record and predicts each measured point from a fit that did not see
// it (calibfit.go, heldout.go). It also runs the a-priori costs (calib.json
// or -calib) for comparison. Inputs from different runs are refused: a
// calibration must name the one run it was fitted on.
func Calibration(o Options) error {
	resultsDir := filepath.Dir(o.OutDir)
	out := map[string]any{"scenario": "calibration", "model": calibModelNote}
	prior, err := aPriori(o, resultsDir)
	if err != nil {
		return err
	}
	out["a_priori"] = prior
	lim := readLimits(resultsDir)
	pts, missing := readPoints(resultsDir, o.Costs.HostCPUs)
	run, err := inputsRun(pts, lim)
	if err != nil {
		return err
	}
	out["inputs"] = map[string]any{"run": run, "points": len(pts), "left_out": missing}
	var preds []Prediction
	switch {
	case len(pts) < 3:
		out["not_fitted"] = fmt.Sprintf("%d measured points with per-process CPU (need 3): %v", len(pts), missing)
	default:
		all, err := fitParams(pts, lim)
		if err != nil {
			return fmt.Errorf("calibration: fit on every point: %w", err)
		}
		if preds, err = heldOut(o, pts, lim); err != nil {
			return err
		}
		out["measured"], out["fitted_on_all"], out["held_out"] = pts, all, preds
		out["where_the_model_is_wrong"] = whereWrong(pts, preds)
		out["parameter_ranges"] = calib.Ranges
	}
	if err := writeJSON(o.OutDir, "calibration", out); err != nil {
		return err
	}
	return calibChart(o, preds, prior.Points)
}

// inputsRun is the one run every input came from; inputs from several
// runs are an error (re-run the suite, then make sim).
func inputsRun(pts []Point, lim *Limits) (RunRef, error) {
	runs := map[RunRef][]string{}
	for _, p := range pts {
		runs[p.Run] = append(runs[p.Run], p.File)
	}
	if lim != nil && len(pts) > 0 {
		runs[lim.Run] = append(runs[lim.Run], lim.File)
	}
	if len(runs) > 1 {
		return RunRef{}, fmt.Errorf("calibration: inputs come from %d runs of the benchmark suite: %v; "+
			"run make bench and then make sim", len(runs), runs)
	}
	for r := range runs {
		return r, nil
	}
	return RunRef{}, nil
}

// Prior is the model run with the a-priori costs (no fit).
type Prior struct {
	Source string       `json:"source"`
	Costs  calib.Costs  `json:"costs"`
	Points []CalibPoint `json:"points"`
	Sweep  []SweepPoint `json:"sessions_sweep_r2"`
}

func aPriori(o Options, resultsDir string) (Prior, error) {
	pr := Prior{Source: o.Costs.Source, Costs: o.Costs}
	for _, r := range []int{1, 2, 3} {
		m := readMeasured(resultsDir, r)
		sessions := calibSessions
		if m != nil && m.Sessions > 0 {
			sessions = m.Sessions
		}
		res, err := calibRun(o, r, sessions)
		if err != nil {
			return pr, err
		}
		pr.Points = append(pr.Points, calibPoint(r, sessions, res, m))
	}
	var err error
	pr.Sweep, err = calibSweep(o)
	return pr, err
}

const calibModelNote = "one host station with host_cpus servers shared by the 3 backends, the SMTP front end and the load " +
	"generator; a message costs smtp_cpu_ms + loadgen_cpu_ms on it, then each of its R replicas write_cpu_ms in two " +
	"halves, each followed by a wait for its backend's group-commit flush (write_flush_ms of device time and " +
	"flush_cpu_ms of CPU, shared by every replica that became ready while the previous flush ran); 250 after W " +
	"replicas; each session sends its next message when answered"

func calibConfig(o Options, r, sessions int) cluster.Config {
	c := cluster.Defaults()
	c.Seed, c.Costs = o.Seed, o.Costs
	c.Backends, c.Groups, c.SharedHost, c.QueueBroadcast = calibBackends, calibBackends, true, true
	c.R, c.W, c.Sessions, c.Mix = r, r, sessions, workload.Fixed(calibKiB)
	c.Mailboxes, c.LoginRate = 100, 0
	c.Duration, c.Warmup = calibSimSec, calibWarmSec
	c.GroupCommit = o.Costs.FlushesPerWrite > 0
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
	Run     RunRef         `json:"run"`
	State   *struct {
		Quiet bool `json:"quiet"`
	} `json:"machine_state"`
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
	m.Sessions = paramInt(br.Params, "concurrency")
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

func calibChart(o Options, preds []Prediction, points []CalibPoint) error {
	c := chart{Title: "Calibration: SMTP accept rate, 3 backends on one host, 4 KiB, closed loop",
		XLabel: "replicas R (= W)", YLabel: "messages/s", LogY: true}
	prior := series{Name: "model, a-priori costs"}
	for _, p := range points {
		prior.X, prior.Y = append(prior.X, float64(p.R)), append(prior.Y, p.MsgPerSec)
	}
	c.Lines = append(c.Lines, prior)
	bySessions := map[int]*[2]series{}
	var order []int
	for _, p := range preds {
		if p.Scheme != schemeLOO {
			continue
		}
		l := bySessions[p.Sessions]
		if l == nil {
			l = &[2]series{{Name: fmt.Sprintf("measured, %d sessions", p.Sessions)},
				{Name: fmt.Sprintf("model, %d sessions, fitted on the other points", p.Sessions)}}
			bySessions[p.Sessions] = l
			order = append(order, p.Sessions)
		}
		l[0].X, l[0].Y = append(l[0].X, float64(p.R)), append(l[0].Y, p.Measured)
		l[1].X, l[1].Y = append(l[1].X, float64(p.R)), append(l[1].Y, p.Predicted)
	}
	for _, n := range order {
		c.Lines = append(c.Lines, bySessions[n][0], bySessions[n][1])
	}
	return c.save(o.OutDir, "calibration")
}
