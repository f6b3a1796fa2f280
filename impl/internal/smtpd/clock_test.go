package smtpd

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"powermail/impl/internal/wallclock"
)

// TestIDsFollowDeliveryOrderWhenTheClockJumps stamps messages while the
// wall clock jumps three hours back, is set right, jumps forward and is
// set right again: every id is greater than the one before, so each
// mailbox lists them in the order they were received (see msgid).
func TestIDsFollowDeliveryOrderWhenTheClockJumps(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var shift, elapsed time.Duration
	s := &session{srv: &Server{wall: wallclock.NewWith(func() time.Time { return base.Add(elapsed + shift) },
		func() time.Duration { return elapsed })}}
	var prev Transaction
	for i, jump := range []time.Duration{0, -3 * time.Hour, -3 * time.Hour, 0, 3 * time.Hour, 3 * time.Hour, 0, 0} {
		elapsed += 10 * time.Millisecond
		shift = jump
		var tx Transaction
		s.stamp(&tx)
		require.Equal(t, base.Add(elapsed+shift), tx.Received, "Received: shows the clock as read")
		require.Greater(t, tx.ID, prev.ID, "message %d, clock off by %v", i, jump)
		prev = tx
	}
}
