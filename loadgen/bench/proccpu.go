package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"powermail/impl/devcluster"
	"powermail/loadgen/limits"
)

// clockTicksPerSec is USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat; 100 on every Linux this suite runs on.
const clockTicksPerSec = 100

// procCPUSec is the CPU time (user + system, all threads) that process pid
// has used so far, in seconds.
func procCPUSec(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, may hold spaces; it ends at the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	var ticks float64
	for _, s := range f[11:13] {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, err
		}
		ticks += v
	}
	return ticks / clockTicksPerSec, nil
}

// clusterMeter measures, over one run, each daemon's CPU time and the
// backends' fsyncs and flushes, from /proc and the backends' metrics.
type clusterMeter struct {
	procs   []*devcluster.Proc
	metrics []string // backends' /metrics addresses
	cpu     []float64
	host    float64 // limits.BusyCPUSec at the start
	backend flushTotals
}

// flushTotals are the backends' counters, summed: fsyncs of every kind,
// group flushes, and the count and seconds of the flushes' syncfs calls
// (the simulator's flush latency).
type flushTotals struct {
	fsyncs, flushes, syncfsCalls, syncfsSec float64
}

func startMeter(c *devcluster.Cluster) (*clusterMeter, error) {
	m := &clusterMeter{procs: []*devcluster.Proc{c.SMTP(), c.POP()}}
	for _, b := range c.Backends {
		m.procs = append(m.procs, b.Proc())
		m.metrics = append(m.metrics, b.MetricsAddr)
	}
	var err error
	if m.host, err = limits.BusyCPUSec(); err != nil {
		return nil, err
	}
	m.cpu, m.backend, err = m.read()
	return m, err
}

func (m *clusterMeter) read() (cpu []float64, t flushTotals, err error) {
	for _, p := range m.procs {
		s, err := procCPUSec(p.Pid())
		if err != nil {
			return nil, t, err
		}
		cpu = append(cpu, s)
	}
	for _, addr := range m.metrics {
		mf, err := devcluster.Scrape(context.Background(), addr)
		if err != nil {
			return nil, t, err
		}
		t.fsyncs += mf.Sum("powermail_store_fsyncs_total", nil)
		t.flushes += mf.Sum("powermail_store_flushes_total", nil)
		for _, s := range mf["powermail_store_fsync_seconds"].GetMetric() {
			if h := s.GetHistogram(); h != nil && hasKind(s.GetLabel(), "fs") {
				t.syncfsCalls += float64(h.GetSampleCount())
				t.syncfsSec += h.GetSampleSum()
			}
		}
	}
	return cpu, t, nil
}

func hasKind(labels []*dto.LabelPair, kind string) bool {
	for _, l := range labels {
		if l.GetName() == "kind" && l.GetValue() == kind {
			return true
		}
	}
	return false
}

// perMessage returns what the run since startMeter cost per message:
// cpu_us_per_msg_<process> for every daemon, their sum over the backends
// and over all daemons, the whole machine's busy CPU per message
// (host_cpu_us_per_msg), fsyncs and flushes per message (all backends),
// and flush_ms, the mean latency of a group flush (syncfs) during the run.
func (m *clusterMeter) perMessage(messages int64) (sample, error) {
	cpu, t, err := m.read()
	if err != nil || messages <= 0 {
		return nil, err
	}
	host, err := limits.BusyCPUSec()
	if err != nil {
		return nil, err
	}
	n := float64(messages)
	s := sample{"fsyncs_per_msg": (t.fsyncs - m.backend.fsyncs) / n, "flushes_per_msg": (t.flushes - m.backend.flushes) / n,
		"host_cpu_us_per_msg": (host - m.host) * 1e6 / n}
	if calls := t.syncfsCalls - m.backend.syncfsCalls; calls > 0 {
		s["flush_ms"] = (t.syncfsSec - m.backend.syncfsSec) * 1e3 / calls
	}
	var daemons, backends float64
	for i, p := range m.procs {
		us := (cpu[i] - m.cpu[i]) * 1e6 / n
		s["cpu_us_per_msg_"+p.Name] = us
		daemons += us
		if strings.HasPrefix(p.Name, "pplistener") {
			backends += us
		}
	}
	s["cpu_us_per_msg_pplisteners"] = backends
	s["cpu_us_per_msg_daemons"] = daemons
	return s, nil
}
