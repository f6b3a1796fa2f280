package ppclient

import (
	"context"
	"errors"
	"io"
	"strconv"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/pp"
)

// maxGetBytes bounds the size a GET reply may announce (a syntactic bound;
// the backend's max-message-bytes is far lower).
const maxGetBytes = 1 << 40

// simple runs a one-line command whose reply is a single line.
func (c *Client) simple(ctx context.Context, verb string, args ...string) (string, error) {
	var text string
	err := c.do(ctx, verb, func(cn *conn) error {
		var err error
		text, err = cn.roundTrip(pp.Command{Verb: verb, Args: args})
		return err
	})
	return text, err
}

// Commit makes the prepared message id visible in boxes (idempotent: a
// retry after a lost reply does not duplicate).
func (c *Client) Commit(ctx context.Context, id msgid.ID, boxes []mailbox.Name) error {
	return c.boxCommand(ctx, pp.VerbCommit, id, boxes)
}

// Abort removes the prepared message id and its links in boxes, if any.
func (c *Client) Abort(ctx context.Context, id msgid.ID, boxes []mailbox.Name) error {
	return c.boxCommand(ctx, pp.VerbAbort, id, boxes)
}

// boxCommand sends COMMIT or ABORT. A list longer than pp.MaxBoxes is
// refused here, before anything is sent: it is the caller's error, not an
// unreachable backend.
func (c *Client) boxCommand(ctx context.Context, verb string, id msgid.ID, boxes []mailbox.Name) error {
	if len(boxes) > pp.MaxBoxes {
		return pp.ErrTooManyBoxes
	}
	return c.do(ctx, verb, func(cn *conn) error {
		if err := pp.WriteBoxCommand(cn.w, verb, id, boxes); err != nil {
			return err
		}
		if err := cn.w.Flush(); err != nil {
			return err
		}
		_, err := cn.readReply()
		return err
	})
}

// Void leaves a tombstone for id in each of boxes, then removes the
// prepared file and any links: the refusal of a delivery whose copy may
// have been committed somewhere.
func (c *Client) Void(ctx context.Context, id msgid.ID, boxes []mailbox.Name) error {
	return c.boxCommand(ctx, pp.VerbVoid, id, boxes)
}

// List returns the messages and tombstones of box.
func (c *Client) List(ctx context.Context, box mailbox.Name) (mail.Listing, error) {
	var l mail.Listing
	err := c.do(ctx, pp.VerbList, func(cn *conn) error {
		text, err := cn.roundTrip(pp.Command{Verb: pp.VerbList, Args: []string{string(box)}})
		if err != nil {
			return err
		}
		l, err = pp.ReadListing(cn.r, text)
		return err
	})
	return l, err
}

// Mailboxes returns every mailbox that has a directory on the backend.
func (c *Client) Mailboxes(ctx context.Context) ([]mailbox.Name, error) {
	var names []mailbox.Name
	err := c.do(ctx, pp.VerbMailboxes, func(cn *conn) error {
		text, err := cn.roundTrip(pp.Command{Verb: pp.VerbMailboxes})
		if err != nil {
			return err
		}
		n, err := pp.ParseCount(text, 0, pp.MaxListEntries)
		if err != nil {
			return malformed("MAILBOXES count %q", text)
		}
		names, err = pp.ReadNames(cn.r, n)
		if errors.As(err, new(*pp.Error)) {
			return malformed("MAILBOXES: %v", err) // a bad name from the server is not its ERR reply
		}
		return err
	})
	return names, err
}

// Get writes the message to dst and returns the number of bytes written.
// When dst is a *net.TCPConn the body moves socket to socket by splice(2)
// without passing through user space (see readBody). If an error comes
// after some bytes reached dst, dst holds a partial message. The error is a
// *DestinationError when the backend's side of the copy is still sound (dst
// failed, or stopped the copy on purpose), a *TransportError otherwise.
func (c *Client) Get(ctx context.Context, box mailbox.Name, id msgid.ID, dst io.Writer) (int64, error) {
	var n int64
	err := c.do(ctx, pp.VerbGet, func(cn *conn) error {
		text, err := cn.roundTrip(pp.Command{Verb: pp.VerbGet, Args: []string{string(box), string(id)}})
		if err != nil {
			return err
		}
		size, err := pp.ParseCount(text, 0, maxGetBytes)
		if err != nil {
			return malformed("GET size %q", text)
		}
		n, err = cn.readBody(dst, size)
		return err
	})
	return n, err
}

// readBody copies exactly size bytes to dst: first what the buffered
// reader already holds, then straight from the socket. io.Copy from an
// io.LimitedReader over a *net.TCPConn into a *net.TCPConn uses splice(2).
func (cn *conn) readBody(dst io.Writer, size int64) (int64, error) {
	var n int64
	if b := min(int64(cn.r.Buffered()), size); b > 0 {
		p, _ := cn.r.Peek(int(b))
		m, err := dst.Write(p)
		cn.r.Discard(m)
		n += int64(m)
		if err != nil {
			return n, &DestinationError{err}
		}
	}
	if n == size { // all of it came with the reply line: no copy to set up
		return n, nil
	}
	m, err := io.Copy(dst, io.LimitReader(cn.nc, size-n))
	n += m
	switch {
	case err != nil && cn.sourceAlive():
		return n, &DestinationError{err}
	case err == nil && n < size:
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// sourceAlive tells, after a failed copy, whether the backend's socket is
// still sound: splice(2) reports a failure of either side the same way, so
// the socket is asked directly, without blocking, whether it has been
// closed or reset. A backend that merely stalled also counts as alive; the
// health checks are what find a stalled backend. Without a socket to ask
// (a fault-injecting conn in tests) the backend is blamed.
func (cn *conn) sourceAlive() bool {
	st := cn.peek()
	return st == peekIdle || st == peekData
}

// Delete removes id from box and leaves a tombstone (also when absent).
func (c *Client) Delete(ctx context.Context, box mailbox.Name, id msgid.ID) error {
	_, err := c.simple(ctx, pp.VerbDelete, string(box), string(id))
	return err
}

// Status returns free space, counts and mode of the backend.
func (c *Client) Status(ctx context.Context) (mail.BackendStatus, error) {
	text, err := c.simple(ctx, pp.VerbStatus)
	if err != nil {
		return mail.BackendStatus{}, err
	}
	st, err := pp.ParseStatus(text)
	if err != nil {
		return mail.BackendStatus{}, &TransportError{Addr: c.cfg.Addr, Op: pp.VerbStatus, Err: err}
	}
	return st, nil
}

// SetReadOnly switches the backend's read-only mode at run time.
func (c *Client) SetReadOnly(ctx context.Context, on bool) error {
	_, err := c.simple(ctx, pp.VerbReadOnly, pp.OnOff(on))
	return err
}

// SetMinFree sets the free-space floor below which writes are refused.
func (c *Client) SetMinFree(ctx context.Context, bytes uint64) error {
	_, err := c.simple(ctx, pp.VerbMinFree, strconv.FormatUint(bytes, 10))
	return err
}

// Ping checks that the backend answers.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.simple(ctx, pp.VerbPing)
	return err
}
