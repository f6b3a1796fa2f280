// Package powercut is a FUSE file system that can lose power, in the
// spirit of LazyFS (Jepsen; etcd's robustness tests): every operation
// passes through to a backing directory, and a Cut throws away everything
// that was not made durable, leaving what a disk would show after a power
// loss if the file system kept exactly what was fsynced. The chaos suite
// runs real pplisteners on it and cuts the power under them.
//
// # What is durable
//
// The model is POSIX read strictly, stricter than ext4 (no journal that
// commits a rename or a link together with an unrelated fsync):
//
//   - A file's data and size become durable with fsync or fdatasync of
//     that file; its mode and mtime with fsync. Data written after the
//     last fsync is lost, all of it (never torn).
//   - A directory entry (create, mkdir, link, unlink, rmdir, rename)
//     becomes durable only with fsync of the directory that holds it
//     (FUSE_FSYNCDIR). The fsync makes all of that directory's current
//     entries durable, and nothing of any other directory. fsync of a
//     file never persists its name.
//   - A rename is two entries: the new name is durable when the target
//     directory is fsynced, the removal of the old one when the source
//     is. Fsync only the target and a cut shows both names (a file, as
//     a hard link; a directory, under one of them, as fsck would keep it);
//     fsync only the source and the file is gone.
//   - An inode exists after a cut if a durable entry names it. A file
//     whose name is durable but whose data was never synced comes back
//     empty, with the mode it was created with. Link counts are what the
//     durable entries add up to.
//   - syncfs(2) and sync(2) make nothing durable: Linux sends FUSE_SYNCFS
//     only to virtiofs and fuseblk servers (a plain /dev/fuse mount, as
//     here, never sees it; Linux 6.18 checked, and go-fuse v2.12 has no
//     handler for the opcode either). A store that counts on syncfs must
//     fsync files and directories on a FUSE file system.
//
// Symlinks and device nodes are refused; extended attributes, owners and
// atime are passed through and not modelled.
//
// # How
//
// The live state is the backing directory itself (go-fuse's loopback
// node), so every read and write sees real POSIX semantics. Next to it a
// model keeps, per inode (its own numbers, never reused): a directory's
// entries now and as of its last fsync, and whether objects/<ino> holds a
// file's data as of its last fsync (copied at the fsync). A cut unmounts
// the file system, writes the durable image as a new backing directory
// (walking the durable entries from the root), forgets every inode it did
// not reach and mounts again; the kernel starts with empty caches, as
// after a reboot.
//
//	<state>/
//	├── live-<gen>/     the backing directory of power cycle <gen>
//	└── objects/<ino>   a file's data as of its last fsync
//
// Everything runs under one mutex per disk: the namespace changes in the
// backing directory and the model in the same order, and a cut waits for
// an fsync in progress. Kill a disk's users before cutting its power: a
// file still open then keeps the old mount busy, and the cut aborts its
// FUSE connection (as root; the open files fail with ENOTCONN) or
// detaches it lazily (the old mount's syncs fail with EIO). Nothing done
// through the old mount reaches the new one.
package powercut
