package bench

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"powermail/loadgen/limits"
)

// Target is one performance target of issue 6 checked against this run.
type Target struct {
	Name     string  `json:"name"`
	Goal     string  `json:"goal"`
	Measured float64 `json:"measured"`
	Met      bool    `json:"met"`
	Detail   string  `json:"detail"`
}

// targets checks the targets that need no peer (the peer ratios are
// written by bench-peers into peers.json).
func (e *env) targets() []Target {
	var ts []Target
	if r, ok := e.results["smtp-100-rcpts"]; ok {
		f, p := r.median("files"), r.median("prepares")
		ts = append(ts, Target{"100 recipients at R=2: files", "== 2", f, f == 2,
			fmt.Sprintf("%.0f files, %.0f PREPAREs, %.0f bytes to backends for a %.0f-byte message",
				f, p, r.median("bytes_to_backends"), r.median("message_bytes"))})
		ts = append(ts, Target{"100 recipients at R=2: transfers", "== 2", p, p == 2, "PREPARE count on all backends"})
	}
	if r, ok := e.results["smtp-latency"]; ok {
		if st, ok := r.Metrics["p99_ms@0.50"]; ok {
			ts = append(ts, Target{"p99 accept latency at half the maximum rate", "< 10 ms", st.Median, st.Median < 10,
				fmt.Sprintf("offered %.0f/s of a %.0f/s maximum", r.median("offered_per_sec@0.50"), r.Params["max_rate_per_sec"])})
		}
	}
	if r, ok := e.results["smtp-under-auth-flood"]; ok {
		// Issue 14: a password-guessing flood must not delay SMTP delivery
		// beyond its normal latency; 1.5x leaves room for the noise of p99.
		ratio := r.median("p99_ratio")
		ts = append(ts, Target{"SMTP p99 under a wrong-password POP3 flood vs without", "<= 1.5x", ratio, ratio > 0 && ratio <= 1.5,
			fmt.Sprintf("p99 %.1f ms vs %.1f ms; flood %.0f logins/s tried, %.0f/s answered, %.0f -ERR [SYS/TEMP]",
				r.median("p99_ms_flood"), r.median("p99_ms"), r.median("flood_attempted_per_sec"),
				r.median("flood_answered_per_sec"), r.median("flood_sys_temp"))})
	}
	if r, ok := e.results["pop3-retr-512k"]; ok {
		for _, l := range r.Limits {
			if strings.HasPrefix(l.Metric, "mb_per_sec") {
				ts = append(ts, Target{"512 KiB RETR vs loopback sendfile (" + l.Metric + ")", ">= 0.70", l.Fraction, l.Fraction >= 0.7,
					fmt.Sprintf("%.0f MB/s of %.0f MB/s", r.median(l.Metric), l.Value)})
			}
		}
	}
	return ts
}

// writeSummary writes the plots, summary.json and summary.md.
func (e *env) writeSummary() error {
	if err := e.writePlots(); err != nil {
		return err
	}
	ts := e.targets()
	if err := writeJSON(filepath.Join(e.opt.OutDir, "summary.json"), map[string]any{
		"quick": e.opt.Quick, "runs": e.opt.Runs, "machine": e.limits.Machine, "targets": ts,
		"run": e.run, "busy": e.busy}); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.opt.OutDir, "summary.md"), []byte(e.markdown(ts)), 0o644)
}

func (e *env) markdown(ts []Target) string {
	var b strings.Builder
	m := e.limits.Machine
	fmt.Fprintf(&b, "# Benchmark summary (%s)\n\n", map[bool]string{true: "bench-quick", false: "bench"}[e.opt.Quick])
	fmt.Fprintf(&b, "Machine: %d x %s, %d GiB, kernel %s, %s, data on %s; load average %.1f at start. %s\n\n",
		m.CPUs, m.CPUModel, m.MemBytes>>30, m.Kernel, m.GoVersion, m.FSType, m.Load1, m.Note)
	fmt.Fprintf(&b, "Run %s, commit %s. Each scenario ran %d time(s) on a machine at least %.0f%% idle before it; "+
		"values are medians, spread = (max-min)/median.\n\n", e.run.ID, e.run.Commit, e.opt.Runs, e.opt.MinIdlePct)
	if e.busy {
		b.WriteString("**Some scenarios ran on a busy machine (see machine_state in their files): these are not results of record.**\n\n")
	}
	b.WriteString(e.limitsTable())
	b.WriteString("\n## Scenarios\n\n| scenario | metric | median | spread | fraction of limit |\n|---|---|---|---|---|\n")
	for _, s := range scenarios() {
		r, ok := e.results[s.name]
		if !ok {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(r.Metrics)) {
			st := r.Metrics[k]
			fmt.Fprintf(&b, "| %s | %s | %.4g | %.0f%% | %s |\n", s.name, k, st.Median, st.SpreadPct, fractionOf(r, k))
		}
	}
	b.WriteString("\n## Targets (issue 6)\n\n| target | goal | measured | met | detail |\n|---|---|---|---|---|\n")
	for _, t := range ts {
		fmt.Fprintf(&b, "| %s | %s | %.3g | %v | %s |\n", t.Name, t.Goal, t.Measured, t.Met, t.Detail)
	}
	b.WriteString(peerSection(e.opt.OutDir))
	return b.String()
}

func fractionOf(r *Result, metric string) string {
	for _, l := range r.Limits {
		if l.Metric == metric {
			return fmt.Sprintf("%.3f of %s (%.4g)", l.Fraction, l.Limit, l.Value)
		}
	}
	return ""
}

func (e *env) limitsTable() string {
	var b strings.Builder
	l := e.limits
	b.WriteString("## Machine limits (measured in this run: limits.json)\n\n| limit | parallel | value |\n|---|---|---|\n")
	for _, r := range l.Fsync {
		fmt.Fprintf(&b, "| create + write 4 KiB + fsync + fsync dir | %d writers | %.0f ops/s |\n", r.Parallel, r.OpsPerSec)
	}
	for _, r := range l.Loopback {
		fmt.Fprintf(&b, "| loopback TCP | %d streams | %.0f MB/s |\n", r.Parallel, r.MBPerSec)
	}
	for _, r := range l.Sendfile {
		fmt.Fprintf(&b, "| sendfile %d KiB files | %d conns | %.0f req/s, %.0f MB/s |\n", r.FileBytes>>10, r.Conns, r.ReqPerSec, r.MBPerSec)
	}
	return b.String()
}

// peerSection renders the ratios written by bench-peers, if any.
func peerSection(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "peers.json"))
	if err != nil {
		return "\nPeers: not measured in this directory (run `make bench-peers`).\n"
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(data, &doc) != nil {
		return "\nPeers: peers.json unreadable.\n"
	}
	var b strings.Builder
	b.WriteString("\n## Peers (peers.json, from `make bench-peers`: alternating runs, medians)\n\n")
	b.WriteString("| workload | metric | ours | theirs | ours / theirs | ours, local-stores / theirs | server CPU us/msg ours, theirs, local |\n|---|---|---|---|---|---|---|\n")
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		var r PeerRatio
		if json.Unmarshal(doc[k], &r) != nil || r.Metric == "" {
			continue
		}
		local := "-"
		if r.OursLocal != nil {
			local = fmt.Sprintf("%.2f (%.4g)", r.RatioLocal, r.OursLocal.Median)
		}
		fmt.Fprintf(&b, "| %s | %s | %.4g (spread %.0f%%) | %.4g (spread %.0f%%) | %.2f | %s | %.0f, %.0f, %.0f |\n",
			k, r.Metric, r.Ours.Median, r.Ours.SpreadPct, r.Theirs.Median, r.Theirs.SpreadPct, r.Ratio, local,
			r.CPU.Ours, r.CPU.Theirs, r.CPU.OursLocal)
	}
	var fan struct{ Files, Recipients int }
	if json.Unmarshal(doc["fanout_100_rcpts_postfix"], &fan) == nil && fan.Recipients > 0 {
		fmt.Fprintf(&b, "\nPostfix stored one message to %d recipients as %d files.\n", fan.Recipients, fan.Files)
	}
	return b.String()
}

// Resummarize rebuilds summary.md, summary.json and the plots from the
// JSON files already in opt.OutDir (after bench-peers, say).
func Resummarize(opt Options) error {
	e := &env{opt: opt, results: map[string]*Result{}, limits: &limits.Limits{}}
	if err := readJSON(filepath.Join(opt.OutDir, "limits.json"), e.limits); err != nil {
		return err
	}
	for _, s := range scenarios() {
		var r Result
		if err := readJSON(filepath.Join(opt.OutDir, s.name+".json"), &r); err != nil {
			continue // not run
		}
		e.results[s.name] = &r
		e.opt.Quick, e.opt.Runs, e.run = r.Quick, r.Runs, r.Run
		e.busy = e.busy || r.Forced
	}
	if e.opt.MinIdlePct == 0 {
		e.opt.MinIdlePct = defaultMinIdlePct
	}
	return e.writeSummary()
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
