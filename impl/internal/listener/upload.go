package listener

import (
	"io"
	"strconv"
	"time"

	"powermail/impl/wire"
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
	if err := up.Finish(end.Size, end.Sum); err != nil {
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
func (s *session) readStream(sink io.Writer) (wire.Frame, error) {
	var total int64
	for {
		s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.IdleTimeout))
		f, err := wire.ReadFrame(s.r)
		if err != nil {
			return wire.Frame{}, lineError(err)
		}
		if f.Kind == wire.FrameEnd {
			return f, nil
		}
		total += int64(f.Len)
		if total > s.srv.cfg.MaxMessageBytes {
			return wire.Frame{}, protoError{wire.Errorf(wire.CodeTooLarge,
				"message larger than %d bytes", s.srv.cfg.MaxMessageBytes)}
		}
		s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.IOTimeout))
		if err := wire.ReadChunk(s.r, f.Len, sink); err != nil {
			return wire.Frame{}, connError{err}
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

func (k *uploadSink) cancel() {
	if k.up != nil {
		k.up.Cancel()
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
