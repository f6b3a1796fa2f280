package limits

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Machine describes where a benchmark ran.
type Machine struct {
	Time      time.Time `json:"time"`
	Hostname  string    `json:"hostname"`
	CPUs      int       `json:"cpus"`
	CPUModel  string    `json:"cpu_model"`
	MemBytes  uint64    `json:"mem_bytes"`
	Kernel    string    `json:"kernel"`
	GoVersion string    `json:"go_version"`
	DataDir   string    `json:"data_dir"`
	FSType    string    `json:"data_fs_type"`
	Load1     float64   `json:"load_avg_1m"`
	Note      string    `json:"note,omitempty"`
	// BackendFlags: extra pplistener flags the benchmark ran with.
	BackendFlags []string `json:"backend_flags,omitempty"`
}

// Describe reads the machine's description; dir is the data directory.
func Describe(dir string) Machine {
	m := Machine{Time: time.Now().UTC(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), DataDir: dir}
	m.Hostname, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		m.MemBytes = uint64(si.Totalram) * uint64(si.Unit)
		m.Load1 = float64(si.Loads[0]) / 65536
	}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	m.FSType = fsType(dir)
	return m
}

func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// fsType finds the filesystem of dir's longest mount point in /proc/mounts.
func fsType(dir string) string {
	data, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return ""
	}
	best, typ := "", ""
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.HasPrefix(dir, f[1]) && len(f[1]) > len(best) {
			best, typ = f[1], f[2]+" ("+f[0]+")"
		}
	}
	return typ
}
