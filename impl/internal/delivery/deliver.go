package delivery

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/pingcap/failpoint"

	"powermail/impl/fault"
	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/orphanlog"
)

// Deliver stores body (the stored form: CRLF, dot-stuffed, Received: header
// first) for every recipient of m. It reads body to its end whatever happens,
// so the SMTP session stays in step. A nil error means at least W replicas
// committed and every forward was relayed: the caller may answer 250.
func (d *Deliverer) Deliver(ctx context.Context, m Message, body io.Reader) (Result, error) {
	start := d.now()
	boxes, forwards := split(m.Recipients)
	if m.Received.IsZero() {
		m.Received = start
	}
	if m.ID == "" {
		m.ID = msgid.New(m.Received)
	}
	t := &txn{d: d, id: m.ID, boxes: boxes}
	res, err := t.run(ctx, m, forwards, body)
	observe(res, err, d.now().Sub(start))
	return res, err
}

// txn is the state of one delivery.
type txn struct {
	d        *Deliverer
	id       msgid.ID
	boxes    []mailbox.Name
	targets  []Target // targets[i] is where boxes[i] may go
	replicas []*replica
	refused  map[string]bool // backends whose Begin failed
	relay    RelaySink
}

// replica is one backend's copy and how far it got.
type replica struct {
	b          Backend
	up         Upload
	boxes      []mailbox.Name // the mailboxes this copy is for
	failed     error
	prepared   bool
	commitSent bool // a committed copy may exist from here on
	linked     bool
}

func (t *txn) run(ctx context.Context, m Message, forwards []string, body io.Reader) (Result, error) {
	defer t.cancelUploads() // a no-op for uploads whose COMMIT was answered
	if err := t.open(ctx, m, forwards); err != nil {
		drain(body)
		t.abort(ctx)
		return Result{}, err
	}
	n, err := t.stream(body)
	if err == nil {
		err = t.d.checkQuota(ctx, m.Recipients, n)
	}
	if err == nil {
		err = t.complete(ctx)
	}
	if err != nil {
		t.abort(ctx)
		return Result{}, err
	}
	t.d.counted(m.Recipients, n)
	return Result{ID: t.id, Replicas: t.names(), Forwarded: len(forwards), Bytes: n}, nil
}

// open starts the replica uploads and the relay transaction.
func (t *txn) open(ctx context.Context, m Message, forwards []string) error {
	if len(t.boxes) > 0 {
		if err := t.begin(ctx); err != nil {
			return err
		}
	}
	if len(forwards) == 0 {
		return nil
	}
	if t.d.relay == nil {
		return errNoRelay
	}
	rctx, cancel := context.WithTimeout(ctx, t.d.cfg.BackendTimeout)
	defer cancel()
	sink, err := t.d.relay.Start(rctx, m.From, forwards)
	if err != nil {
		return relayError(err)
	}
	t.relay = sink
	return nil
}

// begin gives every mailbox R copies: the first R of its candidates that
// take an upload, one upload per backend whichever mailboxes share it. A
// backend that refuses is replaced by the next candidate: no data has
// been sent yet, so falling back costs nothing.
func (t *txn) begin(ctx context.Context) error {
	targets, err := t.d.picker.Pick(t.boxes, t.d.cfg.Redundancy)
	if err != nil || len(targets) != len(t.boxes) {
		return errNoBackends
	}
	t.targets, t.refused = targets, map[string]bool{}
	for i, box := range t.boxes {
		copies := 0
		for _, b := range targets[i].Candidates {
			if copies == t.d.cfg.Redundancy {
				break
			}
			if r := t.replicaOn(ctx, b); r != nil {
				r.boxes = append(r.boxes, box)
				copies++
			}
		}
		if copies < t.d.cfg.WriteQuorum {
			return errNoBackends
		}
	}
	return nil
}

// replicaOn returns the upload to b, starting it if needed; nil if b
// refused it.
func (t *txn) replicaOn(ctx context.Context, b Backend) *replica {
	for _, r := range t.replicas {
		if r.b.Name() == b.Name() {
			return r
		}
	}
	if t.refused[b.Name()] {
		return nil
	}
	// The upload lives on after Begin, so it gets the session's context;
	// the client bounds every step of it by its I/O timeout.
	up, err := b.Begin(ctx, t.id)
	replicaOutcome(b.Name(), "begin", err)
	if err != nil {
		t.d.log.Warn("replica refused", "backend", b.Name(), "id", t.id, "err", err)
		t.refused[b.Name()] = true
		return nil
	}
	r := &replica{b: b, up: up}
	t.replicas = append(t.replicas, r)
	return r
}

// streamBuffers recycles the body buffers: one per message would be the
// largest allocation of the SMTP path.
var streamBuffers = sync.Pool{New: func() any { return new([]byte) }}

// stream copies body to every live replica and to the relay as it arrives.
// A replica that fails is dropped (the quorum decides later); a relay
// failure is fatal for the message, since the forwarded recipients would
// not get it.
func (t *txn) stream(body io.Reader) (int64, error) {
	bp := streamBuffers.Get().(*[]byte)
	defer streamBuffers.Put(bp)
	if cap(*bp) < t.d.cfg.ChunkBytes {
		*bp = make([]byte, t.d.cfg.ChunkBytes)
	}
	buf := (*bp)[:t.d.cfg.ChunkBytes]
	var total int64
	lastFlush := t.d.now()
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			total += int64(n)
			if err := t.write(buf[:n]); err != nil {
				drain(body)
				return total, err
			}
			lastFlush = t.keepAlive(lastFlush)
		}
		switch {
		case rerr == io.EOF:
			return total, nil
		case rerr != nil:
			return total, rerr // the DATA reader's own refusal (size, bare LF, ...)
		}
	}
}

// keepAlive flushes the replicas' buffered frames when the last flush is
// older than the keepalive interval, and returns the time of the last flush.
func (t *txn) keepAlive(last time.Time) time.Time {
	every := t.d.cfg.KeepaliveInterval
	now := t.d.now()
	if every <= 0 || now.Sub(last) < every {
		return last
	}
	for _, r := range t.live() {
		if err := r.up.Flush(); err != nil {
			t.fail(r, "write", err)
		}
	}
	return now
}

func (t *txn) write(p []byte) error {
	failpoint.Inject("beforeChunk", func(val failpoint.Value) { fault.Crash(val) }) // P2: frames in flight
	for _, r := range t.live() {
		if _, err := r.up.Write(p); err != nil {
			t.fail(r, "write", err)
		}
	}
	if t.relay != nil {
		if _, err := t.relay.Write(p); err != nil {
			return relayError(err)
		}
	}
	return nil
}

// complete runs the two phases and the relay's end of data between them.
func (t *txn) complete(ctx context.Context) error {
	quorum := t.d.cfg.WriteQuorum
	// A deliberately broken build for the chaos checker's own test: 250 on fewer than W copies.
	failpoint.Inject("quorumShortBy", func(val failpoint.Value) { quorum -= fault.Int(val) })
	switch {
	case t.relay == nil:
		t.storeAll()
	case len(t.replicas) > 0:
		t.finishAll()
		if !t.quorum(quorum, func(r *replica) bool { return r.prepared }) {
			return errReplicas
		}
	}
	if t.relay != nil {
		if err := t.relay.Commit(); err != nil {
			t.relay = nil // nothing left to cancel
			return relayError(err)
		}
		t.relay = nil
		t.commitAll()
	}
	if len(t.replicas) == 0 {
		return nil
	}
	if !t.quorum(quorum, func(r *replica) bool { return r.linked }) {
		return errReplicas
	}
	t.cleanupStragglers(ctx)
	failpoint.Inject("afterQuorum", func(val failpoint.Value) { fault.Crash(val) }) // P8: committed, 250 not sent
	return nil
}

// storeAll sends END and COMMIT together to every live replica, then
// reads each answer: one round trip, the backends working in parallel.
func (t *txn) storeAll() {
	t.commitRound(func(r *replica) Step { return r.up.EndCommit(r.boxes) })
}

// finishAll sends END to every live replica, then reads each answer: the
// backends verify and flush in parallel.
func (t *txn) finishAll() {
	t.roundTrip("prepare", func(r *replica) Step { return r.up.End() }, func(r *replica) { r.prepared = true })
}

// commitAll sends one COMMIT naming the replica's mailboxes to each
// prepared replica, on its upload's connection, then reads each answer.
func (t *txn) commitAll() {
	t.commitRound(func(r *replica) Step { return r.up.Commit(r.boxes) })
}

// commitRound sends send's COMMIT to every live replica and reads the
// answers; a replica is committing from the moment it is sent.
func (t *txn) commitRound(send func(*replica) Step) {
	replicas := len(t.live())
	spread := t.roundTrip("commit", func(r *replica) Step {
		r.commitSent = true
		return send(r)
	}, func(r *replica) {
		r.prepared, r.linked = true, true
		failpoint.Inject("afterReplicaCommit", func(val failpoint.Value) { fault.Crash(val) }) // P7: fewer than W acks held
	})
	if replicas > 1 {
		commitSpread.Observe(spread.Seconds())
	}
}

// roundTrip sends a step to every live replica before it reads any answer,
// so that all backends work at once; ok runs for each replica that said OK.
// It returns the time from the first answer to the last.
func (t *txn) roundTrip(phase string, send func(*replica) Step, ok func(*replica)) time.Duration {
	live := t.live()
	steps := make([]Step, len(live))
	for i, r := range live {
		steps[i] = send(r)
	}
	var first time.Time
	for i, r := range live {
		err := steps[i].Wait()
		if first.IsZero() {
			first = t.d.now()
		}
		if err != nil {
			t.fail(r, phase, err)
			continue
		}
		replicaOutcome(r.b.Name(), phase, nil)
		ok(r)
	}
	return t.d.now().Sub(first)
}

// cleanupStragglers aborts replicas that failed after the quorum was met, so
// no partial copy (some links, or a tmp file) is left behind; repair restores
// the full redundancy later.
func (t *txn) cleanupStragglers(ctx context.Context) {
	var bad []*replica
	for _, r := range t.replicas {
		if !r.linked {
			bad = append(bad, r)
		}
	}
	// Plain ABORT, never VOID: the message is accepted, and a tombstone
	// would hide it everywhere.
	failed := t.onEach(ctx, bad, "abort", abortOp(t.id), nil)
	t.recordOrphans(failed, true)
}

// abort is the refusal path: the sender gets 4xx and will retry under a
// new id, so no copy of this id may ever become visible, not even after a
// disk is lost. A replica that was sent COMMIT may hold a committed copy:
// it gets VOID (tombstones for the id in its mailboxes, then the copy
// removed; a tombstone where a login looks hides every copy, see package
// maildrop). Replicas never sent COMMIT hold at most a prepared file,
// which ABORT removes. When a VOID or ABORT fails, a copy may be left:
// then further candidates get VOID until every mailbox has its tombstones
// on R backends, one at home (see tombstones), as a delete leaves them, so
// losing R-1 disks cannot bring the copy back. Whatever could not be
// removed is logged; with too few tombstones the id stays pending and
// VoidPending adds the rest later.
func (t *txn) abort(ctx context.Context) {
	if t.relay != nil {
		t.relay.Cancel()
		t.relay = nil
	}
	var committing, prepared []*replica
	for _, r := range t.replicas {
		if r.commitSent {
			committing = append(committing, r)
		} else {
			prepared = append(prepared, r)
		}
	}
	ts := newTombstones(t.d.cfg.Redundancy, t.boxes, t.targets, nil)
	voided := func(r *replica) { ts.add(r.b.Name(), r.boxes) }
	failed := t.onEach(ctx, committing, "void", voidOp(t.id), voided)
	left := append(failed, t.onEach(ctx, prepared, "abort", abortOp(t.id), nil)...)
	if len(left) == 0 {
		return
	}
	tried := map[string]bool{}
	for _, r := range t.replicas {
		tried[r.b.Name()] = true
	}
	ts.fill(ts.order(nil), tried, func(b Backend, boxes []mailbox.Name) bool {
		r := &replica{b: b, boxes: boxes}
		return len(t.onEach(ctx, []*replica{r}, "void", voidOp(t.id), nil)) == 0
	})
	t.recordOrphans(left, false)
	for b, boxes := range ts.byBackend() { // where the tombstones are, for VoidPending
		t.d.recordOrphan(orphanlog.Entry{Backend: b, ID: t.id, Boxes: boxes, Voided: true}, nil)
	}
	if short := ts.short(); len(short) > 0 {
		t.d.log.Warn("refused message has too few tombstones; the rest is retried later",
			"id", t.id, "mailboxes", short)
	}
}

func voidOp(id msgid.ID) func(context.Context, *replica) error {
	return func(ctx context.Context, r *replica) error { return r.b.Void(ctx, id, r.boxes) }
}

func abortOp(id msgid.ID) func(context.Context, *replica) error {
	return func(ctx context.Context, r *replica) error { return r.b.Abort(ctx, id, r.boxes) }
}

// recordOrphans logs the replicas whose ABORT or VOID failed.
func (t *txn) recordOrphans(rs []*replica, acked bool) {
	for _, r := range rs {
		t.d.recordOrphan(orphanlog.Entry{Backend: r.b.Name(), ID: t.id, Boxes: r.boxes, Acked: acked}, r.failed)
	}
}

// cancelUploads drops every replica connection still open.
func (t *txn) cancelUploads() {
	for _, r := range t.replicas {
		if r.up != nil {
			r.up.Cancel()
		}
	}
}

// onEach runs op for every replica in rs concurrently, each on a
// connection of its own (the upload's may be broken), calls ok (if not
// nil) for each that succeeded, one at a time, and returns the replicas
// that failed (their error in failed). op runs even without a context
// deadline left: the sender may be told 451 and retry, so a copy left
// behind would become a duplicate.
func (t *txn) onEach(ctx context.Context, rs []*replica, phase string, op func(context.Context, *replica) error, ok func(*replica)) (failed []*replica) {
	var mu sync.Mutex
	parallel(len(rs), func(i int) {
		r := rs[i]
		if r.up != nil {
			r.up.Cancel()
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.d.cfg.BackendTimeout)
		defer cancel()
		err := op(actx, r)
		replicaOutcome(r.b.Name(), phase, err)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			r.failed = err
			failed = append(failed, r)
			return
		}
		if ok != nil {
			ok(r)
		}
	})
	return failed
}

func (t *txn) fail(r *replica, phase string, err error) {
	r.failed = err
	replicaOutcome(r.b.Name(), phase, err)
	t.d.log.Warn("replica failed", "backend", r.b.Name(), "phase", phase, "id", t.id, "err", err)
}

func (t *txn) live() []*replica {
	var out []*replica
	for _, r := range t.replicas {
		if r.failed == nil {
			out = append(out, r)
		}
	}
	return out
}

// quorum reports whether every mailbox has at least w live copies for
// which ok holds, one of them at home.
func (t *txn) quorum(w int, ok func(*replica) bool) bool {
	for i, box := range t.boxes {
		n, home := 0, false
		for _, r := range t.replicas {
			if r.failed == nil && ok(r) && slices.Contains(r.boxes, box) {
				n++
				home = home || t.targets[i].home(r.b)
			}
		}
		if n < w || !home {
			return false
		}
	}
	return true
}

func (t *txn) names() []string {
	var out []string
	for _, r := range t.replicas {
		if r.linked {
			out = append(out, r.b.Name())
		}
	}
	return out
}

// checkQuota refuses the message with 552 5.2.2 only when no local recipient
// has room for it: with one reply for all recipients (RFC 5321 section
// 3.3), refusing because one mailbox is full would refuse everybody else.
// This is PowerMail's "most generous recipient wins" rule.
func (d *Deliverer) checkQuota(ctx context.Context, rcpts []mail.Recipient, size int64) error {
	if d.quota == nil {
		return nil
	}
	limited := 0
	for _, r := range rcpts {
		if len(r.Forward) > 0 {
			continue
		}
		if r.QuotaBytes <= 0 || d.hasRoom(ctx, r, size) {
			return nil
		}
		limited++
	}
	if limited == 0 {
		return nil
	}
	return errQuota
}

// hasRoom: an estimate that leaves room is enough; a full mailbox is
// confirmed by an exact count first, and an unknown usage never refuses mail.
func (d *Deliverer) hasRoom(ctx context.Context, r mail.Recipient, size int64) bool {
	for _, exact := range []bool{false, true} {
		used, err := d.quota.Usage(ctx, r.Mailbox, exact)
		if err != nil || used+size <= r.QuotaBytes {
			return true
		}
	}
	return false
}

// counted tells the quota meter what an accepted message added.
func (d *Deliverer) counted(rcpts []mail.Recipient, size int64) {
	if d.quota == nil {
		return
	}
	for _, r := range rcpts {
		if r.QuotaBytes > 0 && len(r.Forward) == 0 {
			d.quota.Added(r.Mailbox, size)
		}
	}
}

// split separates local mailboxes (deduplicated, in order) from forwards.
func split(rcpts []mail.Recipient) (boxes []mailbox.Name, forwards []string) {
	seenBox := map[mailbox.Name]bool{}
	seenFwd := map[string]bool{}
	for _, r := range rcpts {
		if len(r.Forward) == 0 {
			if !seenBox[r.Mailbox] {
				seenBox[r.Mailbox] = true
				boxes = append(boxes, r.Mailbox)
			}
			continue
		}
		for _, f := range r.Forward {
			if !seenFwd[f] {
				seenFwd[f] = true
				forwards = append(forwards, f)
			}
		}
	}
	return boxes, forwards
}

// relayError keeps a relay's own refusal (it may be permanent) and turns
// anything else into a temporary failure.
func relayError(err error) error {
	var e *mail.Reply
	if errors.As(err, &e) {
		return e
	}
	return errNoRelay
}

func (d *Deliverer) recordOrphan(e orphanlog.Entry, cause error) {
	if !e.Voided {
		d.log.Warn("abort not delivered; copy may remain until repair",
			"backend", e.Backend, "id", e.ID, "acked", e.Acked, "err", cause)
	}
	if d.orphans == nil {
		return
	}
	e.Time = d.now()
	if err := d.orphans.Append(e); err != nil {
		d.log.Error("orphan log append failed", "err", err)
	}
}

// parallel runs f(0..n-1) concurrently and waits for all.
func parallel(n int, f func(i int)) {
	if n == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); f(i) }()
	}
	wg.Wait()
}

func drain(r io.Reader) { _, _ = io.Copy(io.Discard, r) }
