package bench

import (
	"os"
	"powermail/loadgen/limits"
	"testing"
)

// TestHostBusySec: the machine's busy CPU is read from /proc/stat, and
// it grows while this process computes.
func TestHostBusySec(t *testing.T) {
	a, err := limits.BusyCPUSec()
	if err != nil {
		t.Fatal(err)
	}
	self, err := procCPUSec(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for {
		if now, _ := procCPUSec(os.Getpid()); now-self >= 0.05 {
			break
		}
	}
	b, err := limits.BusyCPUSec()
	if err != nil {
		t.Fatal(err)
	}
	// Both files count in clock ticks (10 ms): allow two ticks of rounding.
	if a <= 0 || b-a < 0.05-0.02 {
		t.Errorf("host busy %v s, then %v s after 50 ms of this process's CPU", a, b)
	}
}
