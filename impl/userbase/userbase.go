// Package userbase answers the two questions every RCPT and every POP login
// asks: "is this a mailbox, and what are its quota and forwards?" and "is
// this the right password?". It keeps PowerMail's rule that a mailbox listed
// in the userbase works: adding a mailbox is one SQL INSERT.
//
// The data lives in an SQL database, either MySQL/MariaDB for production or
// an embedded SQLite file for a machine with no database server. Both get
// the same schema (see schema.go) and the very same query text:
//
//	mailboxes                                    backends (watched by powersmtp/powerpop)
//	+---------------+------------------------+   +----------+-----------------------+
//	| mbox (PK)     | "alice@example.com",   |   | addr (PK)| "10.0.0.5:1101"       |
//	|               | or "*@example.com" for |   | grp      | placement group       |
//	|               | the domain's catch-all |   | priority | lower is preferred    |
//	| password_hash | "{argon2id}$argon2id$" |   | readonly | 1 = take no new mail  |
//	| quota_bytes   | 0 = unlimited          |   | enabled  | 0 = not in the list   |
//	| forward       | "a@x,b@y": forward-only|   +----------+-----------------------+
//	| enabled       | 0 = as if absent       |
//	+---------------+------------------------+
//
// Results that mean something: ErrNoSuchMailbox (SMTP 550) is returned only
// when the database answered that there is no such row; any failure to get
// an answer (database down, timeout, missing table) is an error for which
// errors.Is(err, ErrTemporary) holds (SMTP 451). A database hiccup must never
// bounce mail.
//
// Cached (see Open) puts two caches in front of the database: a lookup cache
// with separate TTLs for found and not-found answers, and a cache of
// successful password verifications keyed by an HMAC so that it never holds a
// password (see store.go).
package userbase

import (
	"context"
	"errors"
	"strings"

	"powermail/impl/mailbox"
)

// Entry is what a recipient lookup or a login returns.
type Entry struct {
	// Name is the mailbox that holds the mail: the recipient itself, or
	// "*@domain" when the domain's catch-all matched.
	Name mailbox.Name
	// QuotaBytes limits the mailbox's total size; 0 means unlimited.
	QuotaBytes int64
	// Forward lists destinations; a non-empty list makes the mailbox
	// forward-only (mail is relayed, not stored).
	Forward []string
	// CatchAll is true when Name is a "*@domain" entry.
	CatchAll bool
}

// Userbase is what powersmtp and powerpop need. Implementations are safe for
// concurrent use.
type Userbase interface {
	// Lookup finds rcpt, then its domain's catch-all "*@domain". It returns
	// an error wrapping ErrNoSuchMailbox or ErrTemporary on failure.
	Lookup(ctx context.Context, rcpt mailbox.Name) (Entry, error)
	// Authenticate checks a POP login. login may spell "@" as "%" (as
	// PowerMail allowed). An unknown login and a wrong password give the
	// same ErrAuthFailed; a database failure gives ErrTemporary.
	Authenticate(ctx context.Context, login, password string) (Entry, error)
}

// Mailbox is a row of the mailboxes table, as the administrator sees it.
type Mailbox struct {
	Name mailbox.Name
	// PasswordHash is the stored form "{scheme}..." (package password);
	// empty means no login is possible.
	PasswordHash string
	QuotaBytes   int64
	Forward      []string
	Enabled      bool
}

// Entry returns what lookups report about m.
func (m Mailbox) Entry() Entry {
	return Entry{Name: m.Name, QuotaBytes: m.QuotaBytes, Forward: m.Forward, CatchAll: m.Name.IsCatchAll()}
}

// Source is the uncached database as Cached sees it.
type Source interface {
	// Find returns the enabled row named name, else the enabled row of
	// name's catch-all, else an error wrapping ErrNoSuchMailbox.
	Find(ctx context.Context, name mailbox.Name) (Mailbox, error)
}

var (
	// ErrNoSuchMailbox means the database answered: no such (enabled) mailbox.
	ErrNoSuchMailbox = errors.New("no such mailbox")
	// ErrAuthFailed means unknown login or wrong password (deliberately
	// indistinguishable).
	ErrAuthFailed = errors.New("authentication failed")
	// ErrTemporary is matched (errors.Is) by every error that means "could
	// not get an answer now; try again later".
	ErrTemporary = errors.New("userbase temporarily unavailable")
	// ErrInvalid is wrapped by errors about administrator input: bad names,
	// over-long fields, negative quotas.
	ErrInvalid = errors.New("invalid userbase input")
	// ErrExists is returned when adding a mailbox or backend that exists.
	ErrExists = errors.New("already exists")
	// ErrNoSuchBackend is returned when changing a backend that is not listed.
	ErrNoSuchBackend = errors.New("no such backend")
)

// TemporaryError carries the cause of a temporary failure for the log;
// errors.Is(err, ErrTemporary) is true for it.
type TemporaryError struct {
	Op  string // what was being done, e.g. "lookup"
	Err error  // the driver's error
}

func (e *TemporaryError) Error() string {
	return "userbase " + e.Op + ": temporarily unavailable: " + e.Err.Error()
}

// Unwrap exposes both ErrTemporary and the cause to errors.Is/As.
func (e *TemporaryError) Unwrap() []error { return []error{ErrTemporary, e.Err} }

// Temporary reports true, for callers that test the net.Error-style
// Temporary() method rather than ErrTemporary (pop3d.IsTemporary does both).
func (e *TemporaryError) Temporary() bool { return true }

func temporary(op string, err error) error { return &TemporaryError{Op: op, Err: err} }

// LoginName maps a POP login to a mailbox name. PowerMail's powerpop let
// users type "%" for "@" because some clients refused "@" in a user name;
// only a login without any "@" is mapped, and only its last "%", so that a
// login is never read two ways.
func LoginName(login string) (mailbox.Name, error) {
	if !strings.Contains(login, "@") {
		if i := strings.LastIndexByte(login, '%'); i >= 0 {
			login = login[:i] + "@" + login[i+1:]
		}
	}
	return mailbox.Parse(login)
}
