package repair_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"powermail/impl/internal/e2e/inproc"
	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/orphanlog"
	"powermail/impl/repair"
)

var (
	ann = mailbox.MustParse("ann@example.com")
	bob = mailbox.MustParse("bob@example.com")
)

const testTimeout = 60 * time.Second

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func cluster(bs []*inproc.Listener) []repair.Node {
	out := make([]repair.Node, len(bs))
	for i, b := range bs {
		out[i] = repair.Node{Member: mail.Member{Addr: b.Addr, Group: fmt.Sprint(i)}, Client: b.Client()}
	}
	return out
}

// message is a stored form with a recognisable body.
type message struct {
	id   msgid.ID
	body []byte
}

func newMessage(i int) message {
	id := msgid.New(time.Now().Add(time.Duration(i) * time.Millisecond))
	return message{id, []byte(fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", i, bytes.Repeat([]byte("body "), 100*i+1)))}
}

func run(t *testing.T, bs []*inproc.Listener, opt repair.Options) *repair.Report {
	t.Helper()
	if opt.Redundancy == 0 {
		opt.Redundancy = 2
	}
	rep, err := repair.Run(ctxT(t), cluster(bs), opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 0 {
		t.Fatalf("errors: %v", rep.ErrorSamples)
	}
	return rep
}

// holders returns the backends that hold m in box with exactly its bytes,
// and fails on a differing copy.
func holders(t *testing.T, bs []*inproc.Listener, box mailbox.Name, m message) int {
	t.Helper()
	n := 0
	for _, b := range bs {
		switch got := b.Read(box, m.id); {
		case got == nil:
		case bytes.Equal(got, m.body):
			n++
		default:
			t.Errorf("%s: %s %s differs (%d bytes, want %d)", b.Addr, box, m.id, len(got), len(m.body))
		}
	}
	return n
}

func assertNothingToDo(t *testing.T, bs []*inproc.Listener, opt repair.Options) {
	t.Helper()
	opt.DryRun = true
	if rep := run(t, bs, opt); !rep.Idle() || !rep.Clean() {
		t.Errorf("dry run after repair plans something: %+v", rep)
	}
	opt.DryRun = false
	if rep := run(t, bs, opt); !rep.Idle() || !rep.Clean() {
		t.Errorf("second run did something: %+v", rep)
	}
}

// TestLostBackendIsReReplicated: R=2 over three backends; one loses its
// disk and comes back empty; repair restores two byte-identical copies of
// everything, including a message in two mailboxes, and a second run does
// nothing.
func TestLostBackendIsReReplicated(t *testing.T) {
	bs := inproc.Start(t, 3)
	var msgs []message
	for i := range 9 {
		m := newMessage(i)
		msgs = append(msgs, m)
		bs[i%3].Put(m.id, m.body, ann, bob)
		bs[(i+1)%3].Put(m.id, m.body, ann, bob)
	}
	bs[0].Wipe()

	dry := run(t, bs, repair.Options{DryRun: true})
	if dry.ReReplicated != 12 || holders(t, bs, ann, msgs[0]) != 1 {
		t.Fatalf("dry run: %+v", dry)
	}
	rep := run(t, bs, repair.Options{})
	// Six of nine messages were on the lost backend, each in two mailboxes.
	if rep.ReReplicated != 12 || rep.Scanned != 18 || rep.BelowTarget != 0 || rep.Mailboxes != 2 {
		t.Fatalf("report: %+v", rep)
	}
	for _, m := range msgs {
		for _, box := range []mailbox.Name{ann, bob} {
			if n := holders(t, bs, box, m); n != 2 {
				t.Errorf("%s %s: %d copies after repair", box, m.id, n)
			}
		}
	}
	assertNothingToDo(t, bs, repair.Options{})
}

// TestTombstonedCopyIsRemoved: a delete reached one replica only; repair
// deletes the other copy (leaving a tombstone there too) and never copies
// the message back.
func TestTombstonedCopyIsRemoved(t *testing.T) {
	bs := inproc.Start(t, 3)
	m := newMessage(1)
	bs[0].Put(m.id, m.body, ann)
	bs[1].Put(m.id, m.body, ann)
	if err := bs[0].Store.Delete(ann, m.id, time.Now()); err != nil {
		t.Fatal(err)
	}
	rep := run(t, bs, repair.Options{})
	if rep.TombstonedRemoved != 1 || rep.ReReplicated != 0 {
		t.Fatalf("report: %+v", rep)
	}
	if n := holders(t, bs, ann, m); n != 0 {
		t.Fatalf("%d copies of a deleted message", n)
	}
	l, err := bs[1].Store.List(ann)
	if err != nil || len(l.Tombstones) != 1 {
		t.Fatalf("tombstone on the former holder: %+v %v", l, err)
	}
	assertNothingToDo(t, bs, repair.Options{})
}

// TestOrphans: a copy named by the orphan log with no other copy is the
// leftover of a refused delivery and is removed; one whose message has a
// copy elsewhere is a replica of a delivered message and is kept.
func TestOrphans(t *testing.T) {
	bs := inproc.Start(t, 3)
	refused, delivered := newMessage(1), newMessage(2)
	bs[2].Put(refused.id, refused.body, ann)
	bs[0].Put(delivered.id, delivered.body, ann)
	bs[1].Put(delivered.id, delivered.body, ann)
	orphans := []orphanlog.Entry{
		{Backend: bs[2].Addr, ID: refused.id, Boxes: []mailbox.Name{ann}},
		{Backend: bs[1].Addr, ID: delivered.id, Boxes: []mailbox.Name{ann}},
	}
	rep := run(t, bs, repair.Options{Orphans: orphans})
	if rep.OrphansRemoved != 1 || rep.OrphansKept != 1 || rep.ReReplicated != 0 {
		t.Fatalf("report: %+v", rep)
	}
	if holders(t, bs, ann, refused) != 0 || holders(t, bs, ann, delivered) != 2 {
		t.Fatal("wrong copies removed")
	}
	assertNothingToDo(t, bs, repair.Options{Orphans: orphans})
}

// TestAckedOrphanIsNeverRemoved (issue 14): at W=1 a message was accepted
// with its copy on b0, and its straggler on b1 could not be cleaned up
// (logged with Acked). After b0's copy is lost, b1's copy is the last one:
// repair keeps it and copies it back to R, never removes it as stray.
func TestAckedOrphanIsNeverRemoved(t *testing.T) {
	bs := inproc.Start(t, 3)
	m := newMessage(1)
	bs[1].Put(m.id, m.body, ann)
	orphans := []orphanlog.Entry{{Backend: bs[1].Addr, ID: m.id, Boxes: []mailbox.Name{ann}, Acked: true}}
	rep := run(t, bs, repair.Options{Orphans: orphans, Redundancy: 2})
	if rep.OrphansRemoved != 0 || rep.ReReplicated != 1 {
		t.Fatalf("report: %+v", rep)
	}
	if n := holders(t, bs, ann, m); n != 2 {
		t.Fatalf("%d copies of an accepted message, want 2", n)
	}
}

// TestDrain: a retiring backend's messages get R copies on the others; it
// keeps its own copies and receives none.
func TestDrain(t *testing.T) {
	bs := inproc.Start(t, 4)
	var msgs []message
	for i := range 6 {
		m := newMessage(i)
		msgs = append(msgs, m)
		bs[0].Put(m.id, m.body, ann)
		bs[1+i%3].Put(m.id, m.body, ann)
	}
	opt := repair.Options{Drain: bs[0].Addr}
	rep := run(t, bs, opt)
	if rep.ReReplicated != 6 || !rep.DrainComplete {
		t.Fatalf("report: %+v", rep)
	}
	for _, m := range msgs {
		if n := holders(t, bs[1:], ann, m); n != 2 {
			t.Errorf("%s: %d copies outside the drained backend", m.id, n)
		}
		if holders(t, bs[:1], ann, m) != 1 {
			t.Errorf("%s: the drained backend lost its copy", m.id)
		}
	}
	assertNothingToDo(t, bs, opt)
}

// TestTooFewBackends: with R=3 and two backends nothing can reach R; the
// report says so and nothing is deleted.
func TestTooFewBackends(t *testing.T) {
	bs := inproc.Start(t, 2)
	m := newMessage(1)
	bs[0].Put(m.id, m.body, ann)
	rep := run(t, bs, repair.Options{Redundancy: 3})
	if rep.ReReplicated != 1 || rep.BelowTarget != 1 || rep.Clean() {
		t.Fatalf("report: %+v", rep)
	}
	if holders(t, bs, ann, m) != 2 {
		t.Fatal("copies")
	}
}

func TestDrainOfUnknownBackend(t *testing.T) {
	bs := inproc.Start(t, 2)
	_, err := repair.Run(ctxT(t), cluster(bs), repair.Options{Redundancy: 2, Drain: "127.0.0.1:1"})
	if err == nil {
		t.Fatal("drain of a backend not in the list accepted")
	}
}

// TestCopyFallsBackToASpare: the planned target refuses the upload (a
// stale prepared file of the same id sits in its tmp/); the copy is made
// on the other writable backend instead.
func TestCopyFallsBackToASpare(t *testing.T) {
	bs := inproc.Start(t, 3)
	m := newMessage(1)
	bs[0].Put(m.id, m.body, ann)
	dry := run(t, bs, repair.Options{DryRun: true})
	if len(dry.Actions) != 1 {
		t.Fatalf("plan: %+v", dry.Actions)
	}
	planned := dry.Actions[0].Target
	for _, b := range bs {
		if b.Addr == planned {
			b.Prepare(m.id, m.body)
		}
	}
	rep := run(t, bs, repair.Options{})
	if rep.ReReplicated != 1 || rep.Actions[0].Target == planned || holders(t, bs, ann, m) != 2 {
		t.Fatalf("report: %+v", rep)
	}
}
