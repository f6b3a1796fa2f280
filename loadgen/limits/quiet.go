package limits

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Quiet is how busy the machine was just before a measurement: a figure
// taken while other work shares two cores is not a result (issue 17).
type Quiet struct {
	IdlePct float64 `json:"idle_pct"`    // CPU idle (incl. iowait) over the sample window
	Load1   float64 `json:"load_avg_1m"` // for the reader; the decision uses IdlePct
	Waited  string  `json:"waited"`      // how long the wait for quiet took
	Quiet   bool    `json:"quiet"`       // IdlePct reached the threshold
}

// QuietConfig bounds WaitQuiet.
type QuietConfig struct {
	MinIdlePct float64       // e.g. 85
	Window     time.Duration // one sample, e.g. 2 s
	MaxWait    time.Duration // give up after this long, Quiet false
}

// WaitQuiet samples the machine's CPU idle over Window until it reaches
// MinIdlePct or MaxWait has passed.
func WaitQuiet(ctx context.Context, cfg QuietConfig) (Quiet, error) {
	start := time.Now()
	for {
		idle, err := idleOver(ctx, cfg.Window)
		if err != nil {
			return Quiet{}, err
		}
		q := Quiet{IdlePct: idle, Load1: load1(), Waited: time.Since(start).Round(time.Second).String(),
			Quiet: idle >= cfg.MinIdlePct}
		if q.Quiet || time.Since(start) >= cfg.MaxWait {
			return q, nil
		}
	}
}

// idleOver is the share of CPU time spent idle or waiting for I/O over d,
// from /proc/stat's cpu line, in percent.
func idleOver(ctx context.Context, d time.Duration) (float64, error) {
	idle0, total0, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(d):
	}
	idle1, total1, err := cpuTimes()
	if err != nil || total1 == total0 {
		return 0, err
	}
	return 100 * float64(idle1-idle0) / float64(total1-total0), nil
}

// cpuTimes returns idle+iowait and the total of the aggregate cpu line.
func cpuTimes() (idle, total uint64, err error) {
	f, err := cpuLine()
	for i, v := range f {
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return idle, total, err
}

// cpuLine is the aggregate cpu line of /proc/stat, in clock ticks: user,
// nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice.
func cpuLine() ([]uint64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return nil, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	vals := make([]uint64, len(f)-1)
	for i, s := range f[1:] {
		if vals[i], err = strconv.ParseUint(s, 10, 64); err != nil {
			return nil, err
		}
	}
	return vals, nil
}

func load1() float64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return float64(si.Loads[0]) / 65536
}

// BusyCPUSec is the CPU time all CPUs of the machine have spent busy since
// boot, in seconds: user, nice, system, irq and softirq (not idle, iowait
// or steal; guest time is already in user). Beside the processes' own CPU
// it shows what kernel threads (journal commits, write-back) and
// interrupts cost, which no process is charged for; a peer's processes
// are too many to name, so its CPU per message is the machine's less our
// own load generator's.
func BusyCPUSec() (float64, error) {
	f, err := cpuLine()
	if err != nil {
		return 0, err
	}
	return float64(f[0]+f[1]+f[2]+f[5]+f[6]) / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc/stat.
const clockTicks = 100
