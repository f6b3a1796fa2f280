package listener

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// get answers "OK <size>" and then the file's bytes, straight from the page
// cache to the socket by sendfile(2): the stored bytes are already in wire
// form, so nothing is copied through user space.
func (s *session) get(args []string) error {
	box, id, err := parseBoxID(args)
	if err != nil {
		return err
	}
	f, size, err := s.srv.store.OpenMessage(box, id)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.ok(strconv.FormatInt(size, 10)); err != nil {
		return err
	}
	if err := s.flush(); err != nil {
		return err
	}
	n, err := sendFile(s.conn, f, size)
	bytesOut.Add(float64(n))
	if err != nil {
		// The client counted on size bytes; after a short send the
		// stream is out of step and only closing is left.
		return connError{err}
	}
	return nil
}

// maxSendfileBytes is the most one sendfile(2) call is asked for; Linux
// caps a call at about 2 GiB anyway.
const maxSendfileBytes = 1 << 30

// errFileShrank means the file had fewer bytes than its size said.
var errFileShrank = errors.New("message file shorter than its size")

// sendFile writes exactly size bytes of f to c. On a TCP socket it calls
// sendfile(2) with the exact count: io.Copy would ask for 2^31-1 bytes and
// then make a second call that returns 0 (Go issues 41513, 45256), ~30%
// slower for small messages (see machine-facts.md). Other conns (net.Pipe in
// tests) get a plain bounded copy.
func sendFile(c net.Conn, f *os.File, size int64) (int64, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return io.Copy(c, io.LimitReader(f, size))
	}
	sock, err := tc.SyscallConn()
	if err != nil {
		return 0, err
	}
	src, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var sent int64
	var sendErr error
	err = src.Control(func(fd uintptr) {
		err := sock.Write(func(s uintptr) bool {
			sent, sendErr = sendfileLoop(int(s), int(fd), sent, size)
			return sendErr != unix.EAGAIN // false: wait until writable (deadline applies)
		})
		if err != nil { // deadline or closed socket: more telling than EAGAIN
			sendErr = err
		}
	})
	if err == nil {
		err = sendErr
	}
	return sent, err
}

// sendfileLoop sends from offset off until size or until the socket would
// block (EAGAIN, returned so the poller can wait).
func sendfileLoop(sock, file int, off, size int64) (int64, error) {
	for off < size {
		pos := off
		n, err := unix.Sendfile(sock, file, &pos, int(min(size-off, maxSendfileBytes)))
		if n > 0 {
			off += int64(n)
		}
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return off, err
		case n == 0:
			return off, errFileShrank
		}
	}
	return off, nil
}
