package pop3d

import (
	"time"

	"github.com/pingcap/failpoint"

	"powermail/impl/fault"
	"powermail/impl/internal/wallclock"
)

// wall is powerpop's clock. It dates nothing that outlives the process
// (tombstones are dated by the backends), so no rule of package wallclock
// is needed here; the seam is where chaos makes powerpop's clock jump.
var wall = wallclock.New(shiftClock)

// shiftClock is the failpoint on powerpop's wall clock (chaos fault F9):
// powermail/impl/internal/pop3d/clock=return(-7200000) makes it read two
// hours early. It is read for the login penalties.
func shiftClock(t time.Time) time.Time {
	failpoint.Inject("clock", func(val failpoint.Value) { t = fault.Shift(t, val) })
	return t
}
