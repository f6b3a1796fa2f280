package pp

import (
	"bufio"
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// stream builds a message stream the way a client sends it.
func stream(t testing.TB, msg []byte, chunk int) []byte {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	s := NewSummer()
	for p := msg; len(p) > 0; {
		n := min(chunk, len(p))
		if err := WriteChunk(w, p[:n]); err != nil {
			t.Fatal(err)
		}
		s.Write(p[:n])
		p = p[n:]
	}
	WriteLine(w, s.End().String())
	w.Flush()
	return b.Bytes()
}

// readStream is the receiving side: payloads until END.
func readStream(r *bufio.Reader) ([]byte, Frame, error) {
	var got bytes.Buffer
	for {
		f, err := ReadFrame(r)
		if err != nil || f.Kind == FrameEnd {
			return got.Bytes(), f, err
		}
		if err := ReadChunk(r, f.Len, &got); err != nil {
			return nil, f, err
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	msg := bytes.Repeat([]byte("Subject: x\r\n\r\nbody\x00\r\n.\r\n"), 5000)
	got, end, err := readStream(NewReader(bytes.NewReader(stream(t, msg, 4096)), 0))
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("err %v, equal %v", err, bytes.Equal(got, msg))
	}
	if end.Size != int64(len(msg)) || end.CRC != crc32.Checksum(msg, crc32.MakeTable(crc32.Castagnoli)) {
		t.Fatalf("END %v", end)
	}
}

func TestParseFrameRefuses(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, bad := range []string{
		"CHUNK 0", "CHUNK 1048577", "CHUNK -1", "CHUNK 01", "CHUNK", "CHUNK 1 2", "chunk 1",
		"END 1", "END 1 " + sum[:62], "END 1 " + strings.ToUpper(sum), "END x " + sum, "PING",
	} {
		if _, err := ParseFrame(bad); !errors.Is(err, ErrBadFrame) {
			t.Errorf("ParseFrame(%q) = %v", bad, err)
		}
	}
}

func TestShortChunkIsUnexpectedEOF(t *testing.T) {
	r := NewReader(strings.NewReader("CHUNK 10\r\nabc"), 0)
	f, err := ReadFrame(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := ReadChunk(r, f.Len, io.Discard); err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v", err)
	}
}

func TestListingRoundTrip(t *testing.T) {
	id1, id2 := msgid.New(fixedTime), msgid.New(fixedTime)
	in := mail.Listing{
		Messages:   []mail.Entry{{ID: id1, Size: 4096}, {ID: id2, Size: 0}},
		Tombstones: []mail.Tombstone{{ID: id2, Deleted: fixedTime}},
	}
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	WriteListing(w, in)
	w.Flush()
	r := NewReader(&b, 0)
	line, _ := ReadLine(r)
	text, err := ParseReply(line)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ReadListing(r, text)
	if err != nil || len(out.Messages) != 2 || out.Messages[0] != in.Messages[0] ||
		len(out.Tombstones) != 1 || !out.Tombstones[0].Deleted.Equal(fixedTime) {
		t.Fatalf("%+v %v", out, err)
	}
}

func TestBoxCommandBlockForm(t *testing.T) {
	id := msgid.New(fixedTime)
	var boxes []mailbox.Name
	for i := range 50 { // far more than fit on one line
		boxes = append(boxes, mailbox.MustParse(strings.Repeat("u", 40)+string(rune('a'+i%26))+"@example.com"))
	}
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	if err := WriteBoxCommand(w, VerbCommit, id, boxes); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	r := NewReader(&b, 0)
	line, err := ReadLine(r)
	if err != nil || line != "COMMIT "+string(id)+" +50" {
		t.Fatalf("%q %v", line, err)
	}
	cmd, _ := ParseCommand(line)
	got, err := ReadBoxes(r, cmd.Args[1:])
	if err != nil || len(got) != 50 || got[49] != boxes[49] {
		t.Fatalf("%d boxes, %v", len(got), err)
	}
}

func TestReadBoxesKeepsStepOnBadName(t *testing.T) {
	r := NewReader(strings.NewReader("../../etc/passwd\r\nann@example.com\r\nPING\r\n"), 0)
	_, err := ReadBoxes(r, []string{"+2"})
	var werr *Error
	if !errors.As(err, &werr) || werr.Code != CodeBadArg {
		t.Fatalf("got %v", err)
	}
	if line, _ := ReadLine(r); line != "PING" {
		t.Fatalf("stream out of step: next line %q", line)
	}
}

func TestStatusRoundTrip(t *testing.T) {
	in := mail.BackendStatus{FreeBytes: 1 << 40, TotalBytes: 2 << 40, FreeInodes: 99, Messages: 12, Mailboxes: 3, ReadOnly: true, MinFreeBytes: 1 << 30,
		Uploads: 4, FlushWait: 1500 * time.Microsecond}
	out, err := ParseStatus(FormatStatus(in) + " future=field")
	if err != nil || out != in {
		t.Fatalf("%+v %v", out, err)
	}
	if _, err := ParseStatus("free=1 total=2"); err == nil {
		t.Fatal("incomplete status accepted")
	}
	// A backend from before the load figures: they read as 0.
	old := "free=1 total=2 inodes=3 messages=4 mailboxes=5 readonly=off minfree=6"
	if out, err := ParseStatus(old); err != nil || out.Uploads != 0 || out.FlushWait != 0 || out.MinFreeBytes != 6 {
		t.Fatalf("older backend's status: %+v %v", out, err)
	}
}

// The flush wait crosses in whole microseconds, rounded up, so a wait that
// was measured never reads as "unknown" (0); a huge one saturates.
func TestStatusFlushWait(t *testing.T) {
	for _, c := range []struct{ in, want time.Duration }{
		{0, 0},
		{time.Nanosecond, time.Microsecond},
		{1500*time.Microsecond + 1, 1501 * time.Microsecond},
	} {
		out, err := ParseStatus(FormatStatus(mail.BackendStatus{FlushWait: c.in}))
		if err != nil || out.FlushWait != c.want {
			t.Errorf("flush wait %v: got %v %v, want %v", c.in, out.FlushWait, err, c.want)
		}
	}
	huge := "free=1 total=2 inodes=3 messages=4 mailboxes=5 readonly=off minfree=6 flushus=999999999999999999"
	if out, err := ParseStatus(huge); err != nil || out.FlushWait <= 0 {
		t.Errorf("huge flush wait: %v %v", out.FlushWait, err)
	}
}
