package ppserver

import (
	"strconv"
	"time"

	"powermail/impl/pp"
)

// prepare receives a message stream: PREPARE <id>, CHUNK frames, END. It
// always reads up to END, even when the store refused the upload or failed
// during it, so that a pipelining client stays in step; the one reply comes
// after END. If the stream breaks (malformed frame, client gone, timeout) the
// upload is cancelled and nothing of it remains.
func (s *session) prepare(args []string) error {
	var up Upload
	id, failure := parseID(args[0])
	if failure == nil {
		up, failure = s.srv.store.Begin(id)
	}
	sink := &uploadSink{up: up, err: failure}
	end, err := s.readStream(sink)
	if err != nil {
		sink.cancel()
		return err
	}
	if sink.err != nil {
		sink.cancel()
		return sink.err
	}
	if err := up.Finish(end.Size, end.CRC); err != nil {
		up.Cancel()
		return err
	}
	return s.ok("stored")
}

// readStream copies CHUNK payloads into sink until END, which it returns.
// The wait for the next frame is bounded like the wait for a command
// (IdleTimeout): a front end streams SMTP DATA as it arrives, and an SMTP
// client may pause for minutes (RFC 5321 4.5.3.2.6 allows 3 minutes per
// data block). A frame's payload, once announced, must arrive within
// IOTimeout.
//
// A stream over MaxMessageBytes is refused (552) but still read, so that
// the client learns why instead of seeing a reset; beyond twice the limit
// the connection is closed, so nothing is unbounded.
func (s *session) readStream(sink *uploadSink) (pp.Frame, error) {
	var total int64
	maxBytes := s.srv.cfg.MaxMessageBytes
	for {
		s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.IdleTimeout))
		f, err := pp.ReadFrame(s.r)
		if err != nil {
			return pp.Frame{}, lineError(err)
		}
		if f.Kind == pp.FrameEnd {
			return f, nil
		}
		total += int64(f.Len)
		if total > maxBytes {
			sink.refuse(pp.Errorf(pp.CodeTooLarge, "message larger than %d bytes", maxBytes))
		}
		if total > 2*maxBytes {
			return pp.Frame{}, protoError{pp.Errorf(pp.CodeTooLarge, "message far larger than %d bytes", maxBytes)}
		}
		s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.IOTimeout))
		if err := pp.ReadChunk(s.r, f.Len, sink); err != nil {
			return pp.Frame{}, connError{err}
		}
		bytesIn.Add(float64(f.Len))
	}
}

// uploadSink forwards to the upload until the first error, then swallows
// the rest of the stream: a failed Write must not stop the reading, or the
// remaining payload bytes would be taken for commands.
type uploadSink struct {
	up  Upload
	err error
}

func (k *uploadSink) Write(p []byte) (int, error) {
	if k.err == nil {
		if _, err := k.up.Write(p); err != nil {
			k.err = err
		}
	}
	return len(p), nil
}

// refuse stops forwarding with err unless an error came first.
func (k *uploadSink) refuse(err error) {
	if k.err == nil {
		k.err = err
	}
}

func (k *uploadSink) cancel() {
	if k.up != nil {
		k.up.Cancel()
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
