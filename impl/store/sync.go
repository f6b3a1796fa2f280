package store

import (
	"time"

	"github.com/pingcap/failpoint"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"powermail/impl/fault"
)

// What an fsync was for: the metrics label.
const (
	kindFile = "file"
	kindDir  = "dir"
	kindFS   = "fs" // syncfs(2): group flushes, and once at Open
	// kindWriteback: a file's own write-back error, found after a group
	// flush succeeded (writebackError).
	kindWriteback = "writeback"
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
		Help: "fsync calls that failed, by kind (writeback: a file's write-back error found after a group flush); each failed the operation that needed it.",
	}, []string{"kind"})
	fsyncSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "powermail_store_fsync_seconds",
		Help:    "Latency of fsync calls, by kind.",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2, 14), // 50 us .. 0.4 s
	}, []string{"kind"})
	dirSyncsShared = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_store_dir_syncs_shared_total",
		Help: "Directory syncs served by another caller's fsync (flush mode fsync).",
	})
	flushRounds = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_store_flushes_total",
		Help: "Group flushes (syncfs) run; each made a whole batch of writers durable (flush mode syncfs).",
	})
	flushShared = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_store_flush_waits_shared_total",
		Help: "Waits for durability served by a flush that another writer ran (flush mode syncfs).",
	})
	bytesWritten = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_store_bytes_written_total",
		Help: "Message bytes written to upload files.",
	})
)

// Every kind starts at 0, so that an alert on increase() sees the first error.
func init() {
	for _, k := range []string{kindFile, kindDir, kindFS, kindWriteback} {
		fsyncErrors.WithLabelValues(k)
	}
}

// syncFD is the only place where the store calls fsync(2), and syncFS the
// only one for syncfs(2), so that fault injection (chaos tests) and the
// power-loss model (crash_test.go, through seam.go) have one seam each.
func syncFD(fd int, kind string) error {
	if err, injected := injectedSyncError(kind); injected {
		return err
	}
	start := time.Now()
	err := fsync(fd)
	observeSync(kind, start, err)
	return err
}

// syncFS flushes the whole file system holding fd (syncfs(2)). Linux >= 5.8
// reports write-back errors from it reliably (see resolveFlushMode).
func syncFS(fd int) error {
	if err, injected := injectedSyncError(kindFS); injected {
		return err
	}
	start := time.Now()
	err := syncfs(fd)
	observeSync(kindFS, start, err)
	return err
}

// injectedSyncError is the failpoint of every flush: a skipped one (a
// deliberately broken store for the chaos checker's own tests: "skip"
// drops every flush, "skip-dir" only directory fsyncs, so a store that
// trusts fsync(file) to persist the name) or a disk error (EIO, ENOSPC).
func injectedSyncError(kind string) (err error, injected bool) {
	failpoint.Inject("fsync", func(val failpoint.Value) {
		if val == "skip" || val == "skip-dir" && kind == kindDir {
			failpoint.Return(nil, true)
		}
		if ferr := fault.Err(val); ferr != nil {
			observeSync(kind, time.Now(), ferr)
			failpoint.Return(ferr, true)
		}
	})
	return nil, false
}

func observeSync(kind string, start time.Time, err error) {
	fsyncSeconds.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	fsyncs.WithLabelValues(kind).Inc()
	if err != nil {
		fsyncErrors.WithLabelValues(kind).Inc()
	}
}
