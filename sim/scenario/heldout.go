package scenario

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Prediction is the model's figure for one measured point it was not
// fitted on.
type Prediction struct {
	Scheme       string  `json:"scheme"`
	File         string  `json:"file"`
	R            int     `json:"r"`
	Sessions     int     `json:"sessions"`
	Params       Params  `json:"params"`
	Predicted    float64 `json:"predicted_msgs_per_sec"`
	Measured     float64 `json:"measured_msgs_per_sec"`
	ErrorPct     float64 `json:"throughput_error_pct"` // (predicted - measured) / measured
	PredictedP50 float64 `json:"predicted_p50_ms"`
	MeasuredP50  float64 `json:"measured_p50_ms"`
	P50ErrorPct  float64 `json:"p50_error_pct"`
	PredFlushes  float64 `json:"predicted_flushes_per_msg"`
	MeasFlushes  float64 `json:"measured_flushes_per_msg"`
	PredCPUUtil  float64 `json:"predicted_host_cpu_util"`
	Within15Pct  bool    `json:"throughput_within_15pct"`
	Flag         string  `json:"flag,omitempty"`
}

// Held-out schemes: every point predicted from the others, and the 32
// session points predicted from the 16 session ones (an extrapolation in
// load, the harder test).
const (
	schemeLOO   = "leave-one-out"
	schemeLoadX = "fit on the fewest sessions, predict the others"
)

// heldOut predicts every point from fits that did not see it.
func heldOut(o Options, pts []Point, lim *Limits) ([]Prediction, error) {
	var preds []Prediction
	for i, target := range pts {
		train := slices.Delete(slices.Clone(pts), i, i+1)
		p, err := predictFrom(o, schemeLOO, train, target, lim)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	fewest := slices.MinFunc(pts, func(a, b Point) int { return a.Sessions - b.Sessions }).Sessions
	var train, targets []Point
	for _, p := range pts {
		if p.Sessions == fewest {
			train = append(train, p)
		} else {
			targets = append(targets, p)
		}
	}
	for _, target := range targets {
		p, err := predictFrom(o, schemeLoadX, train, target, lim)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	return preds, nil
}

// atLoad keeps the points of train measured with target's sessions when
// there are at least two: CPU per message and flush latency change with
// the load (batching), so the points at the same load are the relevant
// measurements; with fewer, every point of train is used.
func atLoad(train []Point, target Point) []Point {
	var same []Point
	for _, p := range train {
		if p.Sessions == target.Sessions {
			same = append(same, p)
		}
	}
	if len(same) >= 2 {
		return same
	}
	return train
}

func predictFrom(o Options, scheme string, train []Point, target Point, lim *Limits) (Prediction, error) {
	params, err := fitParams(atLoad(train, target), lim)
	if err != nil {
		return Prediction{}, fmt.Errorf("%s, predicting %s: %w", scheme, target.File, err)
	}
	oo := o
	oo.Costs = params.costs(o.Costs)
	res, err := calibRun(oo, target.R, target.Sessions)
	if err != nil {
		return Prediction{}, err
	}
	p := Prediction{Scheme: scheme, File: target.File, R: target.R, Sessions: target.Sessions, Params: params,
		Predicted: res.ThroughputMsgS, Measured: target.MsgPerSec, PredictedP50: res.Deliver.P50Ms,
		MeasuredP50: target.P50Ms, PredFlushes: res.FlushesPerMsg, MeasFlushes: target.FlushesMsg, PredCPUUtil: res.UtilMax}
	p.ErrorPct = 100 * (p.Predicted - p.Measured) / p.Measured
	if p.MeasuredP50 > 0 {
		p.P50ErrorPct = 100 * (p.PredictedP50 - p.MeasuredP50) / p.MeasuredP50
	}
	p.Within15Pct = math.Abs(p.ErrorPct) <= 15
	if !p.Within15Pct {
		p.Flag = "throughput off by more than 15%"
	}
	o.logf("calibration %s: R=%d c=%d predicted %.0f msg/s, measured %.0f (%+.1f%%)", scheme, p.R, p.Sessions,
		p.Predicted, p.Measured, p.ErrorPct)
	return p, nil
}

// whereWrong says, from the data, where the model misses and why. The
// first sentences hold whatever the points show; the rest are the
// model's known simplifications, each with the sign of error it causes.
func whereWrong(pts []Point, preds []Prediction) []string {
	var out []string
	worst := slices.MaxFunc(preds, func(a, b Prediction) int {
		return cmp.Compare(math.Abs(a.ErrorPct), math.Abs(b.ErrorPct))
	})
	over := 0
	for _, p := range preds {
		if !p.Within15Pct {
			over++
		}
	}
	out = append(out, fmt.Sprintf("%d of %d held-out predictions are off by more than 15%%; the worst is R=%d with %d sessions, %+.1f%% (%s).",
		over, len(preds), worst.R, worst.Sessions, worst.ErrorPct, worst.Scheme))
	if note := replicaSpreadNote(pts); note != "" {
		out = append(out, note)
	}
	if lo, hi := cpuTrend(pts); lo > 0 {
		out = append(out, cpuTrendNote(hi/lo))
	}
	if busy := slices.DeleteFunc(slices.Clone(pts), func(p Point) bool { return !p.Busy }); len(busy) > 0 {
		out = append(out, fmt.Sprintf("%d of the %d points were measured on a busy machine (written with -force or -quick): "+
			"other programs' CPU and I/O are in those figures and not in the model, which over-predicts them.", len(busy), len(pts)))
	}
	if !slices.ContainsFunc(pts, func(p Point) bool { return p.FlushesMsg > 0 }) {
		out = append(out, "No group flush was counted: the backends ran flush mode fsync (a file system where syncfs is "+
			"not trusted), whose flushes are per-directory fsyncs shared only by writers of one mailbox; the model's "+
			"group commit per backend shares them more widely and over-predicts.")
	}
	out = append(out, utilNote(pts),
		"The three backends share one file system, so a syncfs of one also writes the others' dirty data: the real flush "+
			"grows with the load of all three, the model's flush latency is one mean for every load.",
		"CPU times are drawn from exponential distributions and every flush takes the mean: the real spread of "+
			"both is unknown to the model, and it sets the queues, and so the p50, more than the rate.")
	return out
}

// utilNote says how busy the host was, and what of it the model sees.
func utilNote(pts []Point) string {
	top := slices.MaxFunc(pts, func(a, b Point) int { return cmp.Compare(a.ProcUtil, b.ProcUtil) })
	if top.HostUtil == 0 {
		return fmt.Sprintf("The measured processes used at most %.0f%% of the host's cores and the run recorded no "+
			"machine-wide CPU: kernel threads no process is charged for (journal commits, write-back, loopback "+
			"softirqs) are not in the model, which gives the processes all the cores and so over-predicts where "+
			"CPU binds.", 100*top.ProcUtil)
	}
	return fmt.Sprintf("At its busiest point (R=%d, %d sessions) the machine was %.0f%% busy, the processes %.0f%%: "+
		"the kernel's share (journal commits, write-back, loopback softirqs) is charged to the backends per replica, "+
		"though part of it is per message or per flush. The remaining idle time is waiting the model explains by "+
		"flushes alone.", top.R, top.Sessions, 100*top.HostUtil, 100*top.ProcUtil)
}

// cpuTrendNote reads the ratio of CPU per message at the most sessions to
// that at the fewest.
func cpuTrendNote(ratio float64) string {
	head := fmt.Sprintf("CPU per message is a constant of the model (apart from the flushes' share); measured, "+
		"all processes and the kernel together, it is %.0f%% at the most sessions of what it is at the fewest", 100*ratio)
	switch {
	case ratio < 0.95:
		return head + ": busier processes wake less often per message (the Go scheduler and the network poller " +
			"batch work), so a fit on few sessions under-predicts the rate at many."
	case ratio > 1.05:
		return head + ": more sessions cost more per message (contention, cache misses), so a fit on few " +
			"sessions over-predicts the rate at many."
	}
	return head + ", as the model assumes."
}

// cpuTrend is the mean CPU per message at the fewest and at the most
// sessions (0, 0 with one level of concurrency).
func cpuTrend(pts []Point) (fewest, most float64) {
	lo := slices.MinFunc(pts, func(a, b Point) int { return a.Sessions - b.Sessions }).Sessions
	hi := slices.MaxFunc(pts, func(a, b Point) int { return a.Sessions - b.Sessions }).Sessions
	if lo == hi {
		return 0, 0
	}
	var nl, nh float64
	for _, p := range pts {
		cpu := p.SMTPCPUMs + p.LoadCPUMs + p.BackCPUMs + p.KernelCPUMs
		switch p.Sessions {
		case lo:
			fewest, nl = fewest+cpu, nl+1
		case hi:
			most, nh = most+cpu, nh+1
		}
	}
	return fewest / nl, most / nh
}

// replicaSpreadNote compares a replica's CPU (a backend's, with the
// kernel's share, per copy) between the points measured at the same
// sessions. The model gives every R one cost per replica; when the
// measurements at one load differ by more than the 15% a prediction may
// miss, a point predicted from the others misses by about as much, and
// the difference is the machine's, not the model's, unless it repeats
// from run to run (this VM's speed drifts by tens of percent within
// minutes, and which R looks dear changes between runs).
func replicaSpreadNote(pts []Point) string {
	bySessions := map[int][]Point{}
	for _, p := range pts {
		bySessions[p.Sessions] = append(bySessions[p.Sessions], p)
	}
	worst, ratio := []Point(nil), 1.0
	for _, same := range bySessions {
		lo := slices.MinFunc(same, func(a, b Point) int { return cmp.Compare(replicaCPU(a), replicaCPU(b)) })
		hi := slices.MaxFunc(same, func(a, b Point) int { return cmp.Compare(replicaCPU(a), replicaCPU(b)) })
		if r := replicaCPU(hi) / replicaCPU(lo); len(same) > 1 && r > ratio {
			worst, ratio = []Point{lo, hi}, r
		}
	}
	if ratio <= 1.15 {
		return ""
	}
	lo, hi := worst[0], worst[1]
	return fmt.Sprintf("A replica's CPU (a backend's and the kernel's, per copy) was %.2f ms at R=%d and %.2f ms at R=%d, "+
		"both with %d sessions: %.0f%% apart, more than the 15%% a held-out prediction may miss. The model has one cost "+
		"per replica for every R, so a point predicted from the others misses by about that much. Only a difference that "+
		"repeats from run to run, with the points' runs interleaved so that the machine's drift (tens of percent within "+
		"minutes here) falls on every point alike, is the code's.",
		replicaCPU(lo), lo.R, replicaCPU(hi), hi.R, lo.Sessions, 100*(ratio-1))
}

// replicaCPU is what fitParams fits per replica at point p.
func replicaCPU(p Point) float64 { return (p.BackCPUMs + p.KernelCPUMs) / float64(p.R) }
