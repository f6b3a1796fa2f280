package diskstore_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"powermail/impl/mailbox"
)

// Benchmarks over a real listener on 127.0.0.1 and a real store in the test's
// temporary directory (same disk as the working tree). Each prepare+commit
// benchmark also measures, in the same run, the raw rate of "write 4 KiB +
// fsync file + fsync dir" with the same number of writers, and reports the
// store's rate as a fraction of it ("of-raw"), the raw rate being the mean
// of one measurement before and one after: absolute rates on this shared
// machine vary between runs, ratios less.
//
//	go test -run XXX -bench . -benchtime 2000x ./impl/internal/ppserver/diskstore

func BenchmarkPrepareCommit4K(b *testing.B) {
	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			be := startBackend(b)
			c := be.client(b)
			msg := message(4096)
			before := rawFsyncRate(b, clients)
			rate := parallel(b, clients, func(worker int) error {
				_, err := tryPut(c, msg, len(msg), mailbox.Name(fmt.Sprintf("user%d@example.com", worker)))
				return err
			})
			raw := (before + rawFsyncRate(b, clients)) / 2 // the machine's load drifts
			b.ReportMetric(rate, "msgs/s")
			b.ReportMetric(rate/raw, "of-raw")
		})
	}
}

func BenchmarkGet(b *testing.B) {
	for _, size := range []int{4 << 10, 512 << 10} {
		b.Run(fmt.Sprintf("size=%dK", size>>10), func(b *testing.B) {
			be := startBackend(b)
			c := be.client(b)
			box := mailbox.MustParse("ann@example.com")
			id := put(b, c, message(size), size, box)
			b.SetBytes(int64(size))
			rate := parallel(b, 1, func(int) error {
				_, err := c.Get(context.Background(), box, id, io.Discard)
				return err
			})
			b.ReportMetric(rate, "msgs/s")
		})
	}
}

// parallel runs b.N calls of op spread over workers goroutines and returns
// the rate in calls per second.
func parallel(b *testing.B, workers int, op func(worker int) error) float64 {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	b.ResetTimer()
	start := time.Now()
	for w := range workers {
		n := b.N/workers + boolInt(w < b.N%workers)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				if err := op(w); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return float64(b.N) / elapsed.Seconds()
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// rawFsyncRate measures durable 4 KiB file creation without any protocol or
// store: create, write, fsync the file, fsync the directory.
func rawFsyncRate(b *testing.B, workers int) float64 {
	const filesPerWorker = 200
	dir := b.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	data := make([]byte, 4096)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range filesPerWorker {
				f, err := os.OpenFile(filepath.Join(dir, fmt.Sprint(w, "-", i)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
				if err != nil {
					panic(err)
				}
				f.Write(data)
				f.Sync()
				f.Close()
				d.Sync()
			}
		}()
	}
	wg.Wait()
	return float64(workers*filesPerWorker) / time.Since(start).Seconds()
}
