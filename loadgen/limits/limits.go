// Package limits measures the limits of this machine that bind a mail
// store, so that every benchmark result can be read as a fraction of what
// the hardware allows:
//
//   - durable small-file creation: "write 4 KiB + fsync + fsync dir", the
//     cost of one stored message copy, with 1 and 8 writers;
//   - loopback TCP bandwidth, with 1 and 8 streams;
//   - sendfile throughput of 4 KiB and 512 KiB files to loopback clients,
//     the ceiling of a one-hop POP3 RETR (a server reading its own disk);
//   - the same through a relay that splices each answer to its client, the
//     ceiling of PowerMail's two-hop RETR (backend, then powerpop).
package limits

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Config bounds the measurements.
type Config struct {
	Dir      string        // on the data disk; a temporary subdirectory is used
	Duration time.Duration // per measurement
	Writers  []int         // fsync writers, e.g. 1 and 8
	Group    []int         // writers sharing group flushes, e.g. 32 and 64
	Streams  []int         // TCP streams, e.g. 1 and 8
	Conns    int           // sendfile client connections
}

// Limits is the JSON result.
type Limits struct {
	Machine  Machine `json:"machine"`
	Duration string  `json:"duration_each"`
	Fsync    []Rate  `json:"fsync_4k_create"` // ops/s: create, write 4 KiB, fsync file, fsync dir
	// ops/s: create, write 4 KiB, group flush, link, group flush (the store's path)
	GroupCommit []Rate     `json:"group_commit_4k,omitempty"`
	Loopback    []Rate     `json:"loopback_tcp"` // MB/s
	Sendfile    []SendRate `json:"sendfile"`
	TwoHop      []SendRate `json:"two_hop_sendfile"` // file -> sendfile -> relay (splice) -> client
	// Run and State are set by the suite (package bench): which run, and
	// how quiet the machine was.
	Run    any      `json:"run,omitempty"`
	State  Quiet    `json:"machine_state"`
	Errors []string `json:"errors,omitempty"`
}

// Rate is one measurement at a level of parallelism.
type Rate struct {
	Parallel  int     `json:"parallel"`
	OpsPerSec float64 `json:"ops_per_sec,omitempty"`
	MBPerSec  float64 `json:"mb_per_sec,omitempty"`
	// HostCPUUsPerOp is the machine's busy CPU (every process, kernel
	// threads and interrupts) per operation during the measurement: for
	// group_commit_4k the floor of a backend's CPU per durable copy here.
	HostCPUUsPerOp float64 `json:"host_cpu_us_per_op,omitempty"`
}

// SendRate is a sendfile measurement.
type SendRate struct {
	FileBytes int     `json:"file_bytes"`
	Conns     int     `json:"conns"`
	ReqPerSec float64 `json:"requests_per_sec"`
	MBPerSec  float64 `json:"mb_per_sec"`
}

// Measure runs every measurement in turn.
func Measure(ctx context.Context, cfg Config) (*Limits, error) {
	dir, err := os.MkdirTemp(cfg.Dir, "limits-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	l := &Limits{Machine: Describe(cfg.Dir), Duration: cfg.Duration.String()}
	for _, n := range cfg.Writers {
		ops, err := fsyncRate(ctx, filepath.Join(dir, fmt.Sprint("fsync-", n)), n, cfg.Duration)
		l.add(err)
		l.Fsync = append(l.Fsync, Rate{Parallel: n, OpsPerSec: ops})
	}
	for _, n := range cfg.Group {
		r, err := withHostCPU(cfg.Duration, func() (float64, error) {
			return groupCommitRate(ctx, filepath.Join(dir, fmt.Sprint("group-", n)), n, cfg.Duration)
		})
		l.add(err)
		r.Parallel = n
		l.GroupCommit = append(l.GroupCommit, r)
	}
	for _, n := range cfg.Streams {
		mbps, err := loopbackRate(ctx, n, cfg.Duration)
		l.add(err)
		l.Loopback = append(l.Loopback, Rate{Parallel: n, MBPerSec: mbps})
	}
	for _, size := range []int{4 << 10, 512 << 10} {
		r, err := sendfileRate(ctx, dir, size, cfg.Conns, cfg.Duration)
		l.add(err)
		l.Sendfile = append(l.Sendfile, r)
		r, err = twoHopRate(ctx, dir, size, cfg.Conns, cfg.Duration)
		l.add(err)
		l.TwoHop = append(l.TwoHop, r)
	}
	return l, nil
}

// withHostCPU runs measure (ops/s over about d) and adds the machine's busy
// CPU per operation over it.
func withHostCPU(d time.Duration, measure func() (float64, error)) (Rate, error) {
	before, err := BusyCPUSec()
	if err != nil {
		return Rate{}, err
	}
	start := time.Now()
	ops, err := measure()
	r := Rate{OpsPerSec: ops}
	after, cerr := BusyCPUSec()
	if n := ops * time.Since(start).Seconds(); err == nil && cerr == nil && n > 0 {
		r.HostCPUUsPerOp = (after - before) * 1e6 / n
	}
	return r, err
}

func (l *Limits) add(err error) {
	if err != nil {
		l.Errors = append(l.Errors, err.Error())
	}
}

// parallel runs op in n goroutines until d passes and returns ops/s.
func parallel(ctx context.Context, n int, d time.Duration, op func(worker, i int) error) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var total atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := range n {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				if err := op(w, i); err != nil {
					once.Do(func() { first = err })
					cancel()
					return
				}
				total.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds(), first
}

// fsyncRate is "write 4 KiB + fsync + fsync dir": each writer has its own
// directory, like a mailbox (Maildir tmp -> fsync -> link: qmail, Postfix).
func fsyncRate(ctx context.Context, dir string, writers int, d time.Duration) (float64, error) {
	data := make([]byte, 4096)
	dirs := make([]*os.File, writers)
	for w := range dirs {
		p := filepath.Join(dir, fmt.Sprint(w))
		if err := os.MkdirAll(p, 0o700); err != nil {
			return 0, err
		}
		f, err := os.Open(p)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		dirs[w] = f
	}
	return parallel(ctx, writers, d, func(w, i int) error {
		f, err := os.OpenFile(filepath.Join(dirs[w].Name(), fmt.Sprint(i)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = dirs[w].Sync()
		}
		return err
	})
}
