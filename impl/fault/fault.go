// Package fault gives meaning to the values of failpoints
// (github.com/pingcap/failpoint) so that each marker in the daemons stays a
// one-liner. Markers are no-ops in release builds (`make build`); only
// binaries built by `make build-failpoints` evaluate them, with terms taken
// from GO_FAILPOINTS or set at run time through GO_FAILPOINTS_HTTP:
//
//	powermail/impl/store/beforeLink=return(true)        kill -9 at that phase
//	powermail/impl/store/fsync=return("EIO")            fsync fails with EIO
//	powermail/impl/store/fsync=sleep(200)               a slow disk
//	powermail/impl/store/fsync=3*return(false)->return(true)   the 4th call crashes
//	powermail/impl/internal/smtpd/clock=return(-7200000)  the wall clock reads 2 h early
//
// failpoint runs a marker's body with a nil value for the "off", "sleep"
// and "print" terms, so every function here treats a value it does not
// recognise as "do nothing".
//
// The package is public, and imports nothing of the project, because
// public packages mark failpoints with it (the store, the userbase), and a
// public package never imports an internal one (see the README's layout).
package fault

import (
	"os"
	"syscall"
	"time"
)

// Crash kills this process with SIGKILL when val is true: an abrupt stop at
// exactly this point, like a power cut without the loss of the page cache.
// A panic would not do: deferred calls and recover() would still run.
func Crash(val any) {
	if val != true {
		return
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way; run nothing more
}

// errnos are the errors a failpoint may name.
var errnos = map[string]error{
	"EIO":       syscall.EIO,
	"ENOSPC":    syscall.ENOSPC,
	"EDQUOT":    syscall.EDQUOT,
	"ETIMEDOUT": syscall.ETIMEDOUT,
}

// Err is the error named by val ("EIO", "ENOSPC", ...), or nil.
func Err(val any) error {
	s, ok := val.(string)
	if !ok {
		return nil
	}
	return errnos[s]
}

// Int is val as an int (failpoint's return(3) gives an int), else 0.
func Int(val any) int {
	n, _ := val.(int)
	return n
}

// Shift is t moved by val milliseconds (return(-7200000): two hours back),
// a jump of the wall clock (fault F9). Any other value leaves t as it is.
func Shift(t time.Time, val any) time.Time {
	return t.Add(time.Duration(Int(val)) * time.Millisecond)
}
