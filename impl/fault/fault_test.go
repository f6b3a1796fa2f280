package fault

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestValues(t *testing.T) {
	if !errors.Is(Err("EIO"), syscall.EIO) || !errors.Is(Err("ENOSPC"), syscall.ENOSPC) {
		t.Fatal("named errnos")
	}
	for _, v := range []any{nil, "", "skip", true, 3} {
		if Err(v) != nil {
			t.Fatalf("Err(%v) should be nil: off/sleep terms pass nil", v)
		}
	}
	if Int(3) != 3 || Int(nil) != 0 || Int("3") != 0 {
		t.Fatal("Int")
	}
	t0 := time.Unix(1000, 0)
	if !Shift(t0, -1500).Equal(time.Unix(998, 5e8)) || !Shift(t0, nil).Equal(t0) || !Shift(t0, "x").Equal(t0) {
		t.Fatal("Shift")
	}
	Crash(nil) // the "off" term: nothing happens
	Crash(false)
}

// TestCrashKills runs Crash(true) in a child process: it must die of
// SIGKILL, not exit or panic (deferred code must not run).
func TestCrashKills(t *testing.T) {
	if os.Getenv("FAULT_CRASH_CHILD") == "1" {
		defer os.Exit(3) // would run after a panic; never after SIGKILL
		Crash(true)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKills$")
	cmd.Env = append(os.Environ(), "FAULT_CRASH_CHILD=1")
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child did not die: %v", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", ws)
	}
}
