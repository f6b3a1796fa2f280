// Package calib holds the measured costs that turn simulated operations into
// time: CPU and flush time per backend operation, network round trip and
// bandwidth. The defaults (calib.json, embedded) come from the measured
// limits of this machine; a researcher replaces them with their own with
// `sim -calib FILE`.
package calib

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
)

//go:embed calib.json
var defaultJSON []byte

// Costs are per operation, in milliseconds unless the name says otherwise.
type Costs struct {
	Source           string  `json:"source"`
	HostCPUs         int     `json:"host_cpus"`
	WriteCPUMs       float64 `json:"write_cpu_ms"`
	WriteCPUPerKiBMs float64 `json:"write_cpu_per_kib_ms"`
	WriteFlushMs     float64 `json:"write_flush_ms"`
	SMTPCPUMs        float64 `json:"smtp_cpu_ms"`
	ListCPUMs        float64 `json:"list_cpu_ms"`
	ListPerEntryMs   float64 `json:"list_cpu_per_entry_ms"`
	RetrCPUMs        float64 `json:"retr_cpu_ms"`
	RetrCPUPerKiBMs  float64 `json:"retr_cpu_per_kib_ms"`
	DeleCPUMs        float64 `json:"dele_cpu_ms"`
	DeleFlushMs      float64 `json:"dele_flush_ms"`
	NetRTTMs         float64 `json:"net_rtt_ms"`
	NetGbitPerSec    float64 `json:"net_gbit_per_sec"`
	// The group-commit model (cluster.Config.GroupCommit): the load
	// generator's CPU per message on the shared host, the CPU of one
	// flush, and the flushes a replica waits for (2: the upload's bytes,
	// then the links; impl/store/doc.go). Zero in the a-priori file.
	LoadgenCPUMs    float64           `json:"loadgen_cpu_ms,omitempty"`
	FlushCPUMs      float64           `json:"flush_cpu_ms,omitempty"`
	FlushesPerWrite int               `json:"flushes_per_write,omitempty"`
	Notes           map[string]string `json:"notes"`
}

// Default returns the embedded calibration.
func Default() Costs {
	c, err := parse(defaultJSON)
	if err != nil {
		panic("calib: embedded calib.json: " + err.Error())
	}
	return c
}

// Load reads a calibration file.
func Load(path string) (Costs, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Costs{}, err
	}
	c, err := parse(b)
	if err != nil {
		return Costs{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func parse(b []byte) (Costs, error) {
	var c Costs
	if err := json.Unmarshal(b, &c); err != nil {
		return Costs{}, err
	}
	return c, c.Validate()
}

// Validate rejects costs the model cannot use.
func (c Costs) Validate() error {
	if c.HostCPUs < 1 || c.WriteCPUMs <= 0 || c.NetGbitPerSec <= 0 {
		return fmt.Errorf("calib: host_cpus, write_cpu_ms and net_gbit_per_sec must be positive")
	}
	if c.LoadgenCPUMs < 0 || c.FlushCPUMs < 0 || c.FlushesPerWrite < 0 {
		return fmt.Errorf("calib: loadgen_cpu_ms, flush_cpu_ms and flushes_per_write must not be negative")
	}
	return nil
}

// TransferSec is the time to move kib KiB over one network link.
func (c Costs) TransferSec(kib float64) float64 {
	return kib * 1024 * 8 / (c.NetGbitPerSec * 1e9)
}
