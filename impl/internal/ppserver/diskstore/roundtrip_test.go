package diskstore_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/pp"
	"powermail/impl/ppclient"
)

var (
	ann = mailbox.MustParse("ann@example.com")
	bob = mailbox.MustParse("bob@example.com")
)

// message returns n pseudo-random bytes, seeded by n.
func message(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

// put uploads msg in writes of the given size and commits it to boxes.
func put(t testing.TB, c *ppclient.Client, msg []byte, writeBytes int, boxes ...mailbox.Name) msgid.ID {
	t.Helper()
	id, err := tryPut(c, msg, writeBytes, boxes...)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// tryPut is put for goroutines other than the test's: it returns the error.
func tryPut(c *ppclient.Client, msg []byte, writeBytes int, boxes ...mailbox.Name) (msgid.ID, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	id := msgid.New(time.Now())
	u, err := c.Begin(ctx, id)
	if err != nil {
		return "", err
	}
	for p := msg; len(p) > 0; {
		n := min(writeBytes, len(p))
		if _, err := u.Write(p[:n]); err != nil {
			return "", err
		}
		p = p[n:]
	}
	if err := u.Finish(); err != nil {
		return "", err
	}
	return id, c.Commit(ctx, id, boxes)
}

// TestGetReturnsPutBytes: the bytes that GET returns are those that were
// put, for sizes around and above the chunk sizes, through both Get paths
// (into a buffer, and socket to socket).
func TestGetReturnsPutBytes(t *testing.T) {
	b := startBackend(t)
	c := b.client(t)
	sink := startSink(t)
	for _, size := range []int{0, 1, 4096, 64<<10 - 1, 64 << 10, 64<<10 + 1, pp.MaxChunkBytes + 3, 3 << 20} {
		msg := message(size)
		id := put(t, c, msg, 1000+size%7, ann, bob)
		var buf bytes.Buffer
		n, err := c.Get(ctxT(t), bob, id, &buf)
		if err != nil || n != int64(size) || !bytes.Equal(buf.Bytes(), msg) {
			t.Fatalf("size %d: got %d bytes, err %v, equal %v", size, n, err, bytes.Equal(buf.Bytes(), msg))
		}
		if got := sink.get(t, c, ann, id); !bytes.Equal(got, msg) {
			t.Fatalf("size %d via TCP sink: %d bytes, differ", size, len(got))
		}
	}
	l, err := c.List(ctxT(t), ann)
	if err != nil || len(l.Messages) != 8 {
		t.Fatalf("list: %d messages, %v", len(l.Messages), err)
	}
}

// sink is a TCP peer that returns everything it reads: Get into its
// *net.TCPConn takes the splice path.
type sink struct{ ln net.Listener }

func startSink(t testing.TB) *sink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &sink{ln}
}

func (s *sink) get(t testing.TB, c *ppclient.Client, box mailbox.Name, id msgid.ID) []byte {
	out, err := net.Dial("tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	got := make(chan []byte)
	go func() { p, _ := io.ReadAll(in); got <- p }()
	if _, err := c.Get(ctxT(t), box, id, out.(*net.TCPConn)); err != nil {
		t.Fatal(err)
	}
	out.Close()
	return <-got
}

func TestServerErrorsKeepConnection(t *testing.T) {
	b := startBackend(t)
	c := b.client(t)
	ctx := ctxT(t)
	_, err := c.Get(ctx, ann, msgid.New(time.Now()), io.Discard)
	if werr, ok := err.(*pp.Error); !ok || werr.Code != pp.CodeNotFound || werr.Temporary() {
		t.Fatalf("Get of a missing message: %v", err)
	}
	if err := c.SetReadOnly(ctx, true); err != nil {
		t.Fatal(err)
	}
	u, err := c.Begin(ctx, msgid.New(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	u.Write(message(200 << 10))
	err = u.Finish()
	if werr, ok := err.(*pp.Error); !ok || werr.Code != pp.CodeReadOnly || !ppclient.IsTemporary(err) {
		t.Fatalf("upload to a read-only backend: %v", err)
	}
	st, err := c.Status(ctx)
	if err != nil || !st.ReadOnly {
		t.Fatalf("status %+v %v", st, err)
	}
	if err := c.SetReadOnly(ctx, false); err != nil {
		t.Fatal(err)
	}
	put(t, c, message(10), 10, ann)
	if err := c.Commit(ctx, msgid.New(time.Now()), []mailbox.Name{ann}); !isCode(err, pp.CodeBadSequence) {
		t.Fatalf("commit of an unprepared id: %v", err)
	}
	// The load figures cross the wire: the delivery above waited for its
	// flushes, and no upload is left in flight.
	if st, err := c.Status(ctx); err != nil || st.FlushWait == 0 || st.Uploads != 0 {
		t.Fatalf("status after a delivery %+v %v", st, err)
	}
}

func isCode(err error, code int) bool {
	werr, ok := err.(*pp.Error)
	return ok && werr.Code == code
}

func TestDeleteLeavesTombstone(t *testing.T) {
	b := startBackend(t)
	c := b.client(t)
	ctx := ctxT(t)
	id := put(t, c, message(100), 100, ann)
	if err := c.Delete(ctx, ann, id); err != nil {
		t.Fatal(err)
	}
	l, err := c.List(ctx, ann)
	if err != nil || len(l.Messages) != 0 || len(l.Tombstones) != 1 || l.Tombstones[0].ID != id {
		t.Fatalf("%+v %v", l, err)
	}
	if time.Since(l.Tombstones[0].Deleted) > time.Minute {
		t.Fatalf("tombstone time %v", l.Tombstones[0].Deleted)
	}
	names, err := c.Mailboxes(ctx)
	if err != nil || len(names) != 1 || names[0] != ann {
		t.Fatalf("mailboxes %v %v", names, err)
	}
	if err := c.SetMinFree(ctx, 1<<59); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Begin(ctx, msgid.New(time.Now())); err != nil {
		t.Fatal(err) // refused only at END: the reply comes after the stream
	}
}

func TestManyBoxesUseBlockForm(t *testing.T) {
	b := startBackend(t)
	c := b.client(t)
	var boxes []mailbox.Name
	for i := range 300 {
		boxes = append(boxes, mailbox.MustParse("user"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@a-rather-long-domain-name.example.com"))
	}
	id := put(t, c, message(4096), 4096, boxes...)
	l, err := c.List(ctxT(t), boxes[299])
	if err != nil || len(l.Messages) != 1 || l.Messages[0].ID != id {
		t.Fatalf("%+v %v", l, err)
	}
}

func TestContextCancelDiscardsConnection(t *testing.T) {
	b := startBackend(t)
	c := b.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	u, err := c.Begin(ctx, msgid.New(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	u.Write(message(1 << 20))
	err = u.Finish()
	if err == nil || !ppclient.IsTemporary(err) {
		t.Fatalf("Finish after cancel: %v", err)
	}
	if err := c.Ping(ctxT(t)); err != nil {
		t.Fatalf("client unusable after a cancelled upload: %v", err)
	}
}

// TestStepsPipelineOnOneConnection: the upload's steps (END, then COMMIT)
// are sent to two backends before either answer is read, as powersmtp does
// for the replicas of a message; each upload keeps its one connection from
// PREPARE to COMMIT and returns it to the pool after, and a step sent before
// the previous one was answered is refused.
func TestStepsPipelineOnOneConnection(t *testing.T) {
	be := []*backend{startBackend(t), startBackend(t)}
	ctx := ctxT(t)
	id := msgid.New(time.Now())
	msg := message(4096)
	var ups []*ppclient.Upload
	var clients []*ppclient.Client
	for _, b := range be {
		c := b.client(t)
		u, err := c.Begin(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := u.Write(msg); err != nil {
			t.Fatal(err)
		}
		clients, ups = append(clients, c), append(ups, u)
	}
	ends := []ppclient.Step{ups[0].End(), ups[1].End()}
	if err := ups[0].Commit([]mailbox.Name{ann}).Wait(); err == nil {
		t.Fatal("a COMMIT sent before END was answered was accepted")
	}
	for i, s := range ends {
		if err := s.Wait(); err != nil {
			t.Fatalf("END %d: %v", i, err)
		}
	}
	commits := []ppclient.Step{ups[0].Commit([]mailbox.Name{ann}), ups[1].Commit([]mailbox.Name{ann})}
	for i, s := range commits {
		if err := s.Wait(); err != nil {
			t.Fatalf("COMMIT %d: %v", i, err)
		}
	}
	if open := openConns(t); open != 2 {
		t.Fatalf("%v connections open, want 2 (one pooled per backend)", open)
	}
	for i, c := range clients {
		l, err := c.List(ctx, ann)
		if err != nil || len(l.Messages) != 1 || l.Messages[0].ID != id {
			t.Fatalf("backend %d: %+v %v", i, l, err)
		}
	}
	if open := openConns(t); open != 2 {
		t.Fatalf("%v connections open after LIST: the pooled ones were not reused", open)
	}
}

// TestEndCommitInOneRoundTrip: END and COMMIT sent together commit the
// message; when END fails (a read-only backend), Wait returns END's error,
// the COMMIT behind it is refused, nothing is listed, and the connection
// is still in step for the next request.
func TestEndCommitInOneRoundTrip(t *testing.T) {
	b := startBackend(t)
	c := b.client(t)
	ctx := ctxT(t)
	store := func() (msgid.ID, error) {
		id := msgid.New(time.Now())
		u, err := c.Begin(ctx, id)
		if err != nil {
			return id, err
		}
		u.Write(message(4096))
		return id, u.EndCommit([]mailbox.Name{ann, bob}).Wait()
	}
	id, err := store()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadOnly(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := store(); !isCode(err, pp.CodeReadOnly) {
		t.Fatalf("END and COMMIT to a read-only backend: %v", err)
	}
	for _, box := range []mailbox.Name{ann, bob} {
		l, err := c.List(ctx, box)
		if err != nil || len(l.Messages) != 1 || l.Messages[0].ID != id {
			t.Fatalf("%s: %+v %v", box, l, err)
		}
	}
}
