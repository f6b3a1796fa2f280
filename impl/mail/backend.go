package mail

import (
	"time"

	"powermail/impl/msgid"
)

// Entry is one stored message of a mailbox.
type Entry struct {
	ID   msgid.ID
	Size int64
}

// Tombstone records that a message was deleted from a mailbox, and when:
// it keeps a stale replica or a repair from bringing the message back.
// A backend keeps Deleted to the microsecond (it is the file's mtime); the
// backend protocol carries milliseconds.
type Tombstone struct {
	ID      msgid.ID
	Deleted time.Time
}

// Listing is the content of one mailbox on one backend, each slice sorted
// by id (and so by delivery time).
type Listing struct {
	Messages   []Entry
	Tombstones []Tombstone
}

// BackendStatus is what a backend reports of itself (the STATUS verb):
// what a front end needs to choose a backend (free space, read-only, load)
// and what an operator wants to see.
type BackendStatus struct {
	FreeBytes, TotalBytes, FreeInodes uint64
	// Messages counts message files in mailboxes, one per id however many
	// mailboxes hold it.
	Messages     int64
	Mailboxes    int
	ReadOnly     bool
	MinFreeBytes uint64
	// The load (package store, load.go): uploads in flight, and the moving
	// average of a delivery's wait for durability. The backend protocol
	// carries FlushWait in whole microseconds, rounded up, so a wait that
	// was measured never reads as 0.
	Uploads   int64
	FlushWait time.Duration
}
