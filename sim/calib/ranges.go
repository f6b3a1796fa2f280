package calib

import "fmt"

// Range is the physically plausible span of a fitted cost on the kind of
// machine the benchmark suite runs on (a few cores, loopback, one SSD or
// virtio disk). A fit outside it is not a measurement of this system but
// an artefact of the fit, and the simulator refuses it (as does the
// paper's test): a negative CPU time, for one, is what a free linear
// regression returns when the machine was noisy.
type Range struct {
	Name     string  `json:"name"`
	Min, Max float64 `json:"-"`
	Why      string  `json:"why"`
}

// Ranges of the fitted parameters, by their JSON names in Costs. CPU per
// message is bounded below by zero and above by 20 ms (a 2003-era box
// handled hundreds of messages a second per core); a flush (syncfs or
// fsync: a journal commit and a cache flush) takes at least 20 us (a
// write-back cache on NVMe) and at most 100 ms (a seek-bound disk under
// load).
var Ranges = []Range{
	{"smtp_cpu_ms", 0.001, 20, "powersmtp's CPU per message: positive, below 20 ms"},
	{"loadgen_cpu_ms", 0, 20, "the load generator's CPU per message: not negative, below 20 ms"},
	{"write_cpu_ms", 0.001, 20, "a backend's CPU per replica: positive, below 20 ms"},
	{"flush_cpu_ms", 0, 5, "CPU of one flush: not negative, below 5 ms"},
	{"write_flush_ms", 0.02, 100, "latency of one flush (syncfs): 20 us to 100 ms"},
}

// CheckRanges returns an error naming every fitted cost outside its range.
func (c Costs) CheckRanges() error {
	vals := map[string]float64{"smtp_cpu_ms": c.SMTPCPUMs, "loadgen_cpu_ms": c.LoadgenCPUMs,
		"write_cpu_ms": c.WriteCPUMs, "flush_cpu_ms": c.FlushCPUMs, "write_flush_ms": c.WriteFlushMs}
	var bad []string
	for _, r := range Ranges {
		if v := vals[r.Name]; !(v >= r.Min && v <= r.Max) {
			bad = append(bad, fmt.Sprintf("%s = %g outside [%g, %g] (%s)", r.Name, v, r.Min, r.Max, r.Why))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("calib: implausible fitted costs: %v", bad)
	}
	return nil
}
