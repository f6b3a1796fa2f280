package userbase

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"

	"powermail/impl/placement"
)

// The placement history (table placement_history) is the record that
// rendezvous placement needs: every membership a mailbox's mail may have
// been placed under (package placement). A row is one member of one epoch.
//
// Every change of the backends table made here (AddBackend, UpdateBackend,
// RemoveBackend) records a new epoch in the same transaction when it
// changes the placement membership: the enabled backends not marked
// read-only, with their groups. So do Init (a database created before the
// history existed, or a table edited by hand) and SyncHistory. An empty
// membership is no epoch: nothing can be placed under it. Each epoch also
// has a header row, with an empty address, written first: two writers
// that record the same epoch number at once collide on it (their members
// may differ, and would not), and the loser retries its whole transaction.
//
// SettleHistory is the other writer: after a rebalance has moved every
// message home under an epoch, it drops the older epochs and marks that
// one anchored (placement.History.Anchored).

// History returns the whole history, oldest epoch first.
func (db *DB) History(ctx context.Context) (placement.History, error) {
	var h placement.History
	err := db.call(ctx, "history", qHistory, func(ctx context.Context, st *sql.Stmt) error {
		rows, err := st.QueryContext(ctx)
		if err != nil {
			return err
		}
		defer rows.Close()
		h = placement.History{}
		for rows.Next() {
			var epoch, grp int
			var addr string
			var started int64
			var anchored bool
			if err := rows.Scan(&epoch, &addr, &grp, &started, &anchored); err != nil {
				return err
			}
			if addr == "" { // the header comes first: '' sorts before any address
				h.Anchored = h.Anchored || len(h.Epochs) == 0 && anchored
				h.Epochs = append(h.Epochs, placement.Epoch{Number: epoch, Started: time.Unix(started, 0)})
				continue
			}
			if len(h.Epochs) == 0 || h.Current().Number != epoch {
				return fmt.Errorf("placement history: epoch %d has no header row", epoch)
			}
			e := &h.Epochs[len(h.Epochs)-1]
			e.Members = append(e.Members, member(addr, grp))
		}
		return rows.Err()
	})
	return h, err
}

// member is a placement member as every front end names it: the group as
// a decimal string.
func member(addr string, grp int) placement.Candidate {
	return placement.Candidate{ID: addr, Group: strconv.Itoa(grp)}
}

// SyncHistory records the current membership as a new epoch if it differs
// from the newest one, and reports whether it did.
func (db *DB) SyncHistory(ctx context.Context) (recorded bool, err error) {
	err = db.tx(ctx, "history-sync", func(ctx context.Context, tx *sql.Tx) error {
		recorded, err = db.recordEpoch(ctx, tx, time.Now())
		return err
	})
	return recorded, err
}

// SettleHistory drops the epochs before epoch and marks epoch anchored.
// Call it only when every message sits at its home under epoch (package
// placement says when that is).
func (db *DB) SettleHistory(ctx context.Context, epoch int) error {
	return db.tx(ctx, "history-settle", func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, db.q(qHistoryCount), epoch).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: no placement epoch %d", ErrInvalid, epoch)
		}
		if _, err := tx.ExecContext(ctx, db.q(qHistoryDrop), epoch); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.q(qHistoryAnchor), epoch)
		return err
	})
}

// changeBackends runs change, then records the epoch it makes, in one
// transaction.
func (db *DB) changeBackends(ctx context.Context, op string, change func(context.Context, *sql.Tx) error) error {
	return db.tx(ctx, op, func(ctx context.Context, tx *sql.Tx) error {
		if err := change(ctx, tx); err != nil {
			return err
		}
		_, err := db.recordEpoch(ctx, tx, time.Now())
		return err
	})
}

// recordEpoch appends the placement membership as epoch newest+1 unless it
// is empty or equal to the newest epoch.
func (db *DB) recordEpoch(ctx context.Context, tx *sql.Tx, now time.Time) (bool, error) {
	cur, err := queryMembers(ctx, tx, db.q(qPlacementMembers))
	if err != nil || len(cur.members) == 0 {
		return false, err
	}
	latest, err := queryMembers(ctx, tx, db.q(qHistoryLatest))
	if err != nil {
		return false, err
	}
	if slices.Equal(cur.members, latest.members) {
		return false, nil
	}
	for _, m := range append([]memberRow{{}}, cur.members...) { // the header first
		_, err := tx.ExecContext(ctx, db.q(qHistoryInsert), latest.epoch+1, m.addr, m.grp, now.Unix())
		if db.dialect.isDuplicate(err) {
			return false, errRetry
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

type memberRow struct {
	addr string
	grp  int
}

// memberRows are a membership sorted by address, with the epoch it is
// from (0 when none).
type memberRows struct {
	epoch   int
	members []memberRow
}

// queryMembers reads (epoch, addr, grp) rows.
func queryMembers(ctx context.Context, tx *sql.Tx, q string) (memberRows, error) {
	var out memberRows
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var m memberRow
		if err := rows.Scan(&out.epoch, &m.addr, &m.grp); err != nil {
			return out, err
		}
		out.members = append(out.members, m)
	}
	slices.SortFunc(out.members, func(a, b memberRow) int { return cmp.Compare(a.addr, b.addr) })
	return out, rows.Err()
}
