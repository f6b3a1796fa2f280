package scenario

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"powermail/sim/calib"
)

// The fit reads what the benchmark suite measured in one run
// (loadgen/bench: smtp.go, proccpu.go) and turns it into costs the model
// can use, then predicts points it was not fitted on. It fits measured
// quantities, not a regression of throughput: the CPU each process used
// per message (from /proc, over the run), the flushes per message (the
// backends' counters) and the mean flush latency (their syncfs histogram;
// without it, the one-writer durable create of limits.json).

// RunRef is the run a benchmark file came from (loadgen/bench RunInfo).
type RunRef struct {
	ID     string `json:"id"`
	Commit string `json:"commit"`
}

// Point is one measured SMTP throughput scenario.
type Point struct {
	File       string  `json:"file"`
	Run        RunRef  `json:"run"`
	R          int     `json:"r"`
	Sessions   int     `json:"sessions"`
	MsgPerSec  float64 `json:"msgs_per_sec"`
	P50Ms      float64 `json:"p50_ms"`
	SpreadPct  float64 `json:"spread_pct"`
	SMTPCPUMs  float64 `json:"powersmtp_powerpop_cpu_ms_per_msg"`
	LoadCPUMs  float64 `json:"loadgen_cpu_ms_per_msg"`
	BackCPUMs  float64 `json:"pplisteners_cpu_ms_per_msg"`
	FlushesMsg float64 `json:"flushes_per_msg"`
	FlushMs    float64 `json:"flush_ms"` // 0: not recorded by this run
	// Busy: the suite found the machine busy before the scenario and
	// wrote it anyway (pmbench -force or -quick).
	Busy bool `json:"machine_busy,omitempty"`
	// KernelCPUMs is the machine's busy CPU per message beyond the
	// processes' own (host_cpu_us_per_msg minus theirs): kernel threads
	// and interrupts, journal commits, write-back and loopback softirqs,
	// work done for the replicas that no process is charged for. The fit
	// adds it to the backends' CPU (0: the run did not record it).
	KernelCPUMs float64 `json:"kernel_cpu_ms_per_msg"`
	// ProcUtil and HostUtil are the shares of the host's cores the
	// measured processes, and the whole machine, used: 1 is CPU-bound.
	ProcUtil float64 `json:"process_cpu_util"`
	HostUtil float64 `json:"host_cpu_util,omitempty"`
}

// calibFiles are the benchmark files of the six (R, sessions) points.
func calibFiles() []string {
	var out []string
	for _, suffix := range []string{"", "-c32"} {
		for r := 1; r <= 3; r++ {
			out = append(out, fmt.Sprintf("smtp-throughput-r%d-4k%s.json", r, suffix))
		}
	}
	return out
}

// readPoints loads every calibration point in resultsDir. A file without
// per-process CPU (written before the suite measured it) is left out and
// named in missing.
func readPoints(resultsDir string, cores int) (pts []Point, missing []string) {
	for _, name := range calibFiles() {
		b, err := os.ReadFile(filepath.Join(resultsDir, name))
		if err != nil {
			missing = append(missing, name+" (absent)")
			continue
		}
		var f benchResult
		if err := json.Unmarshal(b, &f); err != nil || f.Skipped != "" {
			missing = append(missing, name+" (unreadable or skipped)")
			continue
		}
		med := func(k string) float64 { return f.Metrics[k].Median }
		if med("msgs_per_sec") <= 0 || med("cpu_us_per_msg_powersmtp") <= 0 || med("cpu_us_per_msg_pplisteners") <= 0 {
			missing = append(missing, name+" (no per-process CPU: written before the suite measured it)")
			continue
		}
		p := Point{File: "results/" + name, Run: f.Run, R: paramInt(f.Params, "redundancy"), Sessions: paramInt(f.Params, "concurrency"),
			MsgPerSec: med("msgs_per_sec"), P50Ms: med("p50_ms"), SpreadPct: f.Metrics["msgs_per_sec"].SpreadPct,
			SMTPCPUMs: (med("cpu_us_per_msg_powersmtp") + med("cpu_us_per_msg_powerpop")) / 1e3,
			LoadCPUMs: med("loadgen_cpu_us_per_msg") / 1e3, BackCPUMs: med("cpu_us_per_msg_pplisteners") / 1e3,
			FlushesMsg: med("flushes_per_msg"), FlushMs: med("flush_ms"), Busy: f.State != nil && !f.State.Quiet}
		procs := p.SMTPCPUMs + p.LoadCPUMs + p.BackCPUMs
		p.ProcUtil = p.MsgPerSec * procs / 1e3 / float64(cores)
		if host := med("host_cpu_us_per_msg") / 1e3; host > 0 {
			p.KernelCPUMs = max(0, host-procs)
			p.HostUtil = p.MsgPerSec * host / 1e3 / float64(cores)
		}
		pts = append(pts, p)
	}
	return pts, missing
}

func paramInt(params map[string]any, key string) int {
	f, _ := params[key].(float64)
	return int(f)
}

// Params are the costs fitted on some points, and where each came from.
type Params struct {
	FittedOn    []string `json:"fitted_on"`
	SMTPCPUMs   float64  `json:"smtp_cpu_ms"`
	LoadCPUMs   float64  `json:"loadgen_cpu_ms"`
	WriteCPUMs  float64  `json:"write_cpu_ms"`
	FlushCPUMs  float64  `json:"flush_cpu_ms"`
	FlushMs     float64  `json:"write_flush_ms"`
	FlushSource string   `json:"write_flush_source"`
}

// fitParams fits the costs to the points train. The front end's and the
// load generator's CPU are the means of what they used per message. A
// backend's CPU per message at R (with the kernel's CPU no process is
// charged for) is R replicas and its share of flushes:
// cpu/R = write + flush_cpu * (flushes/R), fitted by least squares with
// both terms held non-negative (a negative cost is noise, not physics).
func fitParams(train []Point, lim *Limits) (Params, error) {
	p := Params{}
	var xs, ys []float64
	var flushSum float64
	flushN := 0
	for _, t := range train {
		p.FittedOn = append(p.FittedOn, t.File)
		p.SMTPCPUMs += t.SMTPCPUMs / float64(len(train))
		p.LoadCPUMs += t.LoadCPUMs / float64(len(train))
		xs, ys = append(xs, t.FlushesMsg/float64(t.R)), append(ys, (t.BackCPUMs+t.KernelCPUMs)/float64(t.R))
		if t.FlushMs > 0 {
			flushSum, flushN = flushSum+t.FlushMs, flushN+1
		}
	}
	p.WriteCPUMs, p.FlushCPUMs = nonNegativeLine(xs, ys)
	if len(train) < 3 || p.WriteCPUMs < minShareOfReplica*p.meanOf(ys) {
		// Two points fix a line exactly, noise included: too few to
		// split a backend's CPU between replicas and flushes. And a
		// replica's own work (receive, write, link) is never a sliver
		// of its CPU: a line that says so has fitted noise.
		p.WriteCPUMs, p.FlushCPUMs = nonNegativeLine(nil, ys)
	}
	switch {
	case flushN == len(train):
		p.FlushMs, p.FlushSource = flushSum/float64(flushN), "mean syncfs latency measured during the fitted runs (flush_ms)"
	case lim != nil:
		// One writer's durable create is a file fsync and a directory
		// fsync, each a journal commit: half its time is one flush.
		p.FlushMs = 1e3 / (2 * lim.Fsync1OpsS)
		p.FlushSource = "half of one writer's durable 4 KiB create in " + lim.File + " (the run recorded no flush latency)"
	default:
		return p, fmt.Errorf("no flush latency: the runs recorded none and there is no limits.json")
	}
	return p, p.costs(calib.Default()).CheckRanges()
}

// minShareOfReplica is the least share of a backend's CPU per replica
// that the fit may leave to the replica's own work rather than to flushes.
const minShareOfReplica = 0.25

func (Params) meanOf(ys []float64) float64 {
	sum := 0.0
	for _, y := range ys {
		sum += y
	}
	return sum / float64(len(ys))
}

// nonNegativeLine fits y = a + b*x by least squares when that gives a > 0
// and b >= 0; otherwise (a noisy machine, or x the same at every point)
// it keeps only the mean of y. A replica always costs some CPU, so a fit
// that puts all of it into the flushes is no better than none.
func nonNegativeLine(xs, ys []float64) (a, b float64) {
	n := float64(len(ys))
	var sx, sy, sxx, sxy float64
	for i, y := range ys {
		x := 0.0
		if i < len(xs) {
			x = xs[i]
		}
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	if d := n*sxx - sx*sx; sxx > 0 && d > 1e-9*n*sxx {
		b = (n*sxy - sx*sy) / d
		a = (sy - b*sx) / n
		if a > 0 && b >= 0 {
			return a, b
		}
	}
	return sy / n, 0
}

// costs are base with the fitted parameters: the group-commit model.
func (p Params) costs(base calib.Costs) calib.Costs {
	c := base
	c.Source = "fitted to " + fmt.Sprint(p.FittedOn)
	c.SMTPCPUMs, c.LoadgenCPUMs, c.WriteCPUMs, c.WriteCPUPerKiBMs = p.SMTPCPUMs, p.LoadCPUMs, p.WriteCPUMs, 0
	c.FlushCPUMs, c.WriteFlushMs, c.FlushesPerWrite = p.FlushCPUMs, p.FlushMs, 2
	return c
}

// Limits is the part of the benchmark suite's limits.json the fit uses:
// the durable 4 KiB create rate measured in the same run as the SMTP
// figures, and the run.
type Limits struct {
	File       string  `json:"file"`
	Run        RunRef  `json:"run"`
	Fsync1OpsS float64 `json:"fsync_4k_create_1_writer_ops_per_sec"`
}

func readLimits(resultsDir string) *Limits {
	b, err := os.ReadFile(filepath.Join(resultsDir, "limits.json"))
	if err != nil {
		return nil
	}
	var l struct {
		Run   RunRef `json:"run"`
		Fsync []struct {
			Parallel int     `json:"parallel"`
			OpsPerS  float64 `json:"ops_per_sec"`
		} `json:"fsync_4k_create"`
	}
	if json.Unmarshal(b, &l) != nil {
		return nil
	}
	out := &Limits{File: "results/limits.json", Run: l.Run}
	for _, f := range l.Fsync {
		if f.Parallel == 1 {
			out.Fsync1OpsS = f.OpsPerS
		}
	}
	if out.Fsync1OpsS <= 0 {
		return nil
	}
	return out
}
