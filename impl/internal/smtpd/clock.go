package smtpd

import (
	"time"

	"github.com/pingcap/failpoint"

	"powermail/impl/fault"
)

// shiftClock is the failpoint on powersmtp's wall clock (chaos fault F9):
// powermail/impl/internal/smtpd/clock=return(-7200000) makes it read two
// hours early. It is read for message ids and Received: dates.
func shiftClock(t time.Time) time.Time {
	failpoint.Inject("clock", func(val failpoint.Value) { t = fault.Shift(t, val) })
	return t
}
