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
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return idle, total, nil
}

func load1() float64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return float64(si.Loads[0]) / 65536
}

// BusyCPUSec is the CPU time all processes of the machine have used since
// boot (everything but idle and iowait), in seconds: a peer's processes
// are too many to name, so its CPU per message is the machine's less our
// own load generator's.
func BusyCPUSec() (float64, error) {
	idle, total, err := cpuTimes()
	return float64(total-idle) / clockTicks, err
}

// clockTicks is USER_HZ, the unit of /proc/stat.
const clockTicks = 100
