package userbase

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"powermail/impl/placement"
)

// epochs summarises a history: each epoch's number and member addresses.
func epochs(t *testing.T, db *DB) (placement.History, []string) {
	t.Helper()
	h, err := db.History(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range h.Epochs {
		var addrs []string
		for _, m := range e.Members {
			addrs = append(addrs, m.ID+"/"+m.Group)
		}
		out = append(out, fmt.Sprint(e.Number, addrs))
	}
	return h, out
}

func wantEpochs(t *testing.T, db *DB, anchored bool, want ...string) {
	t.Helper()
	h, got := epochs(t, db)
	if !slices.Equal(got, want) || h.Anchored != anchored {
		t.Fatalf("history %q anchored=%v, want %q anchored=%v", got, h.Anchored, want, anchored)
	}
}

// TestContractPlacementHistory: every change of the placement membership
// through the API records an epoch, other changes do not, and settling
// drops the older epochs and anchors the history.
func TestContractPlacementHistory(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		a := BackendRow{Addr: "127.0.0.1:1101", Group: 1, Enabled: true}
		b := BackendRow{Addr: "127.0.0.1:1102", Group: 2, Enabled: true}
		steps := []func() error{
			func() error { return db.AddBackend(ctx(t), a) },
			func() error { return db.AddBackend(ctx(t), b) },
			func() error { b.Priority = 3; return db.UpdateBackend(ctx(t), b) },                  // no epoch
			func() error { b.ReadOnly = true; return db.UpdateBackend(ctx(t), b) },               // b leaves
			func() error { return db.AddBackend(ctx(t), BackendRow{Addr: "127.0.0.1:1103"}) },    // disabled: no epoch
			func() error { return db.RemoveBackend(ctx(t), b.Addr) },                             // not a member: no epoch
			func() error { a.Group = 7; return db.UpdateBackend(ctx(t), a) },                     // group changed
			func() error { return db.AddBackend(ctx(t), BackendRow{Addr: "127.0.0.1:1101"}) },    // refused: no epoch
			func() error { return db.UpdateBackend(ctx(t), BackendRow{Addr: "127.0.0.1:1109"}) }, // refused
		}
		for i, step := range steps {
			if err := step(); err != nil && i < 7 {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		wantEpochs(t, db, false, "1 [127.0.0.1:1101/1]", "2 [127.0.0.1:1101/1 127.0.0.1:1102/2]",
			"3 [127.0.0.1:1101/1]", "4 [127.0.0.1:1101/7]")
		if err := db.SettleHistory(ctx(t), 3); err != nil {
			t.Fatal(err)
		}
		wantEpochs(t, db, true, "3 [127.0.0.1:1101/1]", "4 [127.0.0.1:1101/7]")
		if err := db.AddBackend(ctx(t), b); err != nil { // read-only: no epoch
			t.Fatal(err)
		}
		b.ReadOnly = false
		if err := db.UpdateBackend(ctx(t), b); err != nil {
			t.Fatal(err)
		}
		wantEpochs(t, db, true, "3 [127.0.0.1:1101/1]", "4 [127.0.0.1:1101/7]", "5 [127.0.0.1:1101/7 127.0.0.1:1102/2]")
		wantErr(t, "settle unknown", db.SettleHistory(ctx(t), 9), ErrInvalid)
		if rec, err := db.SyncHistory(ctx(t)); rec || err != nil {
			t.Fatalf("sync of an unchanged table: %v %v", rec, err)
		}
	})
}

// TestContractHistoryOfAnOlderDatabase: Init on a database from before the
// placement history (or whose table was edited by hand) records its
// membership, unanchored: the mail on it may be anywhere.
func TestContractHistoryOfAnOlderDatabase(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		for _, q := range []string{
			"DROP TABLE " + cfg.TablePrefix + "placement_history",
			"INSERT INTO " + cfg.TablePrefix + "backends (addr, grp, priority, readonly, enabled) VALUES ('10.0.0.1:1101', 4, 0, 0, 1)",
		} {
			if _, err := db.sql.ExecContext(ctx(t), q); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 { // idempotent
			if err := Init(ctx(t), cfg); err != nil {
				t.Fatal(err)
			}
		}
		wantEpochs(t, db, false, "1 [10.0.0.1:1101/4]")
	})
}

// TestContractConcurrentEpochs: writers that record epochs at once all
// succeed (the loser of a race retries), and the epochs are numbered
// without gaps, the last one holding every backend.
func TestContractConcurrentEpochs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		const writers, each = 4, 3
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					errs <- db.AddBackend(ctx(t), BackendRow{Addr: fmt.Sprintf("127.0.0.%d:%d", w+1, 1101+i), Group: w, Enabled: true})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		h, _ := epochs(t, db)
		for i, e := range h.Epochs {
			if e.Number != i+1 || len(e.Members) != i+1 {
				t.Fatalf("epoch %d: number %d, %d members", i, e.Number, len(e.Members))
			}
		}
		if len(h.Epochs) != writers*each {
			t.Fatalf("%d epochs, want %d", len(h.Epochs), writers*each)
		}
	})
}
