package scenario

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"powermail/sim/cluster"
)

// The speed run: 1,000 backends, 10^7 mailboxes, one simulated day, the
// real placement code for every message, with crashes and disk losses.
// Traffic: 10^6 messages and 10^7 POP3 logins a day. Each message costs a
// placement.Chooser call, O(n) in the 1,000 backends with buffers it keeps.
const (
	speedBackends  = 1000
	speedMailboxes = 1e7
	speedMsgsDay   = 1e6
	speedLoginsDay = 1e7
	speedQuickSec  = 3600
)

// Speed runs the big cluster for a day (an hour with Quick) under policy
// and records the simulator's own time and memory.
func Speed(o Options, policy string) error {
	c := cluster.Defaults()
	c.Seed, c.Costs, c.Policy = o.Seed, o.Costs, policy
	c.Costs.NetRTTMs, c.Costs.NetGbitPerSec = 0.1, 10
	c.Backends, c.Groups, c.Mailboxes = speedBackends, racks(speedBackends), speedMailboxes
	c.SMTPRate, c.LoginRate = speedMsgsDay/secPerDay, speedLoginsDay/secPerDay
	c.Duration = secPerDay
	if o.Quick {
		c.Duration = speedQuickSec
	}
	c.AFR, c.CrashPerYear, c.CrashDownSec, c.RepairMBps = 0.04, 2, 600, 100
	s, err := cluster.New(c)
	if err != nil {
		return err
	}
	cpu0 := cpuSec()
	r := s.Run()
	cpu := cpuSec() - cpu0
	o.logf("speed %s: %.0f simulated s in %.1f s wall (%.1f s CPU), heap %.0f MiB, peak RSS %.0f MiB",
		policy, c.Duration, r.Run.WallSec, cpu, r.Run.HeapMiB, peakRSSMiB())
	name := "speed-" + policy
	if o.Quick {
		name += "-1h"
	}
	return writeJSON(o.OutDir, name, map[string]any{
		"scenario": "speed", "policy": policy, "backends": c.Backends, "mailboxes": c.Mailboxes,
		"simulated_sec": c.Duration, "msgs_per_day": speedMsgsDay, "logins_per_day": speedLoginsDay,
		"wall_sec": r.Run.WallSec, "cpu_sec": cpu, "heap_mib_at_end": r.Run.HeapMiB,
		"live_heap_mib_at_end": r.Run.LiveHeapMiB, "peak_rss_mib": peakRSSMiB(),
		"wall_limit_sec": 600, "cpus": runtime.NumCPU(), "load_avg_at_end": loadAvg(),
		"note":   "the machine is shared: cpu_sec (user+system of the simulator) is the figure to compare with the limit",
		"result": r,
	})
}

// cpuSec is this process's user + system CPU time.
func cpuSec() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// loadAvg is the 1-minute load average (Linux), to judge how shared the
// machine was.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// peakRSSMiB reads the process's high-water resident set from Linux's
// /proc (0 elsewhere).
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
