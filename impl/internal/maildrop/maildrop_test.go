package maildrop

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/pp"
)

// memBackend is an in-memory backend with an on/off switch.
type memBackend struct {
	name string
	mu   sync.Mutex
	down bool
	// failGetAfter > 0 makes Get fail after writing that many bytes.
	failGetAfter int
	// failDelete makes Delete fail at once; hangDelete makes it wait for
	// its context (a backend that stopped answering). deletes counts calls.
	failDelete, hangDelete bool
	deletes                int
	msgs                   map[mailbox.Name]map[msgid.ID][]byte
	tombs                  map[mailbox.Name]map[msgid.ID]time.Time
	lists                  int // LIST requests, answered or not
}

func newMem(name string) *memBackend {
	return &memBackend{name: name, msgs: map[mailbox.Name]map[msgid.ID][]byte{},
		tombs: map[mailbox.Name]map[msgid.ID]time.Time{}}
}

var errDown = errors.New("connection refused")

func (b *memBackend) Name() string { return b.name }

func (b *memBackend) put(box mailbox.Name, id msgid.ID, data string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.msgs[box] == nil {
		b.msgs[box] = map[msgid.ID][]byte{}
	}
	b.msgs[box][id] = []byte(data)
}

func (b *memBackend) setDown(v bool) { b.mu.Lock(); b.down = v; b.mu.Unlock() }

func (b *memBackend) List(_ context.Context, box mailbox.Name) (mail.Listing, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lists++
	if b.down {
		return mail.Listing{}, errDown
	}
	var l mail.Listing
	for id, data := range b.msgs[box] {
		l.Messages = append(l.Messages, mail.Entry{ID: id, Size: int64(len(data))})
	}
	for id, at := range b.tombs[box] {
		l.Tombstones = append(l.Tombstones, mail.Tombstone{ID: id, Deleted: at})
	}
	return l, nil
}

func (b *memBackend) Get(_ context.Context, box mailbox.Name, id msgid.ID, w io.Writer) (int64, error) {
	b.mu.Lock()
	data, ok := b.msgs[box][id]
	down, failAfter := b.down, b.failGetAfter
	b.mu.Unlock()
	switch {
	case down:
		return 0, errDown
	case !ok:
		return 0, &pp.Error{Code: 550, Text: "no such message"}
	case failAfter > 0:
		n, _ := w.Write(data[:failAfter])
		return int64(n), errors.New("connection reset")
	}
	n, err := w.Write(data)
	return int64(n), err
}

func (b *memBackend) Delete(ctx context.Context, box mailbox.Name, id msgid.ID) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deletes++
	switch {
	case b.hangDelete:
		b.mu.Unlock()
		<-ctx.Done()
		b.mu.Lock()
		return ctx.Err()
	case b.down || b.failDelete:
		return errDown
	}
	if b.tombs[box] == nil {
		b.tombs[box] = map[msgid.ID]time.Time{}
	}
	b.tombs[box][id] = time.Now()
	delete(b.msgs[box], id)
	return nil
}

const box = mailbox.Name("u@example.com")

func cluster(n int) []*memBackend {
	var out []*memBackend
	for i := 0; i < n; i++ {
		out = append(out, newMem(string(rune('a'+i))))
	}
	return out
}

// drops returns a Maildrops over the backends that are up, as the cluster's
// health checks would report them.
func drops(r int, bs []*memBackend) *Maildrops {
	reachable := func() []Backend {
		var out []Backend
		for _, b := range bs {
			b.mu.Lock()
			up := !b.down
			b.mu.Unlock()
			if up {
				out = append(out, b)
			}
		}
		return out
	}
	return New(Config{Redundancy: r, ListTimeout: time.Second, IOTimeout: time.Second},
		func(mailbox.Name) Location { return Everywhere(reachable()) }, nil)
}

func ids(d *Maildrop) []msgid.ID {
	var out []msgid.ID
	for _, m := range d.Messages() {
		out = append(out, m.ID)
	}
	return out
}

func TestMergeDeduplicatesAndOrdersByDeliveryTime(t *testing.T) {
	bs := cluster(3)
	early := msgid.New(time.UnixMilli(1_000_000))
	late := msgid.New(time.UnixMilli(2_000_000))
	bs[0].put(box, late, "late")
	bs[1].put(box, late, "late")
	bs[1].put(box, early, "early!")
	bs[2].put(box, early, "early!")
	d, err := drops(2, bs).Open(context.Background(), box)
	require.NoError(t, err)
	assert.Equal(t, []msgid.ID{early, late}, ids(d), "copies on 2 backends show once, oldest first")
	assert.Equal(t, int64(6), d.Messages()[0].Size)
}

func TestTombstoneAnywhereHides(t *testing.T) {
	bs := cluster(2)
	id := msgid.New(time.Now())
	bs[0].put(box, id, "x")
	require.NoError(t, bs[1].Delete(context.Background(), box, id))
	d, err := drops(2, bs).Open(context.Background(), box)
	require.NoError(t, err)
	assert.Empty(t, d.Messages())
}

func TestDownBackendStillListsTheOthers(t *testing.T) {
	bs := cluster(2)
	a, b := msgid.New(time.UnixMilli(1)), msgid.New(time.UnixMilli(2))
	bs[0].put(box, a, "on a")
	bs[1].put(box, b, "on b")
	bs[1].setDown(true)
	d, err := drops(2, bs).Open(context.Background(), box)
	require.NoError(t, err)
	assert.Equal(t, []msgid.ID{a}, ids(d))

	bs[0].setDown(true)
	_, err = drops(2, bs).Open(context.Background(), box)
	assert.ErrorIs(t, err, ErrUnavailable)
}

// A backend that errors on LIST although health checks call it up is
// skipped too.
func TestListErrorSkipsBackend(t *testing.T) {
	bs := cluster(2)
	id := msgid.New(time.Now())
	bs[0].put(box, id, "x")
	m := New(Config{Redundancy: 1, ListTimeout: time.Second, IOTimeout: time.Second},
		func(mailbox.Name) Location { return Everywhere([]Backend{bs[0], failingLister{bs[1]}}) }, nil)
	d, err := m.Open(context.Background(), box)
	require.NoError(t, err)
	assert.Equal(t, []msgid.ID{id}, ids(d))
}

type failingLister struct{ *memBackend }

func (failingLister) List(context.Context, mailbox.Name) (mail.Listing, error) {
	return mail.Listing{}, errors.New("timeout")
}

func TestRetrieveFallsBackToAnotherCopy(t *testing.T) {
	bs := cluster(2)
	id := msgid.New(time.Now())
	bs[0].put(box, id, "hello")
	bs[1].put(box, id, "hello")
	d, err := drops(2, bs).Open(context.Background(), box)
	require.NoError(t, err)
	msg := d.Messages()[0]
	first := msg.holders[rotation(msg.ID, len(msg.holders))].(*memBackend)
	first.setDown(true) // the copy tried first dies after login
	var out bytes.Buffer
	require.NoError(t, d.Retrieve(context.Background(), 0, &out))
	assert.Equal(t, "hello", out.String())

	for _, b := range bs {
		b.setDown(true)
	}
	err = d.Retrieve(context.Background(), 0, &out)
	assert.ErrorIs(t, err, ErrUnreachable)
}

func TestRetrieveFailureMidStreamIsPartial(t *testing.T) {
	bs := cluster(1)
	id := msgid.New(time.Now())
	bs[0].put(box, id, "hello world")
	bs[0].failGetAfter = 3
	d, err := drops(1, bs).Open(context.Background(), box)
	require.NoError(t, err)
	var out bytes.Buffer
	err = d.Retrieve(context.Background(), 0, &out)
	var pe *PartialError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, int64(3), pe.Written)
}

// The resurrection scenario of the issue: a replica holder is down during
// the delete, comes back with its copy, and the message stays deleted, also
// through a second, independent maildrop (another powerpop instance).
func TestDeleteWhileReplicaDownDoesNotResurrect(t *testing.T) {
	bs := cluster(3)
	id := msgid.New(time.Now())
	bs[0].put(box, id, "m")
	bs[1].put(box, id, "m")
	bs[1].setDown(true)

	d, err := drops(2, bs).Open(context.Background(), box)
	require.NoError(t, err)
	require.Len(t, d.Messages(), 1)
	require.NoError(t, d.Delete(context.Background(), []int{0}))
	assert.Len(t, bs[2].tombs[box], 1, "a non-holder carries the second tombstone")

	bs[1].setDown(false)
	second := drops(2, bs)
	d2, err := second.Open(context.Background(), box)
	require.NoError(t, err)
	assert.Empty(t, d2.Messages(), "deleted message came back")

	// Losing one backend (fewer than R=2) keeps it deleted.
	bs[0].setDown(true)
	d3, err := second.Open(context.Background(), box)
	require.NoError(t, err)
	assert.Empty(t, d3.Messages())
}

func TestDeleteNeedsRTombstones(t *testing.T) {
	bs := cluster(2)
	id := msgid.New(time.Now())
	bs[0].put(box, id, "m")
	bs[1].setDown(true)
	d, err := drops(2, bs).Open(context.Background(), box)
	require.NoError(t, err)
	assert.ErrorIs(t, d.Delete(context.Background(), []int{0}), ErrTooFewTombstones)
}

func TestUsageSumsMergedSizes(t *testing.T) {
	bs := cluster(2)
	id := msgid.New(time.Now())
	bs[0].put(box, id, "12345")
	bs[1].put(box, id, "12345")
	bs[1].put(box, msgid.New(time.Now()), "123")
	n, err := drops(2, bs).Usage(context.Background(), box)
	require.NoError(t, err)
	assert.Equal(t, int64(8), n)
}

// tombstoned counts the backends holding a tombstone for id.
func tombstoned(bs []*memBackend, id msgid.ID) int {
	n := 0
	for _, b := range bs {
		b.mu.Lock()
		if _, ok := b.tombs[box][id]; ok {
			n++
		}
		b.mu.Unlock()
	}
	return n
}

// Issue 14: a holder whose DELETE fails (it listed the mailbox, so it is
// reachable) must not fail the delete while a spare can take its tombstone.
func TestDeleteFailedHolderTombstoneGoesToSpare(t *testing.T) {
	bs := cluster(4)
	id := msgid.New(time.Now())
	bs[0].put(box, id, "m")
	bs[1].put(box, id, "m")
	bs[1].failDelete = true
	d, err := drops(2, bs).Open(context.Background(), box)
	require.NoError(t, err)
	require.NoError(t, d.Delete(context.Background(), []int{0}))
	assert.Equal(t, 2, tombstoned(bs, id), "R tombstones")
	assert.Len(t, bs[0].tombs[box], 1, "the healthy holder has one")
}

// Issue 14: every DELETE has its own timeout, and a backend that stopped
// answering is asked once per batch, not once per message, so a large
// UPDATE does not run out of its overall time and fail needlessly.
func TestDeleteHungHolderCostsOneTimeout(t *testing.T) {
	bs := cluster(4)
	const n, ioTimeout = 40, 100 * time.Millisecond
	var all []int
	for i := range n {
		id := msgid.New(time.UnixMilli(int64(1000 + i)))
		bs[0].put(box, id, "m")
		bs[1].put(box, id, "m")
		all = append(all, i)
	}
	bs[1].hangDelete = true
	m := drops(2, bs)
	m.cfg.IOTimeout = ioTimeout
	d, err := m.Open(context.Background(), box)
	require.NoError(t, err)
	// The whole UPDATE gets less than one timeout per message.
	ctx, cancel := context.WithTimeout(context.Background(), n*ioTimeout/4)
	defer cancel()
	require.NoError(t, d.Delete(ctx, all))
	for _, msg := range d.Messages() {
		assert.Equal(t, 2, tombstoned(bs, msg.ID), "tombstones of %s", msg.ID)
	}
	assert.LessOrEqual(t, bs[1].deletes, maxParallelDeletes, "DELETEs sent to the hung backend")
}
