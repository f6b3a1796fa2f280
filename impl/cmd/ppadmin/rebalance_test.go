package main

import (
	"context"
	"encoding/json"

	"slices"
	"strings"
	"testing"
	"time"

	"powermail/impl/internal/e2e/inproc"
	"powermail/impl/msgid"
	"powermail/impl/placement"
	"powermail/impl/userbase"
)

// history reads the placement history of the test's userbase.
func history(t *testing.T, db []string) placement.History {
	t.Helper()
	cfg := userbase.Defaults()
	cfg.Path = db[1]
	d, err := userbase.OpenDB(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	h, err := d.History(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestRebalanceCommand: under rendezvous placement, a copy of ann's
// message off home shows in status (AWAY) and repair -rebalance moves it
// home; the placement history (three epochs: the backends were added one
// by one) is settled only once the newest epoch is older than
// -settle-after.
func TestRebalanceCommand(t *testing.T) {
	bs, db := repairCluster(t)
	h := history(t, db)
	if len(h.Epochs) != 3 || h.Anchored {
		t.Fatalf("history after three backend adds: %+v", h)
	}
	home := placement.NewHomes(h, 2).Locate(string(ann)).Home
	away := bs[slices.IndexFunc(bs, func(b *inproc.Listener) bool { return !slices.Contains(home, b.Addr) })]
	id := msgid.New(time.Now())
	for _, b := range bs {
		if b == away || b.Addr == home[0] {
			b.Put(id, []byte("hello\r\n"), ann)
		}
	}
	flags := []string{"-placement", "rendezvous", "-backend-secret-file", secretFile(t)}
	code, out, e := ppadmin(t, "", append(append(slices.Clone(db), "status", "-json"), flags...)...)
	var st []statusJSON
	if err := json.Unmarshal([]byte(out), &st); code != exitOK || err != nil {
		t.Fatalf("status: %d %v %s", code, err, e)
	}
	for _, s := range st {
		if want := boolInt(s.Addr == away.Addr); s.AwayCopies == nil || *s.AwayCopies != want {
			t.Errorf("status of %s: away %v, want %d", s.Addr, s.AwayCopies, want)
		}
	}

	code, rep, e := repairJSON(t, db, "-placement", "rendezvous", "-rebalance", "-settle-after", "1h")
	if code != exitOK || rep.Rebalanced != 1 || rep.ReReplicated != 1 || away.Read(ann, id) != nil {
		t.Fatalf("rebalance: %d %+v %s", code, rep, e)
	}
	if !strings.Contains(e, "placement history kept") || len(history(t, db).Epochs) != 3 {
		t.Fatalf("settled although the newest epoch is younger than -settle-after: %s", e)
	}
	code, _, e = repairJSON(t, db, "-placement", "rendezvous", "-rebalance", "-settle-after", "0s")
	if h := history(t, db); code != exitOK || len(h.Epochs) != 1 || !h.Anchored {
		t.Fatalf("after a clean rebalance: %d %+v %s", code, h, e)
	}
	for _, args := range [][]string{{"-rebalance"}, {"-placement", "rendezvous", "-backends", addrs(bs)}, {"-placement", "nearest"}} {
		if code, _, e := ppadmin(t, "", append(append(slices.Clone(db), "repair", "-backend-secret-file", secretFile(t)), args...)...); code != exitUsage {
			t.Errorf("repair %v: exit %d, want usage: %s", args, code, e)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
