package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"powermail/impl/internal/e2e/inproc"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

var ann = mailbox.MustParse("ann@example.com")

// secretFile writes the test backends' secret to a file.
func secretFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(inproc.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func addrs(bs []*inproc.Listener) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Addr)
	}
	return strings.Join(out, ",")
}

func TestStatusFromTheBackendsTable(t *testing.T) {
	bs := inproc.Start(t, 2)
	db := tempDB(t)
	for _, b := range bs {
		if code, _, e := ppadmin(t, "", append(slices.Clone(db), "backend", "add", b.Addr)...); code != exitOK {
			t.Fatal(e)
		}
	}
	bs[0].Put(msgid.New(time.Now()), []byte("hello\r\n"), ann)
	bs[1].Store.SetReadOnly(true)

	code, out, e := ppadmin(t, "", append(slices.Clone(db), "status", "-backend-secret-file", secretFile(t), "-json")...)
	var got []statusJSON
	if code != exitOK || json.Unmarshal([]byte(out), &got) != nil || len(got) != 2 {
		t.Fatalf("status -json: %d %q %s", code, out, e)
	}
	byAddr := map[string]statusJSON{got[0].Addr: got[0], got[1].Addr: got[1]}
	if a := byAddr[bs[0].Addr]; !a.Up || a.ReadOnly || a.Messages != 1 || a.Mailboxes != 1 || a.FreeBytes == 0 || a.FreeInodes == 0 {
		t.Errorf("backend 0: %+v", a)
	}
	if b := byAddr[bs[1].Addr]; !b.Up || !b.ReadOnly || b.Messages != 0 {
		t.Errorf("backend 1: %+v", b)
	}

	code, out, _ = ppadmin(t, "", append(slices.Clone(db), "status", "-backend-secret-file", secretFile(t))...)
	if code != exitOK || !strings.Contains(out, "BACKEND") || !strings.Contains(out, bs[1].Addr) {
		t.Fatalf("status: %d %q", code, out)
	}
}

func TestStatusReportsADownBackend(t *testing.T) {
	bs := inproc.Start(t, 2)
	bs[1].Stop()
	code, out, e := ppadmin(t, "", "status", "-backends", addrs(bs), "-backend-secret-file", secretFile(t), "-backend-io-timeout", "2s")
	if code != exitError || !strings.Contains(e, "1 of 2 backends down") {
		t.Fatalf("exit %d, stderr %q", code, e)
	}
	if !strings.Contains(out, bs[1].Addr) || !strings.Contains(out, "down") {
		t.Fatalf("table does not show the down backend:\n%s", out)
	}
}

func TestStatusNeedsTheSecret(t *testing.T) {
	bs := inproc.Start(t, 1)
	code, _, e := ppadmin(t, "", "status", "-backends", bs[0].Addr)
	if code != exitUsage || !strings.Contains(e, "-backend-secret-file is required") {
		t.Fatalf("exit %d %q", code, e)
	}
	wrong := filepath.Join(t.TempDir(), "s")
	os.WriteFile(wrong, []byte("not the secret, but long enough"), 0o600)
	code, out, _ := ppadmin(t, "", "status", "-json", "-backends", bs[0].Addr, "-backend-secret-file", wrong)
	if code != exitError || !strings.Contains(out, `"up":false`) {
		t.Fatalf("wrong secret: exit %d %q", code, out)
	}
}

// TestMailboxShowsCopiesAndTombstones: three backends, R=2; one message on
// two (fine), one on one (flagged), one deleted (tombstone shown).
func TestMailboxShowsCopiesAndTombstones(t *testing.T) {
	bs := inproc.Start(t, 3)
	now := time.Now()
	full, thin, gone := msgid.New(now), msgid.New(now.Add(time.Millisecond)), msgid.New(now.Add(2*time.Millisecond))
	bs[0].Put(full, []byte("full\r\n"), ann)
	bs[1].Put(full, []byte("full\r\n"), ann)
	bs[2].Put(thin, []byte("thin\r\n"), ann)
	bs[0].Put(gone, []byte("gone\r\n"), ann)
	if err := bs[0].Store.Delete(ann, gone, now); err != nil {
		t.Fatal(err)
	}
	args := []string{"mailbox", "Ann@Example.com", "-backends", addrs(bs), "-backend-secret-file", secretFile(t), "-redundancy", "2"}

	code, out, e := ppadmin(t, "", append(slices.Clone(args), "-json")...)
	var rep mailboxReport
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("mailbox -json: %d %q %s", code, out, e)
	}
	if rep.Mailbox != ann || len(rep.Messages) != 3 || rep.BelowTarget != 1 || rep.Deleted != 1 {
		t.Fatalf("report: %+v", rep)
	}
	m := rep.Messages
	if m[0].ID != full || m[0].Count != 2 || m[0].BelowTarget || m[1].ID != thin || !m[1].BelowTarget ||
		m[1].Holders[0].Addr != bs[2].Addr || m[2].ID != gone || m[2].Tombstones[0] != bs[0].Addr || m[2].Count != 0 {
		t.Errorf("messages: %+v", m)
	}

	code, out, _ = ppadmin(t, "", args...)
	if code != exitOK || !strings.Contains(out, "BELOW R=2") || !strings.Contains(out, "deleted") ||
		!strings.Contains(out, "ann@example.com: 2 messages, 1 below R=2, 1 deleted") {
		t.Fatalf("mailbox:\n%s", out)
	}
}
