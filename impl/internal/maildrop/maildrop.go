// Package maildrop presents one mailbox as a single list although its
// messages are spread over many backends, PowerMail's "all messages for this
// mailbox are retrieved from the backends; duplicates are filtered out and
// the unified list is presented to the user".
//
// Merge: at open, every reachable backend is asked for the mailbox listing,
// concurrently and under a deadline (placement is per message, so any backend
// may hold some of it). Listings are united by message id; an id that
// carries a tombstone on ANY backend is hidden; the order is by id, which
// starts with the delivery time, so it is the same on every instance and
// after every failover, and the UIDL (the id) never changes. Unreachable
// backends are skipped: the session shows what the reachable replicas hold.
//
// Deletes (applied at QUIT): each deleted id gets DELETE, which leaves a
// durable tombstone and unlinks the copy, on every reachable backend that
// holds it, and on further reachable backends until at least R backends have
// acknowledged a tombstone, a further one for each that fails. Each DELETE
// has its own IOTimeout; a backend that failed is not asked again in the
// same UPDATE, so a dead backend costs one timeout, not one per message.
// The promise: after QUIT answered +OK, the message
// never reappears, even when a backend that was down during the delete comes
// back with its copy, as long as fewer than R backends are lost: one of the R
// tombstones survives and hides the stale copy, and repair removes it. When
// fewer than R acknowledgements are possible the delete fails (-ERR
// [SYS/TEMP]) rather than promise what it cannot keep. The original kept its
// delete log on one POP host and only the last failure, so deleted mail came
// back through the other POP hosts.
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

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/ppclient"
	"powermail/impl/wire"
)

// Backend is what the maildrop needs of one pplistener.
type Backend interface {
	Name() string
	List(ctx context.Context, box mailbox.Name) (wire.Listing, error)
	Get(ctx context.Context, box mailbox.Name, id msgid.ID, w io.Writer) (int64, error)
	Delete(ctx context.Context, box mailbox.Name, id msgid.ID) error
}

// Config holds the redundancy target and deadlines.
type Config struct {
	Redundancy  int           // R: tombstones needed for a delete
	ListTimeout time.Duration // bound for listing one backend at login
	IOTimeout   time.Duration // bound for one DELETE
}

// Maildrops opens merged maildrops over the reachable backends.
type Maildrops struct {
	cfg       Config
	reachable func() []Backend
	log       *slog.Logger
}

// New returns a Maildrops; reachable lists the backends believed up.
func New(cfg Config, reachable func() []Backend, log *slog.Logger) *Maildrops {
	if log == nil {
		log = slog.Default()
	}
	return &Maildrops{cfg: cfg, reachable: reachable, log: log}
}

// Message is one entry of the merged list.
type Message struct {
	ID      msgid.ID
	Size    int64
	holders []Backend // backends whose listing had it, in listing order
}

// Maildrop is the merged, fixed view of one mailbox for one session.
type Maildrop struct {
	m        *Maildrops
	box      mailbox.Name
	msgs     []Message
	backends []Backend // reachable at open
}

// ErrUnavailable is returned when no backend could be asked.
var ErrUnavailable = errors.New("maildrop: no backend reachable")

// Open lists box on every reachable backend and merges the answers.
func (m *Maildrops) Open(ctx context.Context, box mailbox.Name) (*Maildrop, error) {
	backends := m.reachable()
	listings := make([]*wire.Listing, len(backends))
	var wg sync.WaitGroup
	for i, b := range backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lctx, cancel := context.WithTimeout(ctx, m.cfg.ListTimeout)
			defer cancel()
			l, err := b.List(lctx, box)
			if err != nil {
				backendErrors.WithLabelValues(b.Name(), "list").Inc()
				m.log.Warn("backend listing failed; session shows the others", "backend", b.Name(), "err", err)
				return
			}
			listings[i] = &l
		}()
	}
	wg.Wait()
	var answered []Backend
	for i, l := range listings {
		if l != nil {
			answered = append(answered, backends[i])
		}
	}
	if len(answered) == 0 {
		return nil, ErrUnavailable
	}
	return &Maildrop{m: m, box: box, msgs: merge(backends, listings), backends: answered}, nil
}

// merge unites listings by id, hides tombstoned ids and sorts by id.
func merge(backends []Backend, listings []*wire.Listing) []Message {
	dead := map[msgid.ID]bool{}
	for _, l := range listings {
		if l == nil {
			continue
		}
		for _, t := range l.Tombstones {
			dead[t.ID] = true
		}
	}
	byID := map[msgid.ID]*Message{}
	for i, l := range listings {
		if l == nil {
			continue
		}
		for _, e := range l.Messages {
			if dead[e.ID] {
				continue
			}
			if byID[e.ID] == nil {
				byID[e.ID] = &Message{ID: e.ID, Size: e.Size}
			}
			byID[e.ID].holders = append(byID[e.ID].holders, backends[i])
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
