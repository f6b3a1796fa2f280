package pp

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// Bounds on multi-line replies and box lists, so that neither side can be
// made to allocate without limit.
const (
	// MaxBoxes bounds the mailboxes of one COMMIT or ABORT.
	MaxBoxes = 1000
	// MaxListEntries bounds the lines of a LIST or MAILBOXES reply.
	MaxListEntries = 10_000_000
)

// ErrTooManyBoxes is returned when a command names more than MaxBoxes
// mailboxes; the caller must split the list.
var ErrTooManyBoxes = fmt.Errorf("more than %d mailboxes in one command", MaxBoxes)

// WriteListing buffers the LIST reply: "OK <m> <t>", m entries, t tombstones.
func WriteListing(w *bufio.Writer, l mail.Listing) error {
	if err := WriteLine(w, FormatOK(fmt.Sprintf("%d %d", len(l.Messages), len(l.Tombstones)))); err != nil {
		return err
	}
	for _, e := range l.Messages {
		if err := WriteLine(w, string(e.ID)+" "+strconv.FormatInt(e.Size, 10)); err != nil {
			return err
		}
	}
	for _, t := range l.Tombstones {
		if err := WriteLine(w, string(t.ID)+" "+strconv.FormatInt(t.Deleted.UnixMilli(), 10)); err != nil {
			return err
		}
	}
	return nil
}

// ReadListing reads the lines that follow "OK <m> <t>"; okText is "<m> <t>".
func ReadListing(r *bufio.Reader, okText string) (mail.Listing, error) {
	m, t, ok := strings.Cut(okText, " ")
	if !ok {
		return mail.Listing{}, fmt.Errorf("%w: LIST header %q", ErrMalformedReply, clip(okText))
	}
	nm, err1 := ParseCount(m, 0, MaxListEntries)
	nt, err2 := ParseCount(t, 0, MaxListEntries)
	if err1 != nil || err2 != nil {
		return mail.Listing{}, fmt.Errorf("%w: LIST header %q", ErrMalformedReply, clip(okText))
	}
	var l mail.Listing
	for range nm {
		id, n, err := readIDNumber(r)
		if err != nil {
			return mail.Listing{}, err
		}
		l.Messages = append(l.Messages, mail.Entry{ID: id, Size: n})
	}
	for range nt {
		id, n, err := readIDNumber(r)
		if err != nil {
			return mail.Listing{}, err
		}
		l.Tombstones = append(l.Tombstones, mail.Tombstone{ID: id, Deleted: time.UnixMilli(n)})
	}
	return l, nil
}

func readIDNumber(r *bufio.Reader) (msgid.ID, int64, error) {
	line, err := ReadLine(r)
	if err != nil {
		return "", 0, err
	}
	a, b, _ := strings.Cut(line, " ")
	id, err1 := msgid.Parse(a)
	n, err2 := ParseCount(b, 0, 1<<62)
	if err1 != nil || err2 != nil {
		return "", 0, fmt.Errorf("%w: listing line %q", ErrMalformedReply, clip(line))
	}
	return id, n, nil
}

// WriteNames buffers the MAILBOXES reply: "OK <n>" then one name per line.
// The same block form carries long box lists of COMMIT and ABORT.
func WriteNames(w *bufio.Writer, header string, names []mailbox.Name) error {
	if err := WriteLine(w, header); err != nil {
		return err
	}
	for _, n := range names {
		if err := WriteLine(w, string(n)); err != nil {
			return err
		}
	}
	return nil
}

// ReadNames reads n lines of one mailbox name each. It reads all n lines
// even when one is invalid, so that the stream stays in step, and then
// reports the first invalid name as ERR 501.
func ReadNames(r *bufio.Reader, n int64) ([]mailbox.Name, error) {
	names := make([]mailbox.Name, 0, min(n, MaxBoxes))
	var bad error
	for range n {
		line, err := ReadLine(r)
		if err != nil {
			return nil, err
		}
		name, err := mailbox.Parse(line)
		if err != nil && bad == nil {
			bad = Errorf(CodeBadArg, "%v", err)
		}
		names = append(names, name)
	}
	if bad != nil {
		return nil, bad
	}
	return names, nil
}

// ReadBoxes returns the mailboxes named by the arguments of COMMIT or ABORT
// after the id: either the names themselves or "+<n>", in which case n more
// lines are read from r. A name always contains '@', so "+<n>" is never a name.
func ReadBoxes(r *bufio.Reader, args []string) ([]mailbox.Name, error) {
	if len(args) == 1 && strings.HasPrefix(args[0], "+") {
		n, err := ParseCount(args[0][1:], 1, MaxBoxes)
		if err != nil {
			// The count is unusable, so the lines that follow cannot be
			// skipped: the caller must close the connection.
			return nil, fmt.Errorf("%w: box count: %v", ErrBadFrame, err)
		}
		return ReadNames(r, n)
	}
	if len(args) > MaxBoxes {
		return nil, Errorf(CodeBadArg, "more than %d mailboxes", MaxBoxes)
	}
	names := make([]mailbox.Name, 0, len(args))
	for _, a := range args {
		name, err := mailbox.Parse(a)
		if err != nil {
			return nil, Errorf(CodeBadArg, "%v", err)
		}
		names = append(names, name)
	}
	return names, nil
}

// WriteBoxCommand buffers "<verb> <id> <mbox>...", or the "+<n>" block form
// when the names do not fit on one line.
func WriteBoxCommand(w *bufio.Writer, verb string, id msgid.ID, boxes []mailbox.Name) error {
	if len(boxes) > MaxBoxes {
		return ErrTooManyBoxes
	}
	args := []string{string(id)}
	for _, b := range boxes {
		args = append(args, string(b))
	}
	if line, err := (Command{Verb: verb, Args: args}).Line(); err == nil {
		return WriteLine(w, line)
	}
	return WriteNames(w, verb+" "+string(id)+" +"+strconv.Itoa(len(boxes)), boxes)
}
