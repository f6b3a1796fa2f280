package store

import "os"

// fsync is the system call behind syncFile. The crash-consistency test
// (crash_test.go) replaces it to record, at every fsync, what a power cut
// at that instant would leave on disk; nothing else may change it.
var fsync = (*os.File).Sync
