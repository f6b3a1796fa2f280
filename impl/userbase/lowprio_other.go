//go:build !linux

package userbase

// lowerThreadPriority does nothing where the nice value is not per thread.
func lowerThreadPriority() {}
