package repair

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/ppclient"
)

// actionTimeout bounds one action (a copy streams the whole message).
const actionTimeout = 2 * time.Minute

// errRaced: a delete landed on the source while the message was copied.
var errRaced = errors.New("deleted while being copied; the new copy was removed")

// apply carries out one action against the backends and returns it as
// done: a copy that failed on its target is made on a spare instead, if
// one is left (used holds the targets this message's copies have taken).
func (r *runner) apply(ctx context.Context, a Action, used map[string]bool) (Action, error) {
	switch a.Kind {
	case RemoveTomb:
		return a, r.bounded(ctx, func(ctx context.Context) error { return r.clients[a.Target].Delete(ctx, a.Box, a.ID) })
	case RemoveOrphan, RemoveAway:
		// One id at a time: an ABORT removes the id's upload in tmp/ too.
		unlock := r.ids.lock(a.ID)
		defer unlock()
		return a, r.bounded(ctx, func(ctx context.Context) error {
			return r.clients[a.Target].Abort(ctx, a.ID, []mailbox.Name{a.Box})
		})
	}
	var err error
	for i, t := range append([]string{a.Target}, a.Spares...) {
		if i > 0 && used[t] {
			continue
		}
		used[t], a.Target = true, t
		if err = r.bounded(ctx, func(ctx context.Context) error { return r.copyTo(ctx, a) }); err == nil || errors.Is(err, errRaced) {
			return a, err
		}
		r.logAction(a, err)
	}
	return a, err
}

// bounded runs f under actionTimeout.
func (r *runner) bounded(ctx context.Context, f func(context.Context) error) error {
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	return f(actx)
}

// copyTo makes the copy of a on a.Target and checks for a racing delete.
func (r *runner) copyTo(ctx context.Context, a Action) error {
	// Two copies of one id to one target at once would collide in its tmp/.
	unlock := r.ids.lock(a.ID)
	defer unlock()
	if err := copyMessage(ctx, r.clients[a.Source], r.clients[a.Target], a); err != nil {
		return err
	}
	return r.recheck(ctx, a)
}

// copyMessage streams the message from src into an upload on dst: the
// backend checks length and SHA-256 at END, so what is committed is
// exactly what src sent, and exactly the size src listed.
func copyMessage(ctx context.Context, src, dst *ppclient.Client, a Action) error {
	up, err := dst.Begin(ctx, a.ID)
	if err != nil {
		return err
	}
	n, err := src.Get(ctx, a.Box, a.ID, up)
	if err == nil && n != a.Size {
		err = fmt.Errorf("GET from %s: %d bytes, listed %d", a.Source, n, a.Size)
	}
	if err != nil {
		up.Cancel()
		return err
	}
	if err := up.Finish(); err != nil {
		return err
	}
	if err := dst.Commit(ctx, a.ID, []mailbox.Name{a.Box}); err != nil {
		_ = dst.Abort(ctx, a.ID, nil) // the prepared file; ExpireUploads would get it later
		return err
	}
	return nil
}

// recheck closes the window between scan and copy: a user who deleted the
// message meanwhile left a tombstone on the source (a holder), and the new
// copy must not outlive it.
func (r *runner) recheck(ctx context.Context, a Action) error {
	l, err := r.clients[a.Source].List(ctx, a.Box)
	if err != nil {
		return nil // the copy stands; the next run sees any tombstone
	}
	for _, t := range l.Tombstones {
		if t.ID == a.ID {
			if err := r.clients[a.Target].Delete(ctx, a.Box, a.ID); err != nil {
				return err
			}
			return errRaced
		}
	}
	return nil
}

// idLocks serialises actions on one message id; entries live only while
// used, so memory follows the actions in flight.
type idLocks struct {
	mu   sync.Mutex
	held map[msgid.ID]chan struct{} // closed when released
}

// lock waits until no other action holds id, then holds it.
func (l *idLocks) lock(id msgid.ID) (unlock func()) {
	l.mu.Lock()
	for {
		busy, ok := l.held[id]
		if !ok {
			break
		}
		l.mu.Unlock()
		<-busy
		l.mu.Lock()
	}
	if l.held == nil {
		l.held = map[msgid.ID]chan struct{}{}
	}
	done := make(chan struct{})
	l.held[id] = done
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		delete(l.held, id)
		l.mu.Unlock()
		close(done)
	}
}
