package ppclient

import (
	"errors"
	"fmt"

	"powermail/impl/pp"
)

// ErrUnreachable is matched (errors.Is) by every TransportError: the
// backend could not be reached or stopped speaking the protocol. It is
// temporary; a front end should use another backend or try again later.
var ErrUnreachable = errors.New("backend unreachable")

// ErrImpostor means the server could not prove that it knows the secret.
var ErrImpostor = errors.New("backend failed to prove it knows the shared secret")

// ErrShortSecret: Config.Secret is shorter than pp.MinSecretBytes.
var ErrShortSecret = errors.New("ppclient: secret shorter than 16 bytes")

// TransportError is a failure to talk to the backend: dial, I/O, timeout,
// context cancellation, malformed reply, failed mutual authentication.
// Errors that the server reports are *pp.Error instead.
type TransportError struct {
	Addr string
	Op   string // verb or "dial"
	Err  error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("backend %s: %s: %v", e.Addr, e.Op, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreachable) true.
func (e *TransportError) Is(target error) bool { return target == ErrUnreachable }

// Temporary is always true: another attempt, or another backend, may work.
func (e *TransportError) Temporary() bool { return true }

// IsTemporary reports whether err is worth retrying: a transport error or a
// 4xx reply from the server.
func IsTemporary(err error) bool {
	var werr *pp.Error
	if errors.As(err, &werr) {
		return werr.Temporary()
	}
	return errors.Is(err, ErrUnreachable)
}

// ErrDestination is matched by every *DestinationError.
var ErrDestination = errors.New("the destination stopped the copy")

// DestinationError means that a GET failed on the caller's side: the writer
// it gave failed (the POP client went away) or stopped the copy on purpose
// (TOP has its lines). The backend is not at fault and must not be marked
// down for it; the connection is closed, since the rest of the body is unread.
type DestinationError struct{ Err error }

func (e *DestinationError) Error() string { return "copy to destination stopped: " + e.Err.Error() }

func (e *DestinationError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrDestination) true.
func (e *DestinationError) Is(target error) bool { return target == ErrDestination }

// malformed is a reply that does not parse; the connection is discarded.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", pp.ErrMalformedReply, fmt.Sprintf(format, args...))
}
