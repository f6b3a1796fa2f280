// Package maildrop presents one mailbox as a single list although its
// messages are spread over many backends, PowerMail's "all messages for this
// mailbox are retrieved from the backends; duplicates are filtered out and
// the unified list is presented to the user".
//
// Merge: at open, the backends that may hold the mailbox are asked for its
// listing, concurrently and under a deadline. Which ones is the placement
// policy's answer (a Location, see package placement): under PowerMail's
// every reachable backend (placement is per message, so any may hold some
// of it); under rendezvous the mailbox's home backends, and when that
// listing is incomplete (one of them did not answer, or a message is
// listed by fewer than R backends) also the deeper ranks of its ranking,
// where a failure pushed copies and tombstones. Listings are united by
// message id; an id that carries a tombstone on ANY backend listed is
// hidden; the order is by id, which starts with the delivery time, so it
// is the same on every instance and after every failover, and the UIDL
// (the id) never changes. Unreachable backends are skipped: the session
// shows what the reachable replicas hold.
//
// Deletes (applied at QUIT): each deleted id gets DELETE, which leaves a
// durable tombstone and unlinks the copy, on every backend listed that
// holds it, and on further reachable backends (the Location's order: home
// first) until at least R backends have acknowledged a tombstone, one of
// them a home backend every later login lists; a further one for each
// that fails. Each DELETE has its own IOTimeout; a backend that failed is
// not asked again in the same UPDATE, so a dead backend costs one timeout,
// not one per message. The promise: after QUIT answered +OK, the message
// never reappears, even when a backend that was down during the delete
// comes back with its copy, as long as fewer than R backends are lost: one
// of the R tombstones survives where a login looks and hides the stale
// copy, and repair removes it. When that is not possible the delete fails
// (-ERR [SYS/TEMP]) rather than promise what it cannot keep. The original
// kept its delete log on one POP host and only the last failure, so
// deleted mail came back through the other POP hosts.
package maildrop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/ppclient"
)

// Backend is what the maildrop needs of one pplistener.
type Backend interface {
	Name() string
	List(ctx context.Context, box mailbox.Name) (mail.Listing, error)
	Get(ctx context.Context, box mailbox.Name, id msgid.ID, w io.Writer) (int64, error)
	Delete(ctx context.Context, box mailbox.Name, id msgid.ID) error
}

// Config holds the redundancy target and deadlines.
type Config struct {
	Redundancy  int           // R: tombstones needed for a delete
	ListTimeout time.Duration // bound for listing one backend at login
	IOTimeout   time.Duration // bound for one DELETE
}

// Maildrops opens merged maildrops.
type Maildrops struct {
	cfg    Config
	locate func(mailbox.Name) Location
	log    *slog.Logger
}

// Location is where a login of one mailbox looks and where its deletes go
// (placement.Location, as backends believed up).
type Location struct {
	Ask   []Backend // listed at open
	Extra []Backend // listed too when the listing of Ask is incomplete
	// Degraded: a backend of Ask is not reachable; Extra is listed at once.
	Degraded bool
	// Home names the backends of which a delete needs one tombstone; nil:
	// any backend will do (every login lists every backend).
	Home []string
	// Order is where a delete's tombstones go after the holders; nil: the
	// backends listed, from a rotation per message.
	Order []Backend
}

// Everywhere is the Location of PowerMail's placement: every backend of
// reachable.
func Everywhere(reachable []Backend) Location { return Location{Ask: reachable} }

// New returns a Maildrops; locate says where a mailbox's mail may be.
func New(cfg Config, locate func(mailbox.Name) Location, log *slog.Logger) *Maildrops {
	if log == nil {
		log = slog.Default()
	}
	return &Maildrops{cfg: cfg, locate: locate, log: log}
}

// Message is one entry of the merged list: the entry as the backends
// listed it, and which of them did.
type Message struct {
	mail.Entry
	holders []Backend // backends whose listing had it, in listing order
}

// Maildrop is the merged, fixed view of one mailbox for one session.
type Maildrop struct {
	m        *Maildrops
	box      mailbox.Name
	loc      Location
	msgs     []Message
	backends []Backend // that answered at open
}

// ErrUnavailable is returned when no backend could be asked.
var ErrUnavailable = errors.New("maildrop: no backend reachable")

// Open lists box where its Location says and merges the answers.
func (m *Maildrops) Open(ctx context.Context, box mailbox.Name) (*Maildrop, error) {
	loc := m.locate(box)
	ask, extra := loc.Ask, loc.Extra
	if loc.Degraded {
		ask, extra = append(slices.Clone(ask), extra...), nil
	}
	listed := m.list(ctx, box, ask)
	if len(extra) > 0 && incomplete(listed, m.cfg.Redundancy) {
		extraListings.Inc()
		listed = append(listed, m.list(ctx, box, extra)...)
	}
	var answered []Backend
	for _, l := range listed {
		if l.listing != nil {
			answered = append(answered, l.b)
		}
	}
	if len(answered) == 0 {
		return nil, ErrUnavailable
	}
	return &Maildrop{m: m, box: box, loc: loc, msgs: merge(listed), backends: answered}, nil
}

// listed is one backend's listing; nil if it did not answer.
type listed struct {
	b       Backend
	listing *mail.Listing
}

// list asks each of backends for box's listing, concurrently.
func (m *Maildrops) list(ctx context.Context, box mailbox.Name, backends []Backend) []listed {
	out := make([]listed, len(backends))
	var wg sync.WaitGroup
	for i, b := range backends {
		out[i].b = b
		wg.Go(func() {
			lctx, cancel := context.WithTimeout(ctx, m.cfg.ListTimeout)
			defer cancel()
			l, err := b.List(lctx, box)
			if err != nil {
				backendErrors.WithLabelValues(b.Name(), "list").Inc()
				m.log.Warn("backend listing failed; session shows the others", "backend", b.Name(), "err", err)
				return
			}
			out[i].listing = &l
		})
	}
	wg.Wait()
	return out
}

// incomplete reports whether a listing leaves something to look for
// further down the ranking: a backend that did not answer, or a message
// (not tombstoned) that fewer than r backends list.
func incomplete(ls []listed, r int) bool {
	holders := map[msgid.ID]int{}
	dead := map[msgid.ID]bool{}
	for _, l := range ls {
		if l.listing == nil {
			return true
		}
		for _, e := range l.listing.Messages {
			holders[e.ID]++
		}
		for _, t := range l.listing.Tombstones {
			dead[t.ID] = true
		}
	}
	for id, n := range holders {
		if n < r && !dead[id] {
			return true
		}
	}
	return false
}

// merge unites listings by id, hides tombstoned ids and sorts by id.
func merge(ls []listed) []Message {
	dead := map[msgid.ID]bool{}
	for _, l := range ls {
		if l.listing == nil {
			continue
		}
		for _, t := range l.listing.Tombstones {
			dead[t.ID] = true
		}
	}
	byID := map[msgid.ID]*Message{}
	for _, l := range ls {
		if l.listing == nil {
			continue
		}
		for _, e := range l.listing.Messages {
			if dead[e.ID] {
				continue
			}
			if byID[e.ID] == nil {
				byID[e.ID] = &Message{Entry: e}
			}
			byID[e.ID].holders = append(byID[e.ID].holders, l.b)
		}
	}
	out := make([]Message, 0, len(byID))
	for _, msg := range byID {
		out = append(out, *msg)
	}
	slices.SortFunc(out, func(a, b Message) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}

// Messages returns the merged list, fixed for the session.
func (d *Maildrop) Messages() []Message { return d.msgs }

// Usage is the mailbox's size in bytes, for quota checks at delivery.
func (m *Maildrops) Usage(ctx context.Context, box mailbox.Name) (int64, error) {
	d, err := m.Open(ctx, box)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, msg := range d.msgs {
		n += msg.Size
	}
	return n, nil
}

// ErrUnreachable is returned when no copy of a message could be read.
var ErrUnreachable = errors.New("maildrop: no copy of the message is reachable")

// PartialError means some bytes were written before the copy failed: the
// caller cannot take them back and must close the connection.
type PartialError struct {
	Written int64
	Err     error
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("maildrop: copy failed after %d bytes: %v", e.Written, e.Err)
}

func (e *PartialError) Unwrap() error { return e.Err }

// Retrieve writes message i's stored form to w from one replica, falling
// back to the next copy when a replica fails before sending anything. An
// error matching ppclient.ErrDestination comes from w's side (Backend.Get
// must report it so) and is returned as it is. The
// first copy tried is chosen by the id, so reads spread over the replicas
// instead of all going to the first backend in the list.
func (d *Maildrop) Retrieve(ctx context.Context, i int, w io.Writer) error {
	msg := d.msgs[i]
	var lastErr error = ErrUnreachable
	start := rotation(msg.ID, len(msg.holders))
	for n := range msg.holders {
		b := msg.holders[(start+n)%len(msg.holders)]
		if n > 0 {
			fallbacks.Inc()
		}
		cw := &countingWriter{w: w}
		_, err := b.Get(ctx, d.box, msg.ID, cw)
		if err == nil {
			return nil
		}
		if errors.Is(err, ppclient.ErrDestination) {
			// w stopped the copy (TOP has its lines) or the POP client went
			// away: not the backend's fault, and no other copy would help.
			return err
		}
		backendErrors.WithLabelValues(b.Name(), "get").Inc()
		if cw.n > 0 {
			return &PartialError{Written: cw.n, Err: err}
		}
		d.m.log.Warn("replica read failed; trying another copy", "backend", b.Name(), "id", msg.ID, "err", err)
		lastErr = err
	}
	return fmt.Errorf("%w: %v", ErrUnreachable, lastErr)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadFrom keeps the zero-copy path: when the destination is a socket and the
// source a socket, io.Copy inside the backend client reaches splice.
func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	n, err := io.Copy(c.w, r)
	c.n += n
	return n, err
}
