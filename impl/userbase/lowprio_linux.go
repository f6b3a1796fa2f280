package userbase

import (
	"syscall"
	"time"
)

// lowestNice is the nice value of password-check threads: the lowest
// priority, so the kernel runs them only on CPU that nothing at normal
// priority (SMTP delivery, the backends) wants.
const lowestNice = 19

// lowerThreadPriority sets the nice value of the calling OS thread. On
// Linux the nice value is per thread, and PRIO_PROCESS with a thread id
// changes that thread only (setpriority(2), NOTES). Failure is ignored: the
// check still runs, at normal priority.
func lowerThreadPriority() {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), lowestNice)
}

// rusageThread is getrusage(2)'s RUSAGE_THREAD, which package syscall does
// not name.
const rusageThread = 1

// threadCPU returns the CPU time the calling OS thread has used so far, or
// 0 if it cannot be read.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
