package app

import (
	"errors"
	"testing"

	"powermail/impl/internal/pop3d"
	"powermail/impl/userbase"
)

// Saturated password checks reach pop3d as ErrBusy (its reply then waits),
// other temporary failures as plain ErrTemporary, the rest as a failed
// login.
func TestPopErrorTellsBusyFromDown(t *testing.T) {
	busy := popError(&userbase.TemporaryError{Op: "password check", Err: userbase.ErrVerifyBusy})
	if !errors.Is(busy, pop3d.ErrBusy) || !pop3d.IsTemporary(busy) {
		t.Errorf("saturated checks: %v", busy)
	}
	down := popError(&userbase.TemporaryError{Op: "lookup", Err: errors.New("connection refused")})
	if errors.Is(down, pop3d.ErrBusy) || !pop3d.IsTemporary(down) {
		t.Errorf("userbase down: %v", down)
	}
	if err := popError(userbase.ErrNoSuchMailbox); !errors.Is(err, pop3d.ErrAuthFailed) {
		t.Errorf("unknown login: %v", err)
	}
}
