package app

import (
	"context"
	"errors"
	"io"

	"powermail/impl/internal/delivery"
	"powermail/impl/internal/maildrop"
	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/placement"
	"powermail/impl/ppclient"
)

// NodeAdapter adapts a cluster node to what delivery and maildrop need. A
// transport failure marks the node down at once, so the next message does
// not wait for the next health check to avoid it.
type NodeAdapter struct{ n *Node }

var (
	_ delivery.Backend = NodeAdapter{}
	_ maildrop.Backend = NodeAdapter{}
)

// Name is the backend's address.
func (b NodeAdapter) Name() string { return b.n.Addr }

func (b NodeAdapter) seen(err error) error {
	if errors.Is(err, ppclient.ErrUnreachable) {
		b.n.MarkDown(err)
	}
	return err
}

// Begin starts an upload; the node counts it in its load until Cancel.
func (b NodeAdapter) Begin(ctx context.Context, id msgid.ID) (delivery.Upload, error) {
	up, err := b.n.Client.Begin(ctx, id)
	if err != nil {
		return nil, b.seen(err)
	}
	b.n.StartUpload()
	return &upload{Upload: up, b: b}, nil
}

// upload adapts *ppclient.Upload to delivery.Upload; its steps' transport
// failures mark the backend down like any other.
type upload struct {
	*ppclient.Upload
	b     NodeAdapter
	ended bool // Cancel ran: the delivery is done with it
}

func (u *upload) End() delivery.Step                        { return step{u.Upload.End(), u.b} }
func (u *upload) Commit(boxes []mailbox.Name) delivery.Step { return step{u.Upload.Commit(boxes), u.b} }
func (u *upload) EndCommit(boxes []mailbox.Name) delivery.Step {
	return step{u.Upload.EndCommit(boxes), u.b}
}

// Cancel ends the upload; delivery calls it at least once for every
// upload, when it is done with it (delivery.Upload is used by one
// goroutine).
func (u *upload) Cancel() {
	u.Upload.Cancel()
	if !u.ended {
		u.ended = true
		u.b.n.EndUpload()
	}
}

type step struct {
	s ppclient.Step
	b NodeAdapter
}

func (s step) Wait() error { return s.b.seen(s.s.Wait()) }

// Abort removes every trace of id in boxes.
func (b NodeAdapter) Abort(ctx context.Context, id msgid.ID, boxes []mailbox.Name) error {
	return b.seen(b.n.Client.Abort(ctx, id, boxes))
}

// Void hides id in boxes for good (tombstones), then removes every trace.
func (b NodeAdapter) Void(ctx context.Context, id msgid.ID, boxes []mailbox.Name) error {
	return b.seen(b.n.Client.Void(ctx, id, boxes))
}

// List lists a mailbox.
func (b NodeAdapter) List(ctx context.Context, box mailbox.Name) (mail.Listing, error) {
	l, err := b.n.Client.List(ctx, box)
	return l, b.seen(err)
}

// Get streams a message to w.
func (b NodeAdapter) Get(ctx context.Context, box mailbox.Name, id msgid.ID, w io.Writer) (int64, error) {
	n, err := b.n.Client.Get(ctx, box, id, w)
	return n, b.seen(err)
}

// Delete tombstones and unlinks a message.
func (b NodeAdapter) Delete(ctx context.Context, box mailbox.Name, id msgid.ID) error {
	return b.seen(b.n.Client.Delete(ctx, box, id))
}

// Picker chooses backends for delivery by the placement policy.
type Picker struct {
	Cluster *View
	Spread  placement.Spread
}

// Pick implements delivery.Picker.
func (p Picker) Pick(boxes []mailbox.Name, n int) ([]delivery.Target, error) {
	names := make([]string, len(boxes))
	for i, b := range boxes {
		names[i] = string(b)
	}
	targets, err := p.Cluster.Place(names, placement.Request{Target: n, Min: 1, Spread: p.Spread})
	if err != nil {
		return nil, err
	}
	out := make([]delivery.Target, len(targets))
	for i, t := range targets {
		out[i] = delivery.Target{Candidates: wrap[delivery.Backend](t.Candidates, nil), Home: t.Home}
	}
	return out, nil
}

// Locator answers maildrop's question, where a mailbox's mail may be,
// from the cluster, reading the backends of local (if any) from their
// store directories.
func Locator(c *View, local localStores) func(mailbox.Name) maildrop.Location {
	return func(box mailbox.Name) maildrop.Location {
		loc := c.Locate(string(box))
		return maildrop.Location{
			Ask: wrap[maildrop.Backend](loc.Ask, local), Extra: wrap[maildrop.Backend](loc.Extra, local),
			Degraded: loc.Degraded, Home: loc.Home, Order: orderOf(loc.Order, local),
		}
	}
}

// orderOf keeps nil (no order) apart from an empty order.
func orderOf(nodes []*Node, local localStores) []maildrop.Backend {
	if nodes == nil {
		return nil
	}
	return wrap[maildrop.Backend](nodes, local)
}

// wrap adapts nodes, reading those of local from their stores.
func wrap[T any](nodes []*Node, local localStores) []T {
	out := make([]T, len(nodes))
	for i, n := range nodes {
		var b any = NodeAdapter{n}
		if r := local[n.Addr]; r != nil {
			b = localBackend{NodeAdapter{n}, r}
		}
		out[i] = b.(T)
	}
	return out
}
