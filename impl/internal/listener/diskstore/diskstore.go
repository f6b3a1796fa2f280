// Package diskstore adapts powermail/impl/store to listener.Store: it
// turns the store's errors into protocol replies (the values, listings and
// status, are package mail's on both sides and pass as they are). It is
// the only place that knows both packages, so the listener can be tested
// against a fake and the store knows nothing of the wire.
package diskstore

import (
	"errors"
	"os"
	"time"

	"powermail/impl/internal/listener"
	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/store"
	"powermail/impl/wire"
)

// Store is a *store.Store seen as a listener.Store.
type Store struct{ s *store.Store }

var _ listener.Store = Store{}

// New wraps s.
func New(s *store.Store) Store { return Store{s} }

// replyCodes maps the store's sentinel errors to reply codes. Anything not
// listed (an I/O error, a failed fsync) stays a plain error: the listener
// logs it and answers ERR 451 without details.
var replyCodes = []struct {
	err  error
	code int
}{
	{store.ErrReadOnly, wire.CodeReadOnly},
	{store.ErrNoSpace, wire.CodeNoSpace},
	{store.ErrNotFound, wire.CodeNotFound},
	{store.ErrChecksum, wire.CodeFailed},
	{store.ErrTooLarge, wire.CodeTooLarge},
	{store.ErrExists, wire.CodeFailed},
	{store.ErrNotPrepared, wire.CodeBadSequence},
}

func classify(err error) error {
	for _, rc := range replyCodes {
		if errors.Is(err, rc.err) {
			return &wire.Error{Code: rc.code, Text: err.Error()}
		}
	}
	return err
}

func (d Store) Begin(id msgid.ID) (listener.Upload, error) {
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

func (d Store) Commit(id msgid.ID, boxes []mailbox.Name) error {
	return classify(d.s.Commit(id, boxes))
}

func (d Store) Abort(id msgid.ID, boxes []mailbox.Name) error {
	return classify(d.s.Abort(id, boxes))
}

func (d Store) Void(id msgid.ID, boxes []mailbox.Name, now time.Time) error {
	return classify(d.s.Void(id, boxes, now))
}

func (d Store) List(box mailbox.Name) (mail.Listing, error) {
	l, err := d.s.List(box)
	return l, classify(err)
}

func (d Store) OpenMessage(box mailbox.Name, id msgid.ID) (*os.File, int64, error) {
	f, size, err := d.s.OpenMessage(box, id)
	return f, size, classify(err)
}

func (d Store) Delete(box mailbox.Name, id msgid.ID, now time.Time) error {
	return classify(d.s.Delete(box, id, now))
}

func (d Store) ExpireTombstones(now time.Time) (int, error) {
	n, err := d.s.ExpireTombstones(now)
	return n, classify(err)
}

func (d Store) ExpireUploads(cutoff time.Time) (int, error) {
	n, err := d.s.ExpireUploads(cutoff)
	return n, classify(err)
}

func (d Store) Mailboxes() ([]mailbox.Name, error) {
	names, err := d.s.Mailboxes()
	return names, classify(err)
}

func (d Store) Status() (mail.BackendStatus, error) {
	st, err := d.s.Status()
	return st, classify(err)
}

func (d Store) SetReadOnly(on bool)      { d.s.SetReadOnly(on) }
func (d Store) SetMinFreeBytes(n uint64) { d.s.SetMinFreeBytes(n) }
