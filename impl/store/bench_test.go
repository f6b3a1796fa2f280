package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// Run with: go test -run XXX -bench . -benchtime 2s ./impl/store/
//
// The store's rate is reported as a ratio of the raw rate ("x-raw")
// measured right after it, with the same writers and operation count, on
// the same file system: the machine is shared and noisy, and only ratios
// from one run compare.

const benchMessageBytes = 4096

var benchWriters = []int{1, 8, 32}

// BenchmarkRawDurableWrite is the floor a durable store cannot beat: create
// + write 4 KiB + fsync file + fsync directory, all in one directory.
func BenchmarkRawDurableWrite(b *testing.B) {
	for _, w := range benchWriters {
		b.Run(fmt.Sprintf("writers=%d", w), func(b *testing.B) {
			op, done := rawWriter(b)
			defer done()
			runWriters(b, w, op)
		})
	}
}

// rawWriter returns an op that writes one file durably into a fresh
// directory on the file system of b.TempDir.
func rawWriter(b *testing.B) (op func(int) error, done func()) {
	dir := b.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	data := body(benchMessageBytes)
	var seq atomic.Int64
	return func(int) error {
		return rawDurableWrite(d, filepath.Join(dir, strconv.FormatInt(seq.Add(1), 10)), data)
	}, func() { d.Close() }
}

func rawDurableWrite(dir *os.File, name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
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
	if err != nil {
		return err
	}
	return dir.Sync()
}

// BenchmarkPrepareCommit delivers 4 KiB messages: Begin, Write, Finish,
// Commit to one mailbox, under each flush mode (issue 11: measure both on
// this disk, keep the faster). "boxes=1": all writers share one mailbox
// (shared directory fsyncs); "boxes=N": one mailbox per writer.
func BenchmarkPrepareCommit(b *testing.B) {
	for _, mode := range []FlushMode{FlushFsync, FlushSyncfs} {
		for _, w := range benchWriters {
			for _, perWriter := range []bool{false, true} {
				if w == 1 && perWriter {
					continue
				}
				boxes := map[bool]int{false: 1, true: w}[perWriter]
				b.Run(fmt.Sprintf("flush=%s/writers=%d/boxes=%d", mode, w, boxes), func(b *testing.B) {
					benchPrepareCommit(b, mode, w, perWriter)
				})
			}
		}
	}
}

func benchPrepareCommit(b *testing.B, mode FlushMode, writers int, perWriter bool) {
	s := openAt(b, b.TempDir(), Options{Flush: mode})
	if s.FlushMode() != mode {
		b.Skipf("flush mode %s is not allowed on this file system", mode)
	}
	data := body(benchMessageBytes)
	sum := Checksum(data)
	rate := runWriters(b, writers, func(w int) error {
		box := alice
		if perWriter {
			box = mailbox.Name(fmt.Sprintf("w%d@example.com", w))
		}
		return deliverSum(s, data, sum, box)
	})
	op, done := rawWriter(b)
	defer done()
	elapsed, err := spread(writers, b.N, op)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate/(float64(b.N)/elapsed.Seconds()), "x-raw")
}

func deliverSum(s *Store, data []byte, sum uint32, box mailbox.Name) error {
	id := msgid.New(time.Now())
	u, err := s.Begin(id)
	if err != nil {
		return err
	}
	defer u.Cancel()
	if _, err := u.Write(data); err != nil {
		return err
	}
	if err := u.Finish(int64(len(data)), sum); err != nil {
		return err
	}
	return s.Commit(id, []mailbox.Name{box})
}

// BenchmarkGet opens and reads a 4 KiB message, as GET does before sendfile.
func BenchmarkGet(b *testing.B) {
	for _, w := range benchWriters {
		b.Run(fmt.Sprintf("readers=%d", w), func(b *testing.B) {
			s := openAt(b, b.TempDir(), Options{})
			id := deliver(b, s, body(benchMessageBytes), alice)
			runWriters(b, w, func(int) error {
				f, _, err := s.OpenMessage(alice, id)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = io.Copy(io.Discard, f)
				return err
			})
		})
	}
}

// runWriters runs b.N calls of op spread over n goroutines (op gets the
// goroutine number), and reports and returns the rate in ops/s.
func runWriters(b *testing.B, n int, op func(writer int) error) float64 {
	b.ResetTimer()
	_, err := spread(n, b.N, op)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "ops/s")
	return rate
}

// spread runs op total times over n goroutines and returns the time taken
// and the first error.
func spread(n, total int, op func(writer int) error) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := time.Now()
	for w := range n {
		wg.Go(func() {
			for errs[w] == nil && next.Add(1) <= int64(total) {
				errs[w] = op(w)
			}
		})
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}
