package store

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// Power-loss crash consistency (issue 7, section 7). A workload runs on a
// real store while the recording layer of crashfs_test.go notes what each
// fsync made durable; then, for every crash point (just before each fsync,
// and after the last) and several crash states per point, the state is
// written to a fresh directory, Open runs its recovery on it, and the
// result is checked against what the workload had been told:
//
//   - every (mailbox, id) whose Commit returned nil is listed, byte-identical,
//     unless a Delete of it had started;
//   - nothing partial or foreign is visible: every listed message is the
//     full body of an id whose Commit into that mailbox had started;
//   - every Delete that returned nil left its tombstone (with its date) and
//     the message does not come back;
//   - tmp/ is empty after Open, and the message count matches the listings.

// crashVariants are the crash states tried at each point: durable, current,
// and seeded mixes (see crashPoint.state).
const crashVariants = 6

// event is one entry of the workload's log, in the order things happened.
type event struct {
	kind string // one of the ev* constants
	id   msgid.ID
	box  mailbox.Name
}

const (
	evCommitStarted = "commit started"
	evCommitAcked   = "commit acked"
	evDeleteStarted = "delete started"
	evDeleteAcked   = "delete acked"
)

// crashWorkload drives the store and logs what callers were told.
type crashWorkload struct {
	t *testing.T
	s *Store

	mu     sync.Mutex // concurrent deliveries
	log    []event
	bodies map[msgid.ID][]byte
	clock  time.Time
}

func (w *crashWorkload) note(kind string, id msgid.ID, boxes ...mailbox.Name) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range boxes {
		w.log = append(w.log, event{kind: kind, id: id, box: b})
	}
}

// events is the length of the log, for the recorder.
func (w *crashWorkload) events() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.log)
}

// newID returns ids that sort in workload order (distinct timestamps).
func (w *crashWorkload) newID() msgid.ID {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clock = w.clock.Add(time.Millisecond)
	return msgid.New(w.clock)
}

// newBody makes and remembers a message of about size bytes.
func (w *crashWorkload) newBody(size int) (msgid.ID, []byte) {
	id := w.newID()
	data := []byte(fmt.Sprintf("Subject: %s\r\n\r\n%s\r\n", id, bytes.Repeat([]byte{'x'}, size)))
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bodies[id] = data
	return id, data
}

func (w *crashWorkload) prepare(size int) msgid.ID {
	id, data := w.newBody(size)
	prepare(w.t, w.s, id, data)
	return id
}

func (w *crashWorkload) commit(id msgid.ID, boxes ...mailbox.Name) {
	if err := w.tryCommit(id, boxes...); err != nil {
		w.t.Fatal(err)
	}
}

// tryCommit is commit for goroutines, which must not call t.FailNow.
func (w *crashWorkload) tryCommit(id msgid.ID, boxes ...mailbox.Name) error {
	w.note(evCommitStarted, id, boxes...)
	if err := w.s.Commit(id, boxes); err != nil {
		return err
	}
	w.note(evCommitAcked, id, boxes...)
	return nil
}

func (w *crashWorkload) delete(box mailbox.Name, id msgid.ID) {
	w.note(evDeleteStarted, id, box)
	if err := w.s.Delete(box, id, t0); err != nil {
		w.t.Fatal(err)
	}
	w.note(evDeleteAcked, id, box)
}

// run is the workload: new mailboxes, a message in two mailboxes, deletes
// (also of a message with two links, and of an absent one), an abort, an
// upload left prepared, a repeated and an extended commit.
func (w *crashWorkload) run() {
	m1 := w.prepare(10)
	w.commit(m1, alice)
	m2 := w.prepare(100)
	w.commit(m2, alice, bob)
	m3 := w.prepare(3000)
	w.commit(m3, carol)
	w.delete(alice, m1)
	m4 := w.prepare(20)
	if err := w.s.Abort(m4, nil); err != nil {
		w.t.Fatal(err)
	}
	w.prepare(30) // prepared, never committed: must not appear anywhere
	w.commit(m2, alice, bob)
	w.commit(m3, carol, alice)
	w.delete(bob, m2)
	w.delete(carol, w.newID())
	m7 := w.prepare(50)
	w.commit(m7, bob)
}

// concurrent delivers from several goroutines at once into shared and new
// mailboxes, so that directory fsyncs are shared (group commit) and new
// mailbox directories are created by racing callers.
func (w *crashWorkload) concurrent() {
	const workers, each = 4, 3
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				fresh := mailbox.MustParse(fmt.Sprintf("new%d@example.net", i))
				if err := w.deliverOne(50*g+i, alice, fresh); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		w.t.Fatal(err)
	}
}

func (w *crashWorkload) deliverOne(size int, boxes ...mailbox.Name) error {
	id, data := w.newBody(size)
	u, err := w.s.Begin(id)
	if err != nil {
		return err
	}
	defer u.Cancel()
	if _, err := u.Write(data); err != nil {
		return err
	}
	if err := u.Finish(int64(len(data)), Checksum(data)); err != nil {
		return err
	}
	return w.tryCommit(id, boxes...)
}

// expectation is what the callers had been told at one crash point.
type expectation struct {
	mustHave map[boxID]bool // acked commits without a later delete start
	mayHave  map[boxID]bool // commits started: may be visible
	deleted  map[boxID]bool // acked deletes
}

type boxID struct {
	box mailbox.Name
	id  msgid.ID
}

// expectAt is the expectation at a crash point: acknowledgements logged
// before it (done), operations started by the end of it (maybe done).
func expectAt(done, started []event) expectation {
	e := expectation{mustHave: map[boxID]bool{}, mayHave: map[boxID]bool{}, deleted: map[boxID]bool{}}
	for _, ev := range done {
		k := boxID{ev.box, ev.id}
		switch ev.kind {
		case evCommitAcked:
			e.mustHave[k] = true
		case evDeleteAcked:
			e.deleted[k] = true
		}
	}
	for _, ev := range started {
		k := boxID{ev.box, ev.id}
		switch ev.kind {
		case evCommitStarted:
			e.mayHave[k] = true
		case evDeleteStarted:
			delete(e.mustHave, k)
		}
	}
	return e
}

// crashRun runs the workload under the recorder and returns the crash
// points; broken sets the recorder's skip switches first.
func crashRun(t *testing.T, mode FlushMode, broken func(*recorder), workload func(*crashWorkload)) (*crashWorkload, []crashPoint) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{Flush: mode})
	require.Equal(t, mode, s.FlushMode(), "this file system must allow the flush mode under test")
	w := &crashWorkload{t: t, s: s, bodies: map[msgid.ID][]byte{}, clock: t0}
	r := record(t, dir, w.events)
	if broken != nil {
		broken(r)
	}
	workload(w)
	r.stop(t)
	return w, r.points
}

// checkAll recovers every crash state and returns the violations found.
func checkAll(t *testing.T, w *crashWorkload, points []crashPoint) (violations []string, states int) {
	base := t.TempDir()
	for i, p := range points {
		for v := range crashVariants {
			dir := filepath.Join(base, fmt.Sprintf("p%03d-v%d", i, v))
			for _, bad := range checkCrash(dir, p.state(v), p.current, w, expectAt(w.log[:p.events], w.log[:p.eventsAfter])) {
				violations = append(violations, fmt.Sprintf("crash point %d (after %d events), variant %d: %s", i, p.events, v, bad))
			}
			states++
			os.RemoveAll(dir)
		}
	}
	return violations, states
}

// checkCrash materializes one crash state in dir, opens it and checks it.
func checkCrash(dir string, im, like *image, w *crashWorkload, exp expectation) []string {
	if err := im.materialize(dir, like); err != nil {
		return []string{"materialize: " + err.Error()}
	}
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		return []string{"open (recovery) failed: " + err.Error()}
	}
	defer s.Close()
	c := &crashCheck{s: s, w: w, exp: exp}
	c.listed()
	c.acked()
	if ents, err := os.ReadDir(filepath.Join(dir, tmpDir)); err != nil || len(ents) > 0 {
		c.bad("tmp/ not empty after Open: %d entries, %v", len(ents), err)
	}
	return c.violations
}

type crashCheck struct {
	s          *Store
	w          *crashWorkload
	exp        expectation
	violations []string
}

func (c *crashCheck) bad(format string, args ...any) {
	c.violations = append(c.violations, fmt.Sprintf(format, args...))
}

// listed checks everything visible: full bodies of started commits only,
// and the message count that Open recounted.
func (c *crashCheck) listed() {
	boxes, err := c.s.Mailboxes()
	if err != nil {
		c.bad("Mailboxes: %v", err)
	}
	ids := map[msgid.ID]bool{}
	for _, b := range boxes {
		l, err := c.s.List(b)
		if err != nil {
			c.bad("List %s: %v", b, err)
		}
		for _, m := range l.Messages {
			ids[m.ID] = true
			if !c.exp.mayHave[boxID{b, m.ID}] {
				c.bad("phantom: %s %s was never committed there", b, m.ID)
			} else if got := c.read(b, m.ID); !bytes.Equal(got, c.w.bodies[m.ID]) {
				c.bad("partial or altered: %s %s has %d bytes, want %d", b, m.ID, len(got), len(c.w.bodies[m.ID]))
			}
		}
	}
	if st, err := c.s.Status(); err != nil || st.Messages != int64(len(ids)) {
		c.bad("message count %d, %d distinct ids listed (%v)", st.Messages, len(ids), err)
	}
}

// acked checks what callers were told: commits survive, deletes stick.
func (c *crashCheck) acked() {
	for k := range c.exp.mustHave {
		if got := c.read(k.box, k.id); !bytes.Equal(got, c.w.bodies[k.id]) {
			c.bad("lost: acknowledged %s %s (%d of %d bytes)", k.box, k.id, len(got), len(c.w.bodies[k.id]))
		}
	}
	for k := range c.exp.deleted {
		l, err := c.s.List(k.box)
		tomb := err == nil && hasTomb(l, k.id)
		if !tomb {
			c.bad("tombstone lost: acknowledged delete %s %s (%v)", k.box, k.id, err)
		}
		if c.read(k.box, k.id) != nil {
			c.bad("resurrected: %s %s deleted with acknowledgement", k.box, k.id)
		}
	}
}

func hasTomb(l mail.Listing, id msgid.ID) bool {
	for _, t := range l.Tombstones {
		if t.ID == id && t.Deleted.Equal(t0) {
			return true
		}
	}
	return false
}

// read returns the message bytes, or nil if it is not there.
func (c *crashCheck) read(box mailbox.Name, id msgid.ID) []byte {
	f, _, err := c.s.OpenMessage(box, id)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	return data
}

// flushModes are both ways the store makes writes durable; the power-loss
// tests run under each (the test directory is on ext4 here, where syncfs is
// allowed).
var flushModes = []FlushMode{FlushFsync, FlushSyncfs}

func TestPowerLossKeepsAcknowledgedMail(t *testing.T) {
	for _, mode := range flushModes {
		t.Run(string(mode), func(t *testing.T) {
			w, points := crashRun(t, mode, nil, (*crashWorkload).run)
			violations, states := checkAll(t, w, points)
			t.Logf("%d crash points, %d crash states recovered and checked", len(points), states)
			if len(points) < 10 {
				t.Errorf("only %d crash points: are the flush seams still in use?", len(points))
			}
			for _, v := range violations {
				t.Error(v)
			}
		})
	}
}

// The check can fail: a store that skips directory fsyncs (links and new
// mailboxes never reach the disk) loses acknowledged mail, one that skips
// file fsyncs shows empty messages, and one whose group flushes do nothing
// loses acknowledged mail.
func TestPowerLossCheckCatchesBrokenStores(t *testing.T) {
	for _, c := range []struct {
		name   string
		mode   FlushMode
		broken func(*recorder)
		want   string
	}{
		{"skip directory fsync", FlushFsync, func(r *recorder) { r.skipDirSync = true }, "lost: acknowledged"},
		{"skip file fsync", FlushFsync, func(r *recorder) { r.skipFileSync = true }, "partial or altered"},
		{"skip syncfs", FlushSyncfs, func(r *recorder) { r.skipSyncfs = true }, "lost: acknowledged"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, points := crashRun(t, c.mode, c.broken, (*crashWorkload).run)
			violations, _ := checkAll(t, w, points)
			if !strings.Contains(strings.Join(violations, "\n"), c.want) {
				t.Fatalf("no %q among %d violations: %q", c.want, len(violations), violations)
			}
			t.Logf("%d violations, first: %s", len(violations), violations[0])
		})
	}
}

// Concurrent deliveries: shared directory fsyncs and group flushes, and
// racing creators of new mailboxes keep every acknowledged message.
func TestPowerLossConcurrentDeliveries(t *testing.T) {
	for _, mode := range flushModes {
		t.Run(string(mode), func(t *testing.T) {
			w, points := crashRun(t, mode, nil, (*crashWorkload).concurrent)
			violations, states := checkAll(t, w, points)
			t.Logf("%d crash points, %d crash states recovered and checked", len(points), states)
			for _, v := range violations {
				t.Error(v)
			}
		})
	}
}
