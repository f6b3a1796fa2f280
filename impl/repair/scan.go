package repair

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// listTimeout bounds one LIST or MAILBOXES exchange.
const listTimeout = 30 * time.Second

// Holder is one backend's copy of a message.
type Holder struct {
	Addr string `json:"backend"`
	Size int64  `json:"size"`
}

// Copies is everything the reachable backends hold of one message id in one
// mailbox: the copies and the tombstones.
type Copies struct {
	ID         msgid.ID  `json:"id"`
	Holders    []Holder  `json:"holders"`
	Tombstones []string  `json:"tombstones"` // backends holding a tombstone for the id
	Deleted    time.Time `json:"deleted"`    // the earliest tombstone; zero if none
}

// Held reports whether backend addr lists the message.
func (c Copies) Held(addr string) bool {
	return slices.ContainsFunc(c.Holders, func(h Holder) bool { return h.Addr == addr })
}

// Tombstoned reports whether some backend holds a tombstone for the id: the
// message was deleted from this mailbox, whatever other backends list.
func (c Copies) Tombstoned() bool { return len(c.Tombstones) > 0 }

// MailboxState is one mailbox across the cluster.
type MailboxState struct {
	Box      mailbox.Name `json:"mailbox"`
	Messages []Copies     `json:"messages"` // sorted by id, so by delivery time
	// Unreachable backends could not be listed: what they hold is unknown.
	Unreachable []string `json:"unreachable"`
}

// ScanMailbox lists box on every backend that is up, concurrently, and
// merges the listings by message id.
func ScanMailbox(ctx context.Context, states []State, box mailbox.Name) MailboxState {
	listings := make([]*mail.Listing, len(states))
	forEach(len(states), len(states), func(i int) {
		if !states[i].Up {
			return
		}
		lctx, cancel := context.WithTimeout(ctx, listTimeout)
		defer cancel()
		if l, err := states[i].Client.List(lctx, box); err == nil {
			listings[i] = &l
		}
	})
	return merge(box, states, listings)
}

// merge unites the listings (nil: not listed) by message id.
func merge(box mailbox.Name, states []State, listings []*mail.Listing) MailboxState {
	ms := MailboxState{Box: box, Unreachable: []string{}}
	byID := map[msgid.ID]*Copies{}
	get := func(id msgid.ID) *Copies {
		if byID[id] == nil {
			byID[id] = &Copies{ID: id, Holders: []Holder{}, Tombstones: []string{}}
		}
		return byID[id]
	}
	for i, l := range listings {
		addr := states[i].Addr
		if l == nil {
			ms.Unreachable = append(ms.Unreachable, addr)
			continue
		}
		for _, e := range l.Messages {
			c := get(e.ID)
			c.Holders = append(c.Holders, Holder{Addr: addr, Size: e.Size})
		}
		for _, t := range l.Tombstones {
			c := get(t.ID)
			c.Tombstones = append(c.Tombstones, addr)
			if c.Deleted.IsZero() || t.Deleted.Before(c.Deleted) {
				c.Deleted = t.Deleted
			}
		}
	}
	for _, c := range byID {
		ms.Messages = append(ms.Messages, *c)
	}
	slices.SortFunc(ms.Messages, func(a, b Copies) int { return cmp.Compare(a.ID, b.ID) })
	return ms
}

// Mailboxes returns the union of the mailboxes of every backend that is up,
// sorted, and the backends that could not be asked.
func Mailboxes(ctx context.Context, states []State) (boxes []mailbox.Name, unreachable []string) {
	names := make([][]mailbox.Name, len(states))
	errs := make([]error, len(states))
	forEach(len(states), len(states), func(i int) {
		if !states[i].Up {
			errs[i] = fmt.Errorf("down: %v", states[i].Err)
			return
		}
		lctx, cancel := context.WithTimeout(ctx, listTimeout)
		defer cancel()
		names[i], errs[i] = states[i].Client.Mailboxes(lctx)
	})
	seen := map[mailbox.Name]bool{}
	for i := range states {
		if errs[i] != nil {
			unreachable = append(unreachable, states[i].Addr)
		}
		for _, n := range names[i] {
			if !seen[n] {
				seen[n] = true
				boxes = append(boxes, n)
			}
		}
	}
	slices.Sort(boxes)
	return boxes, unreachable
}
