package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"powermail/impl/internal/e2e/inproc"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/orphanlog"
	"powermail/impl/repair"
)

// repairCluster is three backends in the backends table of a fresh
// userbase, and the flags that reach them.
func repairCluster(t *testing.T) ([]*inproc.Listener, []string) {
	bs := inproc.Start(t, 3)
	db := tempDB(t)
	for i, b := range bs {
		if code, _, e := ppadmin(t, "", append(slices.Clone(db), "backend", "add", b.Addr, "-group", fmt.Sprint(i))...); code != exitOK {
			t.Fatal(e)
		}
	}
	return bs, db
}

func repairJSON(t *testing.T, db []string, extra ...string) (int, repair.Report, string) {
	t.Helper()
	args := append(slices.Clone(db), "repair", "-json", "-backend-secret-file", secretFile(t))
	code, out, e := ppadmin(t, "", append(args, extra...)...)
	var rep repair.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("repair -json: exit %d, %v: %q %s", code, err, out, e)
	}
	return code, rep, e
}

// TestRepairCommand: a lost backend, a delete that reached one replica, and
// an orphan from the log, repaired in one run; the second run does nothing.
func TestRepairCommand(t *testing.T) {
	bs, db := repairCluster(t)
	now := time.Now()
	kept, deleted, orphan := msgid.New(now), msgid.New(now.Add(time.Millisecond)), msgid.New(now.Add(2*time.Millisecond))
	body := []byte("Subject: kept\r\n\r\nkept\r\n")
	bs[0].Put(kept, body, ann)
	bs[1].Put(kept, body, ann)
	bs[1].Put(deleted, []byte("x\r\n"), ann)
	bs[2].Put(deleted, []byte("x\r\n"), ann)
	if err := bs[2].Store.Delete(ann, deleted, now); err != nil {
		t.Fatal(err)
	}
	bs[2].Put(orphan, []byte("refused\r\n"), ann)
	log := filepath.Join(t.TempDir(), "orphans.log")
	ol, err := orphanlog.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	ol.Append(orphanlog.Entry{Time: now, Backend: bs[2].Addr, ID: orphan, Boxes: []mailbox.Name{ann}})
	ol.Close()
	bs[0].Wipe()

	code, rep, e := repairJSON(t, db, "-orphan-log", log, "-dry-run")
	if code != exitOK || !rep.DryRun || rep.ReReplicated != 1 || bs[0].Read(ann, kept) != nil || bs[2].Read(ann, kept) != nil {
		t.Fatalf("dry run: %d %+v %s", code, rep, e)
	}
	code, rep, e = repairJSON(t, db, "-orphan-log", log)
	if code != exitOK || rep.ReReplicated != 1 || rep.TombstonedRemoved != 1 || rep.OrphansRemoved != 1 || rep.Scanned != 3 {
		t.Fatalf("repair: %d %+v %s", code, rep, e)
	}
	copies := 0
	for _, b := range bs {
		if string(b.Read(ann, kept)) == string(body) {
			copies++
		}
	}
	if copies != 2 || bs[1].Read(ann, deleted) != nil || bs[2].Read(ann, orphan) != nil {
		t.Fatalf("after repair: %d copies of kept; deleted and orphan gone?", copies)
	}
	code, rep, _ = repairJSON(t, db, "-orphan-log", log)
	if code != exitOK || len(rep.Actions) != 0 {
		t.Fatalf("second run: %d %+v", code, rep)
	}
}

// TestRepairDrainMarksReadOnly: -drain -mark-readonly marks the backend in
// the table and on the backend, then copies its messages to the others.
func TestRepairDrainMarksReadOnly(t *testing.T) {
	bs, db := repairCluster(t)
	id := msgid.New(time.Now())
	bs[0].Put(id, []byte("hello\r\n"), ann)
	bs[1].Put(id, []byte("hello\r\n"), ann)
	code, rep, e := repairJSON(t, db, "-drain", bs[0].Addr, "-mark-readonly")
	if code != exitOK || rep.ReReplicated != 1 || !rep.DrainComplete || bs[2].Read(ann, id) == nil {
		t.Fatalf("drain: %d %+v %s", code, rep, e)
	}
	if st, _ := bs[0].Store.Status(); !st.ReadOnly {
		t.Error("backend not switched read-only")
	}
	_, out, _ := ppadmin(t, "", append(slices.Clone(db), "backend", "list", "-json")...)
	var rows []backendJSON
	json.Unmarshal([]byte(out), &rows)
	for _, r := range rows {
		if r.Addr == bs[0].Addr && !r.ReadOnly {
			t.Error("table row not marked read-only")
		}
	}
}

// TestRepairTextAndIncompleteExit: the human report, and exit status 1
// when messages stay below R.
func TestRepairTextAndIncompleteExit(t *testing.T) {
	bs := inproc.Start(t, 1)
	bs[0].Put(msgid.New(time.Now()), []byte("lonely\r\n"), ann)
	prom := filepath.Join(t.TempDir(), "powermail.prom")
	code, out, e := ppadmin(t, "", "repair", "-backends", addrs(bs), "-backend-secret-file", secretFile(t), "-redundancy", "2",
		"-metrics-file", prom)
	if code != exitError || !strings.Contains(e, "1 messages below R=2") || !strings.Contains(out, "still below target") {
		t.Fatalf("exit %d\n%s\n%s", code, out, e)
	}
	text, err := os.ReadFile(prom)
	if err != nil || !strings.Contains(string(text), "powermail_repair_messages_below_r 1\n") ||
		!strings.Contains(string(text), "powermail_repair_messages_left_below_r 1\n") {
		t.Fatalf("metrics file: %v\n%s", err, text)
	}
	if code, _, e := ppadmin(t, "", "repair", "-backends", addrs(bs), "-backend-secret-file", secretFile(t), "-mark-readonly"); code != exitUsage {
		t.Fatalf("-mark-readonly without -drain: %d %s", code, e)
	}
}
