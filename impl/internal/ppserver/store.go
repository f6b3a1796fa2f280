package ppserver

import (
	"os"
	"time"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// Store is what the server needs from a backend's message store. Only the
// daemon's main knows the concrete type (see the diskstore package, which
// adapts powermail/impl/store). Errors that the client should see with a
// specific code are *wire.Error values; any other error becomes ERR 451 on
// the wire and is logged in full here.
type Store interface {
	// Begin starts receiving message id into a private temporary file.
	Begin(id msgid.ID) (Upload, error)
	// Commit makes a prepared message visible in every box; idempotent.
	Commit(id msgid.ID, boxes []mailbox.Name) error
	// Abort removes the prepared file and any links of id in boxes.
	Abort(id msgid.ID, boxes []mailbox.Name) error
	// Void leaves a durable tombstone for id in each of boxes, then aborts.
	Void(id msgid.ID, boxes []mailbox.Name, now time.Time) error
	List(box mailbox.Name) (mail.Listing, error)
	// OpenMessage returns the message file and its size; the caller closes it.
	OpenMessage(box mailbox.Name, id msgid.ID) (*os.File, int64, error)
	// Delete unlinks and leaves a durable tombstone, even if id is absent.
	Delete(box mailbox.Name, id msgid.ID, now time.Time) error
	ExpireTombstones(now time.Time) (int, error)
	// ExpireUploads removes prepared or partial uploads older than cutoff:
	// their writer gave up without COMMIT or ABORT.
	ExpireUploads(cutoff time.Time) (int, error)
	Mailboxes() ([]mailbox.Name, error)
	Status() (mail.BackendStatus, error)
	SetReadOnly(on bool)
	SetMinFreeBytes(n uint64)
}

// Upload receives the bytes of one message between PREPARE and END.
type Upload interface {
	Write(p []byte) (int, error)
	// Finish verifies length and CRC-32C and makes the file durable.
	Finish(size int64, crc uint32) error
	// Cancel discards the upload; nothing of it stays on disk.
	Cancel()
}
