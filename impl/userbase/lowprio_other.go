//go:build !linux

package userbase

import "time"

// lowerThreadPriority does nothing where the nice value is not per thread.
func lowerThreadPriority() {}

// threadCPU is not available here; atLowPriority uses the wall time.
func threadCPU() time.Duration { return 0 }
