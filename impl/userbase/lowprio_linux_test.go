package userbase

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// threadNice reads the nice value of the calling OS thread (proc(5) stat,
// field 19).
func threadNice(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(syscall.Gettid()) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// The command name in field 2 may hold spaces; count from its ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	n, err := strconv.Atoi(f[16])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPasswordChecksRunAtLowestPriority: the check runs on a thread at nice
// 19, and the caller's thread keeps its priority.
func TestPasswordChecksRunAtLowestPriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadNice(t)
	var inside int
	atLowPriority(func() { inside = threadNice(t) })
	if inside != lowestNice {
		t.Errorf("check ran at nice %d, want %d", inside, lowestNice)
	}
	if after := threadNice(t); after != before {
		t.Errorf("caller's thread went from nice %d to %d", before, after)
	}
}

// TestLowPriorityWorkIsCPUTime: the rest a failed check earns counts the CPU
// it used, not the time it spent waiting for a CPU at nice 19.
func TestLowPriorityWorkIsCPUTime(t *testing.T) {
	spin := atLowPriority(func() {
		for start := threadCPU(); threadCPU()-start < 30*time.Millisecond; {
		}
	})
	if spin < 30*time.Millisecond {
		t.Errorf("30 ms of CPU counted as %v", spin)
	}
	sleep := atLowPriority(func() { time.Sleep(100 * time.Millisecond) })
	if sleep > 20*time.Millisecond {
		t.Errorf("a 100 ms sleep counted as %v of work", sleep)
	}
}
