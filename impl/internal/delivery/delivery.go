// Package delivery stores one accepted SMTP message on several backends, the
// step where PowerMail's promise ("either email is accepted or it is not")
// is kept or broken.
//
// A message is streamed once to each of R chosen backends while it arrives
// (no whole-message buffering), then made durable in one round trip per
// backend, two steps the backend takes in order:
//
//	prepare  chunks + END(size, CRC-32C); the backend fsyncs tmp/<id>
//	commit   one COMMIT naming all local recipients, sent with END; the
//	         backend hard-links tmp/<id> into each mailbox and fsyncs the
//	         dirs (a COMMIT after a failed END is refused)
//	reply    250 only when at least W replicas committed (RFC 5321 section 6.1:
//	         after 250 the message MUST NOT be lost)
//
// When fewer than W replicas commit, the sender gets 451 4.3.0 and will
// retry under a new id, so no copy of this one may ever show: every
// replica that was sent COMMIT gets VOID (a durable tombstone for the id in
// its mailboxes, then the copy removed; a tombstone where a login looks
// hides every copy, see package maildrop), and when a VOID or ABORT fails,
// more backends take tombstones until each mailbox has R (see tombstones).
// Replicas that never got COMMIT get ABORT (the tmp file removed). A VOID or
// ABORT that cannot be delivered is appended to the orphan log so that
// repair can remove the stray copy later. The original committed one
// backend after another and kept partial copies on failure, so retries
// duplicated mail.
//
// Sending COMMIT with END saves a round trip per backend on every message;
// the price is paid only when a replica fails: the others may have
// committed by then and are voided, where two phases would have aborted
// them. One window remains either way: while one replica has committed and
// another may still fail, a POP3 session that lists the mailbox sees a
// message that is then voided (and retried by its sender). It lasts until
// the slowest replica answers.
//
// All recipients of a message share one transfer and one file per backend:
// 100 recipients on R=2 cost two transfers and two files (with 100 links
// each) under PowerMail's placement. Under rendezvous placement each
// mailbox has its own backends (its Target): the message goes once to
// every backend of their union, and each backend's COMMIT names the
// mailboxes that chose it. The quorum is per mailbox: W of its copies
// committed, one of them at home.
//
// Forward-only recipients are relayed to the outgoing SMTP host in one
// transaction. With forwards the two steps are two round trips: the relay's
// end-of-data is sent after every backend prepared and before the commits,
// so a relay refusal still aborts the whole message;
// the remaining window (relay accepted, then fewer than W commits) is the one
// place a sender's retry can duplicate a forwarded copy: a relay has no
// two-phase commit.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/orphanlog"
)

// Upload is one replica's conversation about one message, on one
// connection: the stream, then COMMIT (adapted from *ppclient.Upload).
// Each step is sent at once and answered by its Wait, so that all replicas
// of a message work in parallel without a goroutine each.
type Upload interface {
	io.Writer
	// Flush sends what Write buffered (a slow sender's stream stays alive).
	Flush() error
	// End announces size and checksum; Wait nil: durable in the backend's tmp/.
	End() Step
	// Commit links the prepared message into boxes; Wait nil: committed.
	Commit(boxes []mailbox.Name) Step
	// EndCommit is End and Commit in one round trip; Wait nil: committed.
	EndCommit(boxes []mailbox.Name) Step
	// Cancel drops the connection unless a Commit was answered.
	Cancel()
}

// Step is a request sent to a backend whose reply is not read yet.
type Step interface {
	Wait() error
}

// Backend is what delivery needs of one pplistener.
type Backend interface {
	Name() string
	Begin(ctx context.Context, id msgid.ID) (Upload, error)
	// Abort removes every trace of id in boxes, on a connection of its own
	// (the upload's may be broken).
	Abort(ctx context.Context, id msgid.ID, boxes []mailbox.Name) error
	// Void leaves a durable tombstone for id in each of boxes, then aborts.
	Void(ctx context.Context, id msgid.ID, boxes []mailbox.Name) error
}

// Picker chooses backends for a new message: for each mailbox, where its
// copies may go (package placement decides).
type Picker interface {
	// Pick returns one Target per mailbox of boxes, in that order; n is
	// the number of copies wanted (R).
	Pick(boxes []mailbox.Name, n int) ([]Target, error)
}

// Target is where the copies for one mailbox may go: the first R of
// Candidates that take an upload. The first Home candidates are the
// mailbox's home, which every login lists: a committed copy, and the
// tombstone that hides a refused one, must be on one of them for the
// mailbox to count as delivered or as hidden. Under PowerMail's policy
// every login lists every backend, and Home is len(Candidates).
type Target struct {
	Candidates []Backend
	Home       int
}

// home reports whether b is one of t's home candidates.
func (t Target) home(b Backend) bool {
	for _, c := range t.Candidates[:t.Home] {
		if c.Name() == b.Name() {
			return true
		}
	}
	return false
}

// Relay sends a message to the outgoing SMTP host (see package relay).
type Relay interface {
	// Start opens a transaction for rcpts; the returned sink takes the stored
	// form (dot-stuffed CRLF) and Commit sends the final "." and waits.
	Start(ctx context.Context, from string, rcpts []string) (RelaySink, error)
}

// RelaySink is an open relay transaction.
type RelaySink interface {
	io.Writer
	Commit() error
	Cancel()
}

// QuotaUsage reports the bytes a mailbox holds (see package quota).
type QuotaUsage interface {
	// Usage with exact false may be a recent estimate; a refusal is only
	// ever based on an exact figure.
	Usage(ctx context.Context, box mailbox.Name, exact bool) (int64, error)
	// Added records size bytes just stored in box.
	Added(box mailbox.Name, size int64)
}

// Message is the envelope of one transaction.
type Message struct {
	ID         msgid.ID // the id to store under; a fresh one when empty
	From       string
	Recipients []mail.Recipient
	Received   time.Time
}

// Config holds the redundancy policy and deadlines.
type Config struct {
	Redundancy     int           // R: replicas written per message
	WriteQuorum    int           // W: committed replicas needed before 250
	BackendTimeout time.Duration // bound for one backend step (begin, finish, commit, abort)
	ChunkBytes     int           // read size when streaming the body
	// KeepaliveInterval: while a slow sender's body trickles in, what has
	// arrived is sent to the backends at least this often, so that they do
	// not drop the stream as idle (0: only when a chunk is full).
	KeepaliveInterval time.Duration
}

// Validate rejects combinations that cannot keep the promise.
func (c Config) Validate() error {
	switch {
	case c.Redundancy < 1:
		return errors.New("redundancy must be at least 1")
	case c.WriteQuorum < 1 || c.WriteQuorum > c.Redundancy:
		return fmt.Errorf("write quorum must be between 1 and redundancy (%d)", c.Redundancy)
	case c.BackendTimeout <= 0:
		return errors.New("backend timeout must be positive")
	case c.ChunkBytes < 512:
		return errors.New("chunk size must be at least 512 bytes")
	}
	return nil
}

// Deliverer runs deliveries; it is safe for concurrent use.
type Deliverer struct {
	cfg     Config
	picker  Picker
	relay   Relay          // nil: forwards are refused
	quota   QuotaUsage     // nil: quotas are not checked at end of data
	orphans *orphanlog.Log // nil: failed aborts are only logged
	log     *slog.Logger
	now     func() time.Time
}

// New returns a Deliverer; relay, quota and orphans may be nil.
func New(cfg Config, picker Picker, relay Relay, quota QuotaUsage, orphans *orphanlog.Log, log *slog.Logger) *Deliverer {
	if log == nil {
		log = slog.Default()
	}
	return &Deliverer{cfg: cfg, picker: picker, relay: relay, quota: quota, orphans: orphans, log: log, now: time.Now}
}

// Refusals, as the SMTP reply the sender gets.
var (
	errNoBackends = &mail.Reply{Code: 451, Enhanced: "4.3.0", Text: "not enough storage backends available, try again later"}
	errReplicas   = &mail.Reply{Code: 451, Enhanced: "4.3.0", Text: "message could not be stored redundantly, try again later"}
	errQuota      = &mail.Reply{Code: 552, Enhanced: "5.2.2", Text: "mailbox full"}
	errNoRelay    = &mail.Reply{Code: 451, Enhanced: "4.4.0", Text: "forwarding unavailable, try again later"}
)

// Result describes an accepted message.
type Result struct {
	ID        msgid.ID
	Replicas  []string // backends that committed
	Forwarded int      // recipients relayed
	Bytes     int64
}
