package userbase

import "syscall"

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
