package delivery

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/orphanlog"
)

const body = "Received: by test\r\nSubject: hi\r\n\r\n..dot-stuffed line\r\nbye\r\n"

func cfg(r, w int) Config {
	return Config{Redundancy: r, WriteQuorum: w, BackendTimeout: time.Second, ChunkBytes: 512}
}

func msgTo(names ...string) Message {
	m := Message{From: "s@remote.example"}
	for _, n := range names {
		m.Recipients = append(m.Recipients, mail.Recipient{Mailbox: mailbox.MustParse(n)})
	}
	return m
}

func fakes(n int) ([]*fakeBackend, fixedPicker) {
	var fs []*fakeBackend
	var p fixedPicker
	for i := 0; i < n; i++ {
		f := newFake(fmt.Sprintf("b%d", i))
		fs = append(fs, f)
		p = append(p, f)
	}
	return fs, p
}

// countingReader tells whether the deliverer read the body to its end.
type countingReader struct {
	r    *strings.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func deliver(t *testing.T, d *Deliverer, m Message, text string) (Result, error) {
	t.Helper()
	cr := &countingReader{r: strings.NewReader(text)}
	res, err := d.Deliver(context.Background(), m, cr)
	assert.Equal(t, len(text), cr.read, "body must be read to its end")
	return res, err
}

func TestAllReplicasCommitted(t *testing.T) {
	fs, p := fakes(2)
	d := New(cfg(2, 2), p, nil, nil, nil, nil)
	res, err := deliver(t, d, msgTo("a@x.example"), body)
	require.NoError(t, err)
	assert.Equal(t, []string{"b0", "b1"}, res.Replicas)
	for _, f := range fs {
		assert.Equal(t, body, string(f.prepared[res.ID]), "byte-identical replica")
		assert.True(t, f.links["a@x.example"][res.ID])
	}
}

func TestSpareReplacesRefusingBackend(t *testing.T) {
	fs, p := fakes(3)
	fs[0].failBegin = true
	d := New(cfg(2, 2), p, nil, nil, nil, nil)
	res, err := deliver(t, d, msgTo("a@x.example"), body)
	require.NoError(t, err)
	assert.Equal(t, []string{"b1", "b2"}, res.Replicas)
}

// R=2, W=2 with one backend failing at each later phase: 451 and no copy
// anywhere, so the sender's retry creates no duplicate.
func TestBelowQuorumAbortsEverywhere(t *testing.T) {
	for _, phase := range []string{"begin", "write", "finish", "commit"} {
		t.Run(phase, func(t *testing.T) {
			fs, p := fakes(2)
			switch phase {
			case "begin":
				fs[1].failBegin = true
			case "write":
				fs[1].failWrite = true
			case "finish":
				fs[1].failFinish = true
			case "commit":
				fs[1].failCommit = true
			}
			d := New(cfg(2, 2), p, nil, nil, nil, nil)
			_, err := deliver(t, d, msgTo("a@x.example"), body)
			var e *mail.Reply
			require.ErrorAs(t, err, &e)
			assert.Equal(t, 451, e.Code)
			assert.Equal(t, "4.3.0", e.Enhanced)
			for _, f := range fs {
				assert.Zero(t, f.copies(), "%s keeps a copy", f.name)
			}
		})
	}
}

// R=3, W=2 with one failing: 250, two durable copies, the straggler cleaned.
func TestQuorumToleratesOneFailure(t *testing.T) {
	fs, p := fakes(3)
	fs[2].failCommit = true
	d := New(cfg(3, 2), p, nil, nil, nil, nil)
	res, err := deliver(t, d, msgTo("a@x.example"), body)
	require.NoError(t, err)
	assert.Equal(t, []string{"b0", "b1"}, res.Replicas)
	assert.Equal(t, 1, fs[2].aborts)
	assert.Zero(t, fs[2].copies())
}

func TestManyRecipientsOneTransferPerBackend(t *testing.T) {
	fs, p := fakes(2)
	var names []string
	for i := 0; i < 100; i++ {
		names = append(names, fmt.Sprintf("user%d@x.example", i))
	}
	names = append(names, "USER0@x.example") // same mailbox twice
	m := msgTo(names...)
	d := New(cfg(2, 2), p, nil, nil, nil, nil)
	res, err := deliver(t, d, m, body)
	require.NoError(t, err)
	for _, f := range fs {
		assert.Equal(t, 1, f.begins, "one transfer per backend")
		assert.Len(t, f.prepared, 1, "one file per backend")
		assert.Len(t, f.links, 100)
		assert.True(t, f.links["user99@x.example"][res.ID])
	}
}

// b1 fails END, so the message is refused; b0 took END and COMMIT (sent
// together) and may hold a committed copy: its VOID fails, so it is logged
// as a stray, and b1 takes a tombstone in its stead, logged as Voided.
func TestAbortFailureIsRecordedAsOrphan(t *testing.T) {
	fs, p := fakes(2)
	fs[0].failAbort = true
	fs[1].failFinish = true
	path := filepath.Join(t.TempDir(), "orphans")
	log, err := orphanlog.Open(path)
	require.NoError(t, err)
	d := New(cfg(2, 2), p, nil, nil, log, nil)
	_, err = deliver(t, d, msgTo("a@x.example"), body)
	require.Error(t, err)
	require.NoError(t, log.Close())
	got, err := orphanlog.Read(path)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "b0", got[0].Backend)
	assert.Equal(t, []mailbox.Name{"a@x.example"}, got[0].Boxes)
	assert.False(t, got[0].Acked, "a refused message")
	assert.False(t, got[0].Voided)
	assert.Equal(t, "b1", got[1].Backend)
	assert.True(t, got[1].Voided, "b1 holds a tombstone")
}

// A message answered 4xx never becomes visible (issue 14): replica b0
// committed but its answer was lost and it cannot be reached after; b1
// refused the commit. The VOID goes to b0 and b1 (both fail) and then to
// the spare b2, whose tombstone hides b0's copy.
func TestRefusedMessageIsVoidedOnASpare(t *testing.T) {
	fs, p := fakes(3)
	fs[0].commitSilently, fs[0].failAbort = true, true
	fs[1].failCommit, fs[1].failAbort = true, true
	d := New(cfg(2, 2), p, nil, nil, nil, nil)
	m := msgTo("a@x.example")
	m.ID = "01a22c158a413e780fc46ba933807fab2d44a91c7f11"
	_, err := deliver(t, d, m, body)
	var e *mail.Reply
	require.ErrorAs(t, err, &e)
	require.True(t, e.Temporary())
	require.True(t, fs[0].links["a@x.example"][m.ID], "the stray copy the test is about")
	assert.False(t, fs[0].visible("a@x.example", m.ID, fs), "visible after 4xx")
	assert.Equal(t, 1, fs[2].voids, "the spare took the VOID")
	assert.Zero(t, fs[2].begins, "and nothing else")
}

// After the quorum, a straggler is cleaned up with ABORT, never VOID (a
// tombstone would hide the accepted message everywhere), and an abort that
// fails is logged as Acked, so repair never removes that copy as stray.
func TestStragglerAfterQuorumIsAbortedNotVoided(t *testing.T) {
	fs, p := fakes(2)
	fs[1].failCommit, fs[1].failAbort = true, true
	path := filepath.Join(t.TempDir(), "orphans")
	log, err := orphanlog.Open(path)
	require.NoError(t, err)
	d := New(cfg(2, 1), p, nil, nil, log, nil)
	res, err := deliver(t, d, msgTo("a@x.example"), body)
	require.NoError(t, err)
	assert.True(t, fs[0].visible("a@x.example", res.ID, fs))
	assert.Zero(t, fs[0].voids+fs[1].voids)
	require.NoError(t, log.Close())
	got, err := orphanlog.Read(path)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.True(t, got[0].Acked)
}

func TestNoBackendsIsTemporary(t *testing.T) {
	d := New(cfg(2, 2), fixedPicker(nil), nil, nil, nil, nil)
	_, err := deliver(t, d, msgTo("a@x.example"), body)
	var e *mail.Reply
	require.ErrorAs(t, err, &e)
	assert.True(t, e.Temporary())
}

func TestBodyErrorAbortsAndIsReturned(t *testing.T) {
	fs, p := fakes(2)
	d := New(cfg(2, 2), p, nil, nil, nil, nil)
	dataErr := &mail.Reply{Code: 552, Enhanced: "5.3.4", Text: "message too big"}
	_, err := d.Deliver(context.Background(), msgTo("a@x.example"), &failingReader{err: dataErr})
	assert.Equal(t, dataErr, err)
	for _, f := range fs {
		assert.Zero(t, f.copies())
	}
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestForwardsRelayedInOneTransaction(t *testing.T) {
	fs, p := fakes(2)
	relay := &fakeRelay{}
	m := msgTo("a@x.example")
	m.Recipients = append(m.Recipients,
		mail.Recipient{Mailbox: "f1@x.example", Forward: []string{"out@else.example"}},
		mail.Recipient{Mailbox: "f2@x.example", Forward: []string{"out@else.example", "two@else.example"}})
	d := New(cfg(2, 2), p, relay, nil, nil, nil)
	res, err := deliver(t, d, m, body)
	require.NoError(t, err)
	assert.True(t, relay.done)
	assert.Equal(t, []string{"out@else.example", "two@else.example"}, relay.rcpts)
	assert.Equal(t, body, relay.got.String())
	assert.Equal(t, 2, res.Forwarded)
	assert.Len(t, fs[0].links, 1, "forward-only mailboxes store nothing")
}

func TestRelayRefusalAbortsLocalCopies(t *testing.T) {
	fs, p := fakes(2)
	relay := &fakeRelay{refuse: &mail.Reply{Code: 550, Enhanced: "5.7.1", Text: "relay says no"}}
	m := msgTo("a@x.example")
	m.Recipients = append(m.Recipients, mail.Recipient{Mailbox: "f@x.example", Forward: []string{"o@else.example"}})
	d := New(cfg(2, 2), p, relay, nil, nil, nil)
	_, err := deliver(t, d, m, body)
	var e *mail.Reply
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 550, e.Code)
	for _, f := range fs {
		assert.Zero(t, f.copies())
	}
}

func TestForwardWithoutRelayIsTemporary(t *testing.T) {
	_, p := fakes(2)
	m := Message{Recipients: []mail.Recipient{{Mailbox: "f@x.example", Forward: []string{"o@else.example"}}}}
	_, err := deliver(t, New(cfg(2, 2), p, nil, nil, nil, nil), m, body)
	assert.Equal(t, errNoRelay, err)
}

func TestQuotaMostGenerousRecipientWins(t *testing.T) {
	full := mail.Recipient{Mailbox: "full@x.example", QuotaBytes: 100}
	roomy := mail.Recipient{Mailbox: "roomy@x.example", QuotaBytes: 1 << 20}
	usage := fakeUsage{"full@x.example": 90}

	_, p := fakes(2)
	d := New(cfg(2, 2), p, nil, usage, nil, nil)
	_, err := deliver(t, d, Message{Recipients: []mail.Recipient{full}}, body)
	assert.Equal(t, errQuota, err)

	_, p = fakes(2)
	d = New(cfg(2, 2), p, nil, usage, nil, nil)
	_, err = deliver(t, d, Message{Recipients: []mail.Recipient{full, roomy}}, body)
	assert.NoError(t, err)
}

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, cfg(2, 2).Validate())
	assert.Error(t, cfg(0, 0).Validate())
	assert.Error(t, cfg(2, 3).Validate())
	assert.Error(t, cfg(2, 0).Validate())
	c := cfg(1, 1)
	c.ChunkBytes = 1
	assert.Error(t, c.Validate())
}

// Every backend down at the refusal: no VOID lands, the log keeps the id
// pending, and VoidPending leaves R tombstones once backends are back (the
// stray backends first) and records them, so a second run does nothing.
func TestPendingRefusalIsVoidedLater(t *testing.T) {
	fs, p := fakes(3)
	fs[0].commitSilently = true
	fs[1].failCommit = true
	for _, f := range fs {
		f.failAbort = true
	}
	path := filepath.Join(t.TempDir(), "orphans")
	log, err := orphanlog.Open(path)
	require.NoError(t, err)
	d := New(cfg(2, 2), p, nil, nil, log, nil)
	m := msgTo("a@x.example")
	m.ID = "01a22c158a413e780fc46ba933807fab2d44a91c7f11"
	_, err = deliver(t, d, m, body)
	require.Error(t, err)
	require.True(t, fs[0].visible("a@x.example", m.ID, fs), "no backend took the VOID")

	for _, f := range fs {
		f.failAbort = false
	}
	n, err := d.VoidPending(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.False(t, fs[0].visible("a@x.example", m.ID, fs))
	for _, f := range fs[:2] {
		assert.True(t, f.tombs["a@x.example"][m.ID], "%s: R tombstones, the stray backends first", f.name)
	}
	assert.Equal(t, 1, fs[2].voids, "the spare, tried once at the refusal only")
	n, err = d.VoidPending(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "recorded as done")
}
