package ppclient

import (
	"cmp"
	"context"
	"errors"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/pp"
)

// uploadChunkBytes is the largest CHUNK frame the client sends. Each Write
// becomes one or more frames in the connection's write buffer, which goes
// out when it is full or when a step is sent.
const uploadChunkBytes = 64 << 10

// ErrUploadDone is returned by Write or a step after the upload ended.
var ErrUploadDone = errors.New("ppclient: upload already finished or cancelled")

// errStepOrder: a step was sent while another one's reply is unread.
var errStepOrder = errors.New("ppclient: a step was sent before the previous one was waited for")

// Upload is one replica's whole conversation about one message, on one
// connection held from Begin to the end: the stream (PREPARE, CHUNK frames,
// END) and then COMMIT or ABORT. Each step is sent at once and answered
// later (Step.Wait), so a caller with several replicas sends the step to
// all of them and then waits for each: the backends work in parallel
// without a goroutine per replica. The connection returns to the pool when
// a COMMIT or ABORT is answered; it is closed by Cancel or on any failure.
// An Upload is not safe for concurrent use.
type Upload struct {
	c    *Client
	ctx  context.Context
	id   msgid.ID
	cn   *conn
	sum  *pp.Summer
	err  error // first failure, or ErrUploadDone; sticky
	busy bool  // a step's reply is unread
}

// Begin starts sending message id; nothing is visible in any mailbox until
// a COMMIT. A pooled connection is checked as for every request (see
// acquire): an upload cannot be repeated transparently, since its bytes
// are gone.
func (c *Client) Begin(ctx context.Context, id msgid.ID) (*Upload, error) {
	cn, _, err := c.acquire(ctx, pingAfterIdle, false)
	if err != nil {
		return nil, c.wrap("dial", ctx, err)
	}
	cn.watch(ctx)
	u := &Upload{c: c, ctx: ctx, id: id, cn: cn, sum: pp.NewSummer()}
	if err := cn.send(pp.Command{Verb: pp.VerbPrepare, Args: []string{string(id)}}); err != nil {
		u.fail(err)
		return nil, u.err
	}
	return u, nil
}

// Write adds p to the message as CHUNK frames. Errors are transport errors;
// a refusal by the server (read-only, disk full) is only reported by the
// END step, because the server answers once, after END.
func (u *Upload) Write(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	if err := u.cn.refresh(u.ctx, u.c.cfg.IOTimeout); err != nil {
		u.fail(err)
		return 0, u.err
	}
	u.sum.Write(p)
	for rest := p; len(rest) > 0; {
		n := min(len(rest), uploadChunkBytes)
		if err := pp.WriteChunk(u.cn.w, rest[:n]); err != nil {
			u.fail(err)
			return len(p) - len(rest), u.err
		}
		rest = rest[n:]
	}
	return len(p), nil
}

// Flush sends what Write buffered, so that a slow message keeps its
// backend stream alive (the server bounds the silence between frames).
func (u *Upload) Flush() error {
	if u.err != nil {
		return u.err
	}
	if err := u.cn.w.Flush(); err != nil {
		u.fail(err)
	}
	return u.err
}

// Step is one or more commands sent and not yet answered.
type Step struct {
	u     *Upload
	verbs []string // the commands, in order: one reply each
	final bool     // ends with COMMIT or ABORT: the connection is released after it
	err   error
}

// Wait reads the step's replies: nil, the first server *pp.Error (4xx,
// 5xx) among them, or a *TransportError.
func (s Step) Wait() error {
	if s.err != nil {
		return s.err
	}
	u := s.u
	var first error
	verb := ""
	for _, v := range s.verbs {
		if err := u.cn.refresh(u.ctx, u.c.cfg.IOTimeout); err != nil {
			u.fail(err)
			return u.err
		}
		_, err := u.cn.readReply()
		var werr *pp.Error
		switch {
		case err != nil && !errors.As(err, &werr):
			u.fail(err)
			return u.err
		case err != nil && first == nil:
			first, verb = err, v
		}
	}
	u.busy = false
	if s.final || first != nil && isShutdown(first) {
		u.release(first)
	}
	return u.c.wrap(cmp.Or(verb, s.verbs[0]), u.ctx, first)
}

// End sends END with the size and CRC-32C of all bytes written. Its reply
// (OK once the backend verified the bytes and made them durable in tmp/)
// is read by Wait.
func (u *Upload) End() Step {
	return u.step([]string{pp.VerbEnd}, false, u.writeEnd)
}

func (u *Upload) writeEnd() error { return pp.WriteLine(u.cn.w, u.sum.End().String()) }

// Commit sends COMMIT for boxes after a successful End (the message then
// becomes visible there once Wait returns nil).
func (u *Upload) Commit(boxes []mailbox.Name) Step {
	return u.boxStep(pp.VerbCommit, boxes)
}

// EndCommit sends END and COMMIT for boxes together: one round trip where
// End and Commit take two. The backend commits only what END made durable
// (a COMMIT after a failed END is refused), so Wait returns nil only when
// both succeeded, and otherwise END's error if it failed. What a caller
// gives up is the chance to stop after END: a replica that took COMMIT
// while another failed must be voided rather than aborted.
func (u *Upload) EndCommit(boxes []mailbox.Name) Step {
	if len(boxes) > pp.MaxBoxes {
		return Step{err: pp.ErrTooManyBoxes}
	}
	return u.step([]string{pp.VerbEnd, pp.VerbCommit}, true, func() error {
		if err := u.writeEnd(); err != nil {
			return err
		}
		return pp.WriteBoxCommand(u.cn.w, pp.VerbCommit, u.id, boxes)
	})
}

// Abort sends ABORT for boxes: the backend removes the prepared file and
// any links of the message in boxes.
func (u *Upload) Abort(boxes []mailbox.Name) Step {
	return u.boxStep(pp.VerbAbort, boxes)
}

func (u *Upload) boxStep(verb string, boxes []mailbox.Name) Step {
	if len(boxes) > pp.MaxBoxes {
		return Step{err: pp.ErrTooManyBoxes}
	}
	return u.step([]string{verb}, true, func() error { return pp.WriteBoxCommand(u.cn.w, verb, u.id, boxes) })
}

// step writes commands verbs with write and flushes them.
func (u *Upload) step(verbs []string, final bool, write func() error) Step {
	switch {
	case u.err != nil:
		return Step{err: u.err}
	case u.busy:
		return Step{err: errStepOrder}
	}
	err := u.cn.refresh(u.ctx, u.c.cfg.IOTimeout)
	if err == nil {
		err = write()
	}
	if err == nil {
		err = u.cn.w.Flush()
	}
	if err != nil {
		u.fail(err)
		return Step{err: u.err}
	}
	u.busy = true
	return Step{u: u, verbs: verbs, final: final}
}

// Finish is End and its Wait, and ends the upload: the connection goes
// back to the pool, and the caller commits with Client.Commit. (A caller
// that commits on the same connection uses End and Commit instead.)
func (u *Upload) Finish() error {
	err := u.End().Wait()
	if u.err == nil {
		u.release(err)
	}
	return err
}

// Cancel abandons the upload unless it has ended. The connection is closed,
// which makes the server discard a partial file; closing is the only way to
// stop a stream midway without a valid END. A prepared message stays in
// the backend's tmp/ until an ABORT or its expiry.
func (u *Upload) Cancel() {
	if u.err != nil {
		return
	}
	u.err = ErrUploadDone
	u.cn.unwatch()
	u.cn.nc.Close()
}

// release ends the upload after a final reply, pooling the connection.
func (u *Upload) release(err error) {
	u.err = ErrUploadDone
	u.cn.unwatch()
	u.c.release(u.cn, err)
}

func (u *Upload) fail(err error) {
	u.cn.unwatch()
	u.cn.nc.Close()
	u.err = u.c.wrap(pp.VerbPrepare, u.ctx, err)
}
