// Package load runs loadgen's workloads against any SMTP or POP3 server and
// summarises them: throughput, latency percentiles (montanaflynn/stats),
// errors by reply code, bytes, and loadgen's own CPU time, so that a reader
// can see the driver was not the bottleneck.
package load

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"syscall"
	"time"

	"github.com/montanaflynn/stats"
)

// Result is the JSON output of one run.
type Result struct {
	Tool       string    `json:"tool"`
	Mode       string    `json:"mode"` // smtp-closed, smtp-open, pop3
	Target     string    `json:"target"`
	Config     any       `json:"config"`
	Start      time.Time `json:"start"`
	ElapsedSec float64   `json:"elapsed_sec"`

	// Ops: accepted messages (SMTP) or completed sessions (POP3).
	Ops           int64   `json:"ops"`
	Failed        int64   `json:"failed"`
	Unsent        int64   `json:"unsent"` // open loop: arrivals still queued when the drain time (the time bound again) ran out
	OpsPerSec     float64 `json:"ops_per_sec"`
	OfferedPerSec float64 `json:"offered_per_sec,omitempty"`

	Messages       int64   `json:"messages"` // accepted (SMTP) or retrieved (POP3)
	MessagesPerSec float64 `json:"messages_per_sec"`
	Recipients     int64   `json:"recipients"`
	Bytes          int64   `json:"bytes"`
	MBPerSec       float64 `json:"mb_per_sec"` // 10^6 bytes

	// Latency: per message from its intended start (SMTP), per session (POP3).
	Latency     Latency        `json:"latency_ms"`
	RetrLatency *Latency       `json:"retr_latency_ms,omitempty"`
	Errors      map[string]int `json:"errors"`
	Verify      *VerifyStats   `json:"verify,omitempty"`
	CPU         CPU            `json:"loadgen_cpu"`
}

// Latency summarises durations in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

// VerifyStats counts content checks of retrieved messages.
type VerifyStats struct {
	Checked    int64  `json:"checked"`
	Corrupt    int64  `json:"corrupt"`
	FirstError string `json:"first_error,omitempty"`
}

// CPU is loadgen's own CPU time during the run (getrusage RUSAGE_SELF).
type CPU struct {
	UserSec      float64 `json:"user_sec"`
	SysSec       float64 `json:"sys_sec"`
	PerMessageUs float64 `json:"per_message_us"`
	// Cores is CPU seconds per wall second: how much of the machine loadgen used.
	Cores float64 `json:"cores"`
}

// Summarize computes the percentiles of ms (sorted in place).
func Summarize(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	slices.Sort(ms)
	l := Latency{Count: len(ms), Max: ms[len(ms)-1]}
	l.Mean, _ = stats.Mean(ms)
	// The input is sorted: stats copies and sorts again, cheap next to a run.
	l.P50, _ = stats.Percentile(ms, 50)
	l.P90, _ = stats.Percentile(ms, 90)
	l.P99, _ = stats.Percentile(ms, 99)
	l.P999, _ = stats.Percentile(ms, 99.9)
	return l
}

func rusage() (user, sys time.Duration) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// cpuMeter measures loadgen's CPU between start and stop.
type cpuMeter struct{ user, sys time.Duration }

func startCPU() cpuMeter {
	u, s := rusage()
	return cpuMeter{u, s}
}

func (m cpuMeter) stop(elapsed time.Duration, messages int64) CPU {
	u, s := rusage()
	c := CPU{UserSec: (u - m.user).Seconds(), SysSec: (s - m.sys).Seconds()}
	if messages > 0 {
		c.PerMessageUs = (c.UserSec + c.SysSec) * 1e6 / float64(messages)
	}
	if elapsed > 0 {
		c.Cores = (c.UserSec + c.SysSec) / elapsed.Seconds()
	}
	return c
}

// finish fills the rates from the counts.
func (r *Result) finish(elapsed time.Duration) {
	r.ElapsedSec = elapsed.Seconds()
	if r.ElapsedSec > 0 {
		r.OpsPerSec = float64(r.Ops) / r.ElapsedSec
		r.MessagesPerSec = float64(r.Messages) / r.ElapsedSec
		r.MBPerSec = float64(r.Bytes) / 1e6 / r.ElapsedSec
	}
}

// WriteSummary prints the human summary.
func (r *Result) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "%s %s: %d ok, %d failed, %d unsent in %.2fs\n", r.Mode, r.Target, r.Ops, r.Failed, r.Unsent, r.ElapsedSec)
	fmt.Fprintf(w, "  throughput %.1f ops/s, %.1f msgs/s, %.2f MB/s", r.OpsPerSec, r.MessagesPerSec, r.MBPerSec)
	if r.OfferedPerSec > 0 {
		fmt.Fprintf(w, " (offered %.1f/s)", r.OfferedPerSec)
	}
	fmt.Fprintln(w)
	writeLatency(w, "latency", r.Latency)
	if r.RetrLatency != nil {
		writeLatency(w, "RETR latency", *r.RetrLatency)
	}
	if r.Verify != nil {
		fmt.Fprintf(w, "  verified %d, corrupt %d %s\n", r.Verify.Checked, r.Verify.Corrupt, r.Verify.FirstError)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		fmt.Fprintf(w, "  error %-12s %d\n", k, r.Errors[k])
	}
	fmt.Fprintf(w, "  loadgen CPU %.2fs user + %.2fs sys = %.1f us/message (%.2f cores)\n",
		r.CPU.UserSec, r.CPU.SysSec, r.CPU.PerMessageUs, r.CPU.Cores)
}

func writeLatency(w io.Writer, name string, l Latency) {
	fmt.Fprintf(w, "  %s ms: p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f (n=%d)\n",
		name, l.P50, l.P90, l.P99, l.P999, l.Max, l.Count)
}
