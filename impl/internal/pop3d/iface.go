package pop3d

import (
	"context"
	"errors"
	"fmt"
	"io"

	"powermail/impl/mailbox"
)

// Authenticator checks a login and its password and names the mailbox they
// open. login is as the client typed it, with "%" already turned into "@"
// (see normalizeLogin); mapping aliases or catch-alls is the implementation's
// business.
//
// Errors: ErrAuthFailed (wrapped or not) for an unknown login AND for a wrong
// password, so that both get the same reply; a temporary error (see
// IsTemporary) when the userbase cannot answer now; anything else is a
// permanent failure.
type Authenticator interface {
	Authenticate(ctx context.Context, login, password string) (mailbox.Name, error)
}

// APOPAuthenticator is implemented by an Authenticator that can return the
// shared secret of a login (a plaintext password), which APOP (RFC 1939
// section 7) needs. Without it the server neither offers nor accepts APOP.
// Unknown logins return ErrAuthFailed.
type APOPAuthenticator interface {
	APOPSecret(ctx context.Context, login string) (box mailbox.Name, secret string, err error)
}

// Maildrops opens a mailbox for one session. The server holds its own lock
// per mailbox (RFC 1939 section 8), so Open is never called twice at once for
// one name on one Server.
type Maildrops interface {
	Open(ctx context.Context, box mailbox.Name) (Maildrop, error)
}

// Message is one entry of a maildrop listing.
type Message struct {
	UID  string // RFC 1939 section 7 unique-id: 1-70 printable ASCII (0x21-0x7E)
	Size int64  // octets of the stored form, as RETR sends it before ".\r\n"
}

// Maildrop is an open mailbox. Message numbers i are 0-based indexes into
// Messages(); the server presents them 1-based.
type Maildrop interface {
	// Messages returns the listing, in a stable order, fixed for the session.
	Messages() []Message
	// Retrieve writes the stored form of message i to w: CRLF lines,
	// dot-stuffed, ending in CRLF, without the ".\r\n" terminator. w
	// implements io.ReaderFrom that reaches the client socket, so io.Copy
	// from a backend *net.TCPConn (or an io.LimitedReader over one) splices.
	// An error after some bytes were written makes the server drop the
	// connection, since the client cannot tell a short message otherwise.
	Retrieve(ctx context.Context, i int, w io.Writer) error
	// Delete removes messages is, called once in the UPDATE state. It must
	// be idempotent: another instance may delete the same message.
	Delete(ctx context.Context, is []int) error
	// Close releases the maildrop; called once at the end of the session.
	Close() error
}

// ErrAuthFailed is the error an Authenticator returns for bad credentials,
// unknown login included.
var ErrAuthFailed = errors.New("pop3d: authentication failed")

// ErrTemporary may be wrapped by errors of Authenticator, Maildrops and
// Maildrop to mark a failure that a retry later may not have
// ("-ERR [SYS/TEMP]", RFC 2449 section 8.1).
var ErrTemporary = errors.New("pop3d: temporary failure")

// ErrBusy, wrapped by an Authenticator's error, says that the credentials
// were not checked because too many checks are running. It is temporary
// ("-ERR [SYS/TEMP]"), and the reply waits at least AuthDelayBase: a
// guessing flood must not be answered faster than a wrong password.
var ErrBusy = fmt.Errorf("%w: too many credential checks in progress", ErrTemporary)

// IsTemporary reports whether err wraps ErrTemporary or has a
// Temporary() bool method (as net errors and many client libraries do) that
// returns true, anywhere in its chain.
func IsTemporary(err error) bool {
	if errors.Is(err, ErrTemporary) {
		return true
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
