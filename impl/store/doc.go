// Package store is the on-disk message store of one backend (one per disk).
//
// The whole system promises "no loss of mail", and this package is where that
// promise is kept or broken: it never reports success before the bytes and
// the directory entries that name them are on stable storage.
//
// # On-disk layout
//
//	<root>/
//	├── LOCK                      flock(2): one process per store
//	├── tmp/                      nothing here survives a restart
//	│   ├── <id>                  upload, mode 0200; Finish: 0640 "prepared"
//	│   └── box-<random>/         mailbox directory being built
//	└── mbox/
//	    └── 3f/                   hash[0:2]   (fan-out: 256 directories)
//	        └── a9/               hash[2:4]   (256 x 256 directories)
//	            └── 3fa9…/        hash = hex SHA-256 of the canonical name
//	                ├── name      "info@example.com\n"
//	                ├── <id>      message: a hard link, one inode per message
//	                └── <id>.tomb tombstone: empty file, mtime = deletion time
//
// <id> is a msgid.ID (44 lower-case hex digits). A mailbox directory is named
// after the SHA-256 of the canonical mailbox name, never after the raw input:
// whatever a client sends, only hex digits reach the file system, so no name
// can climb out of mbox/, and the mapping is the same on every platform and
// replica (an operator finds a mailbox with `printf %s NAME | sha256sum`). All
// access also goes through an os.Root or openat2(RESOLVE_BENEATH), which
// refuse any path that resolves outside the root. The name file lets
// Mailboxes list names again.
//
// A message delivered to N mailboxes of this backend is one file with N hard
// links, so a message to thousands of recipients is stored once.
//
// # The fsync sequence, and why
//
// Delivery is two-phase, driven by the writer (powersmtp):
//
//  1. Prepare (Begin, Write, Finish): create tmp/<id> with O_CREAT|O_EXCL,
//     write, check the announced length and CRC-32C, make the file readable
//     (the mark of a prepared file: Commit links nothing else), fsync it,
//     close. The data is now durable but in no mailbox.
//  2. Commit: hard-link tmp/<id> into each mailbox, fsync every mailbox
//     directory touched (and the parent of each directory created), and only
//     then return. The tmp name is removed afterwards, without fsync: startup
//     recovery empties tmp/ anyway.
//
// POSIX does not promise that fsync of a file persists the directory entry
// that names it, and many Linux file systems do not; an fsync of the
// directory does (the ALICE study, OSDI '14, found this gap in 11
// applications). A mailbox directory is therefore built under
// tmp/ with its name file fsynced, then renamed into place, and its parent is
// fsynced before anything is linked into it: a mailbox directory that exists
// always has its name.
//
// The link raises the file's link count, which the directory fsync does not
// write by itself. On a journaling file system (ext4 with a journal, xfs)
// the link and the count are one transaction that the directory fsync
// commits; without a journal, e2fsck repairs counts after a crash, as it
// must for everything else on such a file system.
//
// An fsync error fails that operation and is never retried: after a failed
// fsync, Linux may mark the dirty pages clean, so a second fsync can succeed
// although the data is gone (Rebello et al., ATC '20).
//
// # Group commit: two ways to flush
//
// "fsync" above stands for "make durable", which the store does in one of
// two ways (Options.Flush, pplistener's flush key):
//
//   - FlushFsync: each writer fsyncs its own file, then the directories it
//     changed; concurrent fsyncs of one directory are shared.
//   - FlushSyncfs (group commit): a writer that needs durability waits for
//     the next syncfs(2) of the store's file system. One syncfs runs at a
//     time; every writer that arrives while one runs joins the next, so a
//     batch of any size costs one flush, and a lone writer never waits for
//     a timer. The leader runs the flush; all members get its result.
//
// Why syncfs is enough: it writes back every dirty inode and page of the
// file system (data, inodes, directory blocks) and then flushes the
// device's cache (on ext4 without a journal, and with one through the
// journal commit), so everything a writer did before the flush started is
// on stable storage when it returns. The order the contract needs still
// holds, because a writer waits for a flush at each step where the order
// matters: the upload's bytes are durable (one flush) before END is
// answered, and so before any COMMIT can link them; the links are durable
// (a second flush) before COMMIT is answered. A message therefore costs a
// backend two flushes, shared with every writer in flight, and never a
// link to bytes that a power cut could lose. A mailbox directory is built
// and flushed under tmp/, renamed into place and flushed again, as above.
//
// Why only on some systems: syncfs reports write-back errors reliably only
// since Linux 5.8 (errseq on the superblock; an error seen by any writer
// fails the next flush, and so the whole batch, which is never retried),
// and only file systems that implement sync_fs with a cache flush make it
// a durability barrier; FUSE, for one, may not pass it on. FlushAuto
// therefore takes syncfs on ext4, xfs and btrfs with Linux >= 5.8 and
// FlushFsync elsewhere, and an explicit FlushSyncfs is refused elsewhere.
// syncfs also flushes other programs' dirty data on the same file system:
// a backend should own its disk (one pplistener per disk).
//
// Which flush an error fails: syncfs reports a write-back error once per
// descriptor, to the flush that meets it. The flush in flight when a writer
// joins the next batch may already write that writer's pages; if their
// write-back fails, the error fails the earlier batch, and the flush that
// covers the writer succeeds with the pages clean but not on disk. So after
// its flush, every new file whose bytes matter (an upload, a mailbox's name
// file) asks for its own write-back error with sync_file_range(2)
// SYNC_FILE_RANGE_WAIT_BEFORE on the descriptor it wrote through: the
// file's errseq cursor was sampled at open, before the first write, and
// still holds the error (writebackError; a syscall that waits for nothing
// after a flush). Metadata errors (links, names, inodes) abort the journal
// and fail every later flush, so they cannot be missed this way.
//
// # Directory handles
//
// The hot paths do not resolve paths: each mailbox directory (and tmp/) is
// opened once with openat2(2) and RESOLVE_BENEATH from the root's
// descriptor, so the kernel refuses any lookup that would leave the root,
// and kept in a bounded cache (dirfs.go); files are then created, linked,
// stat'ed and unlinked by a single name relative to the handle. A delivery
// to a known mailbox costs one openat, one fchmod, one close, one fstatat
// of the tmp file, one of the tombstone name, a linkat and an unlinkat,
// besides its writes and its share of the flushes. Cold paths (recovery,
// walks over every mailbox) go through an os.Root.
//
// Deletes write the tombstone first (file and directory fsynced) and unlink
// the message after, with a second directory fsync: a crash in between leaves
// a message with a tombstone, which Open finishes deleting. The other order
// could leave neither, and a stale replica or a repair would bring the
// deleted message back. Tombstones expire after Options.TombstoneTTL.
//
// # Tombstone dates, and a clock that jumps
//
// A tombstone's date is its mtime; ExpireTombstones removes those dated
// before its now minus TombstoneTTL, and both times come from the caller.
// A wall clock that jumps would make tombstones expire early: one that
// jumps forward by more than the TTL brings the cut-off past all of them,
// and one that is behind while a delete is made backdates the tombstone,
// which takes the difference for age once the clock is set right. Early
// expiry is the one thing a tombstone must never do (a stale replica's
// copy, or a refused delivery's, would come back), while late expiry only
// costs space. So pplistener dates tombstones by the later, and cuts off
// by the earlier, of its wall clock and its start time plus the monotonic
// time since, and at start it counts that time from Newest, this store's
// last write, when its clock claims more (package impl/internal/wallclock,
// which also says what no local rule can catch). ExpireUploads' cut-off
// comes from the same clock; the uploads are dated by the kernel's.
//
// Open empties tmp/ (uploads and prepared messages of a crashed process were
// never committed, so their writer was never told "stored") and finishes
// interrupted deletes. A directory that exists at start-up may exist only
// in the page cache (a process killed between creating it and fsyncing its
// parent), so it must be made durable before new messages are linked into
// it: under FlushSyncfs Open calls syncfs(2) once for everything; under
// FlushFsync (whose file systems may ignore syncfs) the first use of each
// mailbox directory fsyncs the parents that name it (verifyBox).
// While running, ExpireUploads removes what writers left in tmp/ (a prepare
// whose commit never came) and ExpireTombstones removes old tombstones.
//
// # Concurrency
//
// Deliveries run in parallel; no lock is held across a flush. Two things
// are serialised: operations on the same message id (Commit, Abort,
// Delete; so a commit racing a delete cannot resurrect the message), and
// flushes, which are coalesced: callers that arrive while a flush (a
// syncfs, or an fsync of their directory) is in flight share the next one,
// so eight deliveries to one mailbox cost two flushes, not eight.
//
// # Read-only mode and the free-space floor
//
// Both refuse new mail (Begin and Commit) and can be switched at run time.
// Delete, Abort and ExpireTombstones stay allowed: they free space, read-only
// is about not accepting new mail, and a refused delete would keep mail that
// the user deleted. A delete on a disk that is truly full fails with
// ErrNoSpace (the tombstone cannot be written) and leaves the message.
package store
