package store

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"powermail/impl/groupcommit"
	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// Defaults for the zero values of Options.
const (
	DefaultTombstoneTTL    = 30 * 24 * time.Hour
	DefaultMaxMessageBytes = 64 << 20
)

// Errors callers map to protocol replies; returned errors wrap them.
var (
	ErrReadOnly    = errors.New("store is read-only")
	ErrNoSpace     = errors.New("not enough free disk space")
	ErrNotFound    = errors.New("message not found")
	ErrChecksum    = errors.New("length or SHA-256 differs from the announced one")
	ErrTooLarge    = errors.New("message larger than the upload limit")
	ErrExists      = errors.New("upload of this id already in progress or prepared")
	ErrNotPrepared = errors.New("message not prepared")
	ErrLocked      = errors.New("store in use by another process")
)

// Options configure a Store. The zero value is usable.
type Options struct {
	ReadOnly bool // refuse new mail from the start
	// MinFreeBytes: Begin and Commit refuse new mail when less is free.
	// Commit checks after the message is written, so a message that would
	// take the disk below the floor is refused, and its abort frees it.
	MinFreeBytes    uint64
	TombstoneTTL    time.Duration // 0 = DefaultTombstoneTTL
	MaxMessageBytes int64         // 0 = DefaultMaxMessageBytes
	Logger          *slog.Logger  // nil = slog.Default()
	// Flush: how changes are made durable; "" = FlushAuto (package doc).
	Flush FlushMode
}

// Store is the message store under one root directory. Its methods are safe
// for concurrent use.
type Store struct {
	view              // the read side: List, OpenMessage
	root     *os.Root // the cold paths: recovery, walks over every mailbox
	rootDir  *os.File // for statfs and syncfs
	lock     *os.File // holds the flock
	ttl      time.Duration
	maxBytes int64

	flush   FlushMode             // resolved: FlushSyncfs or FlushFsync
	flushes groupcommit.Coalescer // group flushes (FlushSyncfs)
	// fanOK holds the fan-out directories whose entry in their parent this
	// process has made durable (FlushFsync; see verifyBox).
	fanMu sync.Mutex
	fanOK map[string]bool
	tmp   *dirHandle // tmp/, held from Open to Close
	free  freeSpace  // statfs, read at most every freeSpaceMaxAge

	readOnly atomic.Bool
	minFree  atomic.Uint64
	messages atomic.Int64 // message files (distinct ids) in mailboxes
	boxes    atomic.Int64 // mailbox directories
	newest   time.Time    // latest date of a message or tombstone at Open

	uploads   atomic.Int64  // in flight (load.go)
	flushWait movingAverage // of deliveries (load.go)

	ids      keyed[msgid.ID, idLock]              // serialises operations on one id
	dirSyncs keyed[string, groupcommit.Coalescer] // group commit per directory
	pending  keyed[string, struct{}]              // directories whose parent fsync is not done
	closed   atomic.Bool
}

// Open opens the store at root, creating the layout if needed, and runs
// startup recovery (see the package doc). Only one process may open a root.
func Open(root string, opt Options) (*Store, error) {
	if err := os.MkdirAll(root, dirPerm); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := newStore(r, opt)
	if err := s.open(); err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("store %s: %w", root, err)
	}
	return s, nil
}

func newStore(r *os.Root, opt Options) *Store {
	s := &Store{view: view{log: opt.Logger}, root: r, ttl: opt.TombstoneTTL, maxBytes: opt.MaxMessageBytes, flush: opt.Flush}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("store", r.Name())
	if s.ttl <= 0 {
		s.ttl = DefaultTombstoneTTL
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxMessageBytes
	}
	s.readOnly.Store(opt.ReadOnly)
	s.minFree.Store(opt.MinFreeBytes)
	return s
}

func (s *Store) open() error {
	var err error
	if s.lock, err = s.root.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, filePerm); err != nil {
		return err
	}
	if err := unix.Flock(int(s.lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("%w: %w", ErrLocked, err)
	}
	if s.rootDir, err = s.root.Open("."); err != nil {
		return err
	}
	s.rootFd = int(s.rootDir.Fd())
	if err := s.chooseFlush(); err != nil {
		return err
	}
	for _, d := range []string{tmpDir, boxesDir} {
		if err := s.root.Mkdir(d, dirPerm); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	s.dirs = newDirCache(s.rootFd, maxCachedDirs)
	if s.tmp, err = s.dirs.get(tmpDir); err != nil {
		return err
	}
	return s.recover()
}

// chooseFlush resolves Options.Flush for this file system and logs it.
func (s *Store) chooseFlush() error {
	asked := cmp.Or(s.flush, FlushAuto)
	mode, why, err := resolveFlushMode(asked, s.rootFd)
	if err != nil {
		return err
	}
	s.flush = mode
	s.log.Info("flush mode", "asked", asked, "mode", mode, "because", why)
	return nil
}

// FlushMode returns the flush mode in use.
func (s *Store) FlushMode() FlushMode { return s.flush }

// Close releases the store. Operations still running may fail.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.closeFiles()
}

func (s *Store) closeFiles() error {
	if s.dirs != nil {
		if s.tmp != nil {
			s.dirs.put(s.tmp)
		}
		s.dirs.close()
	}
	var errs []error
	for _, f := range []*os.File{s.rootDir, s.lock} { // closing the lock file drops the flock
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	errs = append(errs, s.root.Close())
	return errors.Join(errs...)
}

// SetReadOnly switches read-only mode; safe while deliveries run.
func (s *Store) SetReadOnly(on bool) { s.readOnly.Store(on) }

// SetMinFreeBytes changes the free-space floor; safe while deliveries run.
func (s *Store) SetMinFreeBytes(n uint64) { s.minFree.Store(n) }

// Status reports free space, inodes, counts, the write switches and the
// load. Messages is kept up to date by Commit, Abort and Delete and
// recounted at Open.
func (s *Store) Status() (mail.BackendStatus, error) {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(s.rootFd, &fs); err != nil {
		return mail.BackendStatus{}, fmt.Errorf("store: statfs: %w", err)
	}
	s.free.set(fs.Bavail * uint64(fs.Bsize))
	return mail.BackendStatus{
		FreeBytes:    fs.Bavail * uint64(fs.Bsize),
		TotalBytes:   fs.Blocks * uint64(fs.Bsize),
		FreeInodes:   fs.Ffree,
		Messages:     s.messages.Load(),
		Mailboxes:    int(s.boxes.Load()),
		ReadOnly:     s.readOnly.Load(),
		MinFreeBytes: s.minFree.Load(),
		Uploads:      s.uploads.Load(),
		FlushWait:    s.flushWait.get(),
	}, nil
}

// checkWritable refuses new mail in read-only mode or below the floor. The
// floor is checked against the space unprivileged writers may use (f_bavail).
func (s *Store) checkWritable() error {
	if s.readOnly.Load() {
		return ErrReadOnly
	}
	floor := s.minFree.Load()
	if floor == 0 {
		return nil
	}
	free, ok := s.free.get()
	if !ok {
		st, err := s.Status()
		if err != nil {
			return err
		}
		free = st.FreeBytes
	}
	if free < floor {
		return fmt.Errorf("%w: %d bytes free, floor is %d", ErrNoSpace, free, floor)
	}
	return nil
}

// freeSpaceMaxAge: checkWritable trusts a free-space reading this old.
// The floor is a safety margin of hundreds of megabytes, and a statfs(2)
// per upload and per commit was a tenth of the store's system calls.
const freeSpaceMaxAge = 100 * time.Millisecond

// freeSpace is the last statfs reading of the bytes available.
type freeSpace struct {
	bytes atomic.Uint64
	at    atomic.Int64 // monoNanos() of the reading; 0: none
}

func (f *freeSpace) set(n uint64) {
	f.bytes.Store(n)
	f.at.Store(monoNanos())
}

func (f *freeSpace) get() (uint64, bool) {
	at := f.at.Load()
	return f.bytes.Load(), at != 0 && monoNanos()-at < int64(freeSpaceMaxAge)
}

// monoStart anchors monoNanos.
var monoStart = time.Now()

// monoNanos is the monotonic time in nanoseconds since the package was
// loaded, plus one (so never zero). An age measured on the wall clock
// (UnixNano) would make a reading look fresh for as long as the clock
// jumped back, and the free-space floor would go unchecked meanwhile.
func monoNanos() int64 { return int64(time.Since(monoStart)) + 1 }

// noSpace marks a full disk (or quota) as ErrNoSpace so that callers answer
// with a temporary error and powersmtp tries another backend.
func noSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// checkName refuses anything that is not a canonical mailbox name. Names are
// hashed, so this is not what keeps paths inside the root; it keeps one
// mailbox from having two spellings and two directories.
func checkName(n mailbox.Name) error {
	c, err := mailbox.Parse(string(n))
	if err != nil {
		return err
	}
	if c != n {
		return fmt.Errorf("%w: %q is not canonical (%q)", mailbox.ErrSyntax, n, c)
	}
	return nil
}

// checkID refuses ids that are not msgid syntax; ids become file names.
func checkID(id msgid.ID) error {
	_, err := msgid.Parse(string(id))
	return err
}
