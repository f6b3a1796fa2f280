package ppclient

import (
	"context"
	"errors"

	"powermail/impl/msgid"
	"powermail/impl/wire"
)

// uploadChunkBytes is the payload of each CHUNK frame the client sends.
// Callers such as powersmtp write line by line; collecting 64 KiB per frame
// keeps the framing overhead and the number of writes low.
const uploadChunkBytes = 64 << 10

// ErrUploadDone is returned by Write or Finish after Finish or Cancel.
var ErrUploadDone = errors.New("ppclient: upload already finished or cancelled")

// Upload streams one message to the backend (PREPARE ... END). It holds a
// connection until Finish or Cancel; one of them must be called. It is not
// safe for concurrent use.
type Upload struct {
	c   *Client
	ctx context.Context
	cn  *conn
	sum *wire.Summer
	buf []byte // payload of the next CHUNK
	err error  // first failure; sticky
}

// Begin starts sending message id. Nothing is visible in any mailbox until
// Commit. A pooled connection is checked with PING first: an upload cannot
// be repeated transparently (its bytes are gone), so it should not start on
// a connection that died while idle; one round trip is cheap next to the
// fsyncs that storing the message costs.
func (c *Client) Begin(ctx context.Context, id msgid.ID) (*Upload, error) {
	cn, _, err := c.acquire(ctx, 0)
	if err != nil {
		return nil, c.wrap("dial", ctx, err)
	}
	cn.watch(ctx)
	u := &Upload{c: c, ctx: ctx, cn: cn, sum: wire.NewSummer(), buf: make([]byte, 0, uploadChunkBytes)}
	if err := cn.send(wire.Command{Verb: wire.VerbPrepare, Args: []string{string(id)}}); err != nil {
		u.Cancel()
		return nil, c.wrap(wire.VerbPrepare, ctx, err)
	}
	return u, nil
}

// Write adds p to the message. Errors are transport errors; a refusal by the
// server (read-only, disk full) is only reported by Finish, because the
// server answers once, after END.
func (u *Upload) Write(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	u.sum.Write(p)
	n := len(p)
	for len(p) > 0 {
		k := copy(u.buf[len(u.buf):cap(u.buf)], p)
		u.buf, p = u.buf[:len(u.buf)+k], p[k:]
		if len(u.buf) == cap(u.buf) {
			if err := u.sendChunk(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (u *Upload) sendChunk() error {
	err := u.cn.refresh(u.ctx, u.c.cfg.IOTimeout)
	if err == nil {
		err = wire.WriteChunk(u.cn.w, u.buf)
	}
	u.buf = u.buf[:0]
	if err != nil {
		u.fail(err)
	}
	return u.err
}

// Finish sends the last chunk and END with the size and SHA-256 of all
// bytes written, and waits for the server to verify and fsync.
func (u *Upload) Finish() error {
	if u.err != nil {
		return u.err
	}
	if len(u.buf) > 0 && u.sendChunk() != nil {
		return u.err
	}
	err := u.cn.refresh(u.ctx, u.c.cfg.IOTimeout)
	if err == nil {
		err = wire.WriteLine(u.cn.w, u.sum.End().String())
	}
	if err == nil {
		err = u.cn.w.Flush()
	}
	if err == nil {
		_, err = u.cn.readReply()
	}
	u.cn.unwatch()
	u.c.release(u.cn, err)
	u.err = ErrUploadDone
	return u.c.wrap(wire.VerbPrepare, u.ctx, err)
}

// Cancel abandons the upload. The connection is closed, which makes the
// server discard the partial file; closing is the only way to stop a
// stream midway without a valid END.
func (u *Upload) Cancel() {
	if u.err == ErrUploadDone {
		return
	}
	u.cn.unwatch()
	u.cn.nc.Close()
	u.err = ErrUploadDone
}

func (u *Upload) fail(err error) {
	u.cn.unwatch()
	u.cn.nc.Close()
	u.err = u.c.wrap(wire.VerbPrepare, u.ctx, err)
}
