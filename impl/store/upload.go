package store

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"

	"github.com/pingcap/failpoint"
	"golang.org/x/sys/unix"

	"powermail/impl/fault"
	"powermail/impl/msgid"
)

// Upload is the first phase of a delivery: one message being written to
// tmp/<id>. It is used by one goroutine.
type Upload struct {
	s     *Store
	id    msgid.ID
	fd    int    // tmp/<id>, open for writing; -1 once closed
	crc   uint32 // CRC-32C of what was written
	n     int64
	state uploadState
}

type uploadState int

const (
	writing   uploadState = iota
	prepared              // Finish succeeded: the file belongs to Commit/Abort
	cancelled             // Cancel or a failed Finish removed the file
)

var errUploadDone = errors.New("store: upload already finished or cancelled")

// Begin starts the upload of message id. The tmp file is created with
// O_EXCL: an upload of the same id in progress or prepared gives ErrExists.
// Refused with ErrReadOnly or ErrNoSpace when new mail is not accepted.
func (s *Store) Begin(id msgid.ID) (*Upload, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if err := s.checkWritable(); err != nil {
		return nil, err
	}
	fd, err := createAt(s.tmp, string(id), uploadPerm)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: %s", ErrExists, id)
	}
	if err != nil {
		return nil, noSpace(fmt.Errorf("store: begin %s: %w", id, err))
	}
	s.uploads.Add(1)
	return &Upload{s: s, id: id, fd: fd}, nil
}

// end leaves the writing state (once: Finish and Cancel check it).
func (u *Upload) end(state uploadState) {
	u.state = state
	u.s.uploads.Add(-1)
}

// Write appends p. A write that would pass Options.MaxMessageBytes writes
// nothing and returns ErrTooLarge; the caller then cancels.
func (u *Upload) Write(p []byte) (int, error) {
	if u.state != writing {
		return 0, errUploadDone
	}
	if int64(len(p)) > u.s.maxBytes-u.n {
		return 0, fmt.Errorf("%w: over %d bytes", ErrTooLarge, u.s.maxBytes)
	}
	n, err := writeAll(u.fd, p)
	u.crc = crc32.Update(u.crc, castagnoli, p[:n])
	u.n += int64(n)
	bytesWritten.Add(float64(n))
	if err != nil {
		return n, noSpace(fmt.Errorf("store: write %s: %w", u.id, err))
	}
	return n, nil
}

// Finish checks that exactly size bytes with CRC-32C crc were written, then
// makes the file durable (its own fsync, or the next group flush) and
// closes it: the message is prepared, durable but in no mailbox. On any
// error the upload is cancelled (nothing is left behind) and a failed
// flush is not retried.
func (u *Upload) Finish(size int64, crc uint32) error {
	if u.state != writing {
		return errUploadDone
	}
	err := u.verify(size, crc)
	if err == nil {
		err = unix.Fchmod(u.fd, filePerm) // prepared; the flush below persists it
	}
	failpoint.Inject("beforeFsync", func(val failpoint.Value) { fault.Crash(val) }) // P3: written, not durable
	if err == nil {
		err = u.s.timeFlush(func() error { return u.s.persistFile(u.fd) })
	}
	if cerr := u.close(); err == nil {
		err = cerr
	}
	if err != nil {
		u.Cancel()
		return noSpace(fmt.Errorf("store: finish %s: %w", u.id, err))
	}
	u.end(prepared)
	return nil
}

func (u *Upload) close() error {
	if u.fd < 0 {
		return nil
	}
	err := unix.Close(u.fd)
	u.fd = -1
	return err
}

func (u *Upload) verify(size int64, crc uint32) error {
	if size != u.n {
		return fmt.Errorf("%w: %d bytes received, %d announced", ErrChecksum, u.n, size)
	}
	if u.crc != crc {
		return fmt.Errorf("%w: CRC-32C mismatch", ErrChecksum)
	}
	return nil
}

// castagnoli is the CRC-32C table (computed by the CPU: SSE 4.2, ARMv8).
// The check guards the transfer against truncation and corruption; it is
// not a defence against a forger, who could recompute any unkeyed hash.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC-32C that Finish expects for a message p.
func Checksum(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }

// Cancel abandons an upload that is not finished: the tmp file is closed and
// removed. It is idempotent and does nothing after a successful Finish (the
// prepared message is then removed by Abort), so `defer u.Cancel()` is safe.
func (u *Upload) Cancel() {
	if u.state != writing {
		return
	}
	u.end(cancelled)
	_ = u.close()
	if err := unlinkAt(u.s.tmp, string(u.id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		u.s.log.Warn("cannot remove cancelled upload; recovery will", "id", u.id, "err", err)
	}
}

// ID returns the message id of the upload.
func (u *Upload) ID() msgid.ID { return u.id }
