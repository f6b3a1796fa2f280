// Package diskstore adapts powermail/impl/store to ppserver.Store: it
// turns the store's errors into protocol replies (the values, listings and
// status, are package mail's on both sides and pass as they are). It is
// the only place that knows both packages, so the listener can be tested
// against a fake and the store knows nothing of the wire.
package diskstore

import (
	"errors"
	"os"
	"time"

	"powermail/impl/internal/ppserver"
	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/pp"
	"powermail/impl/store"
)

// Disk is a *store.Store seen as a ppserver.Store.
type Disk struct{ s *store.Store }

var _ ppserver.Store = Disk{}

// New wraps s.
func New(s *store.Store) Disk { return Disk{s} }

// replyCodes maps the store's sentinel errors to reply codes. Anything not
// listed (an I/O error, a failed fsync) stays a plain error: the listener
// logs it and answers ERR 451 without details.
var replyCodes = []struct {
	err  error
	code int
}{
	{store.ErrReadOnly, pp.CodeReadOnly},
	{store.ErrNoSpace, pp.CodeNoSpace},
	{store.ErrNotFound, pp.CodeNotFound},
	{store.ErrChecksum, pp.CodeFailed},
	{store.ErrTooLarge, pp.CodeTooLarge},
	{store.ErrExists, pp.CodeFailed},
	{store.ErrNotPrepared, pp.CodeBadSequence},
}

func classify(err error) error {
	for _, rc := range replyCodes {
		if errors.Is(err, rc.err) {
			return &pp.Error{Code: rc.code, Text: err.Error()}
		}
	}
	return err
}

func (d Disk) Begin(id msgid.ID) (ppserver.Upload, error) {
	u, err := d.s.Begin(id)
	if err != nil {
		return nil, classify(err)
	}
	return upload{u}, nil
}

type upload struct{ u *store.Upload }

func (u upload) Write(p []byte) (int, error) {
	n, err := u.u.Write(p)
	return n, classify(err)
}

func (u upload) Finish(size int64, crc uint32) error { return classify(u.u.Finish(size, crc)) }
func (u upload) Cancel()                             { u.u.Cancel() }

func (d Disk) Commit(id msgid.ID, boxes []mailbox.Name) error {
	return classify(d.s.Commit(id, boxes))
}

func (d Disk) Abort(id msgid.ID, boxes []mailbox.Name) error {
	return classify(d.s.Abort(id, boxes))
}

func (d Disk) Void(id msgid.ID, boxes []mailbox.Name, now time.Time) error {
	return classify(d.s.Void(id, boxes, now))
}

func (d Disk) List(box mailbox.Name) (mail.Listing, error) {
	l, err := d.s.List(box)
	return l, classify(err)
}

func (d Disk) OpenMessage(box mailbox.Name, id msgid.ID) (*os.File, int64, error) {
	f, size, err := d.s.OpenMessage(box, id)
	return f, size, classify(err)
}

func (d Disk) Delete(box mailbox.Name, id msgid.ID, now time.Time) error {
	return classify(d.s.Delete(box, id, now))
}

func (d Disk) ExpireTombstones(now time.Time) (int, error) {
	n, err := d.s.ExpireTombstones(now)
	return n, classify(err)
}

func (d Disk) ExpireUploads(cutoff time.Time) (int, error) {
	n, err := d.s.ExpireUploads(cutoff)
	return n, classify(err)
}

func (d Disk) Mailboxes() ([]mailbox.Name, error) {
	names, err := d.s.Mailboxes()
	return names, classify(err)
}

func (d Disk) Status() (mail.BackendStatus, error) {
	st, err := d.s.Status()
	return st, classify(err)
}

func (d Disk) SetReadOnly(on bool)      { d.s.SetReadOnly(on) }
func (d Disk) SetMinFreeBytes(n uint64) { d.s.SetMinFreeBytes(n) }
