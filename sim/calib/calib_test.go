package calib

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultLoads(t *testing.T) {
	c := Default()
	if c.HostCPUs != 2 || c.WriteCPUMs <= 0 {
		t.Fatalf("default calibration %+v", c)
	}
	// 1 GiB over 16 Gbit/s is about 0.54 s.
	if got := c.TransferSec(1 << 20); got < 0.5 || got > 0.6 {
		t.Errorf("TransferSec(1 GiB) = %v", got)
	}
}

func TestLoadRejectsBadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(p, []byte(`{"host_cpus": 0}`), 0o600)
	if _, err := Load(p); err == nil {
		t.Error("accepted host_cpus 0")
	}
}
