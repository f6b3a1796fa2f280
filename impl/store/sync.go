package store

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/pingcap/failpoint"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/sys/unix"

	"powermail/impl/internal/fault"
)

// What an fsync was for: the metrics label.
const (
	kindFile = "file"
	kindDir  = "dir"
	kindFS   = "fs" // syncfs(2) at Open
)

// maxParallelDirSyncs bounds the directory fsyncs one Commit runs at once
// (one per recipient mailbox), and so the file descriptors it holds.
const maxParallelDirSyncs = 16

var (
	fsyncs = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_store_fsyncs_total",
		Help: "fsync calls made, by kind (file, dir, fs).",
	}, []string{"kind"})
	fsyncErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_store_fsync_errors_total",
		Help: "fsync calls that failed, by kind; each failed the operation that needed it.",
	}, []string{"kind"})
	fsyncSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "powermail_store_fsync_seconds",
		Help:    "Latency of fsync calls, by kind.",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2, 14), // 50 us .. 0.4 s
	}, []string{"kind"})
	dirSyncsShared = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_store_dir_syncs_shared_total",
		Help: "Directory syncs served by another caller's fsync (group commit).",
	})
	bytesWritten = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_store_bytes_written_total",
		Help: "Message bytes written to upload files.",
	})
)

// syncFile is the only place where the store calls fsync(2), so that fault
// injection (chaos tests) has one seam to hook.
func syncFile(f *os.File, kind string) error {
	failpoint.Inject("fsync", func(val failpoint.Value) {
		// Deliberately broken builds for the chaos checker's own tests:
		// "skip" drops every fsync, "skip-dir" only those of directories
		// (a store that trusts fsync(file) to persist the name).
		if val == "skip" || val == "skip-dir" && kind == kindDir {
			failpoint.Return(nil)
		}
		if err := fault.Err(val); err != nil { // EIO, ENOSPC: the disk said no
			observeSync(kind, time.Now(), err)
			failpoint.Return(err)
		}
	})
	start := time.Now()
	err := fsync(f)
	observeSync(kind, start, err)
	return err
}

// syncFS flushes the whole file system holding f (syncfs(2)). Linux >= 5.8
// reports write-back errors from it reliably.
func syncFS(f *os.File) error {
	start := time.Now()
	err := unix.Syncfs(int(f.Fd()))
	observeSync(kindFS, start, err)
	return err
}

func observeSync(kind string, start time.Time, err error) {
	fsyncSeconds.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	fsyncs.WithLabelValues(kind).Inc()
	if err != nil {
		fsyncErrors.WithLabelValues(kind).Inc()
	}
}

// syncDir makes every change made in dir before the call durable, sharing an
// fsync with concurrent callers for the same directory.
func (s *Store) syncDir(dir string) error {
	c := s.dirSyncs.acquire(dir)
	defer s.dirSyncs.release(dir)
	led, err := c.do(func() error { return s.fsyncDir(dir) })
	if !led {
		dirSyncsShared.Inc()
	}
	if err != nil {
		s.log.Error("directory fsync failed; the operation fails, no retry", "dir", dir, "err", err)
		return noSpace(fmt.Errorf("store: fsync %s: %w", dir, err))
	}
	return nil
}

func (s *Store) fsyncDir(dir string) error {
	f, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	err = syncFile(f, kindDir)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDirs runs syncDir for each of dirs, in parallel: a commit to many
// mailboxes then waits for about one fsync, not one per mailbox.
func (s *Store) syncDirs(dirs []string) error {
	if len(dirs) == 1 {
		return s.syncDir(dirs[0])
	}
	errs := make([]error, len(dirs))
	sem := make(chan struct{}, maxParallelDirSyncs)
	var wg sync.WaitGroup
	for i, d := range dirs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = s.syncDir(d)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// coalescer runs a sync function so that callers arriving while one run is in
// flight share the next run (group commit). A run started after a caller
// arrived covers that caller's changes, because the caller made them first.
// The zero value is ready to use.
type coalescer struct {
	mu       sync.Mutex
	inflight *syncRound // the run in progress, if any
	next     *syncRound // the run that callers are joining
}

type syncRound struct {
	done     chan struct{}
	finished bool // under coalescer.mu
	joined   int  // callers in this round, for tests
	err      error
}

// do returns fn's error of a run that started after do was called; led
// reports whether this caller ran fn itself. Every caller of a failed run
// gets the error: a failed fsync is never retried on anyone's behalf.
func (c *coalescer) do(fn func() error) (led bool, err error) {
	c.mu.Lock()
	if c.next == nil {
		c.next = &syncRound{done: make(chan struct{})}
	}
	r := c.next
	r.joined++
	for !r.finished && c.inflight != nil {
		wait := c.inflight.done
		c.mu.Unlock()
		<-wait
		c.mu.Lock()
	}
	if r.finished {
		c.mu.Unlock()
		return false, r.err
	}
	c.inflight, c.next = r, nil
	c.mu.Unlock()

	err = fn()

	c.mu.Lock()
	r.err, r.finished, c.inflight = err, true, nil
	close(r.done)
	c.mu.Unlock()
	return true, err
}
