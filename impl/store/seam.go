package store

import "golang.org/x/sys/unix"

// fsync and syncfs are the system calls behind syncFD and syncFS. The
// crash-consistency test (crash_test.go) replaces them to record, at every
// flush, what a power cut at that instant would leave on disk; nothing else
// may change them. syncFileRange is behind writebackError; flush_test.go
// replaces it to report a lost write-back.
var (
	fsync         = unix.Fsync
	syncfs        = unix.Syncfs
	syncFileRange = unix.SyncFileRange
)
