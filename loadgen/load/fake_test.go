package load

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeMail is an in-process SMTP and POP3 server sharing one in-memory
// store, with knobs for failures: just enough protocol to drive loadgen.
type fakeMail struct {
	mu       sync.Mutex
	boxes    map[string][][]byte
	rejectTo string               // RCPT to this mailbox gets 550
	failData func() bool          // DATA end answered 451 when true
	stall    func() time.Duration // delay before the DATA end reply
}

func newFake() *fakeMail { return &fakeMail{boxes: map[string][][]byte{}} }

func (f *fakeMail) serve(t *testing.T, handle func(*bufio.Reader, *bufio.Writer)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Minute))
				handle(bufio.NewReader(c), bufio.NewWriter(c))
			}()
		}
	}()
	return ln.Addr().String()
}

func reply(w *bufio.Writer, s string) { w.WriteString(s + "\r\n"); w.Flush() }

func (f *fakeMail) smtp(r *bufio.Reader, w *bufio.Writer) {
	reply(w, "220 fake ESMTP")
	var rcpts []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.Fields(line + " x")[0])
		switch cmd {
		case "EHLO":
			reply(w, "250-fake\r\n250-PIPELINING\r\n250 SIZE 100000000")
		case "MAIL", "RSET":
			rcpts = nil
			reply(w, "250 ok")
		case "RCPT":
			to := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line[8:]), "<"), ">")
			if to == f.rejectTo {
				reply(w, "550 5.1.1 no such user")
				continue
			}
			rcpts = append(rcpts, to)
			reply(w, "250 ok")
		case "DATA":
			if len(rcpts) == 0 {
				reply(w, "554 no valid recipients")
				continue
			}
			reply(w, "354 go on")
			f.data(r, w, rcpts)
		case "QUIT":
			reply(w, "221 bye")
			return
		default:
			reply(w, "500 what")
		}
	}
}

// data reads the content up to CRLF.CRLF, un-stuffing dots (RFC 5321 4.5.2).
func (f *fakeMail) data(r *bufio.Reader, w *bufio.Writer, rcpts []string) {
	var m []byte
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if string(line) == ".\r\n" {
			break
		}
		m = append(m, bytes.TrimPrefix(line, []byte("."))...)
	}
	if f.stall != nil {
		time.Sleep(f.stall())
	}
	if f.failData != nil && f.failData() {
		reply(w, "451 4.3.0 try later")
		return
	}
	f.mu.Lock()
	for _, to := range rcpts {
		f.boxes[to] = append(f.boxes[to], append([]byte("Received: by fake\r\n"), m...))
	}
	f.mu.Unlock()
	reply(w, "250 queued")
}

func (f *fakeMail) pop(r *bufio.Reader, w *bufio.Writer) {
	reply(w, "+OK fake POP3")
	var user string
	var box [][]byte
	deleted := map[int]bool{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		fields := strings.Fields(line)
		arg := 0
		if len(fields) > 1 {
			arg, _ = strconv.Atoi(fields[1])
		}
		switch strings.ToUpper(fields[0]) {
		case "USER":
			user = fields[1]
			reply(w, "+OK")
		case "PASS":
			if fields[1] != "pw-"+user {
				reply(w, "-ERR [AUTH] bad login")
				continue
			}
			f.mu.Lock()
			box = f.boxes[user]
			f.mu.Unlock()
			reply(w, "+OK logged in")
		case "STAT":
			reply(w, fmt.Sprintf("+OK %d %d", len(box), 0))
		case "UIDL":
			w.WriteString("+OK\r\n")
			for i := range box {
				fmt.Fprintf(w, "%d u%d\r\n", i+1, i)
			}
			reply(w, ".")
		case "RETR":
			w.WriteString("+OK\r\n")
			// Dot-stuff (RFC 1939 3).
			m := bytes.ReplaceAll(box[arg-1], []byte("\r\n."), []byte("\r\n.."))
			if bytes.HasPrefix(m, []byte(".")) {
				w.WriteString(".")
			}
			w.Write(m)
			reply(w, ".")
		case "DELE":
			deleted[arg] = true
			reply(w, "+OK")
		case "QUIT":
			f.mu.Lock()
			var keep [][]byte
			for i, m := range box {
				if !deleted[i+1] {
					keep = append(keep, m)
				}
			}
			f.boxes[user] = keep
			f.mu.Unlock()
			reply(w, "+OK bye")
			return
		}
	}
}
