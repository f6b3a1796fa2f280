package ppserver

import (
	"errors"
	"time"

	"github.com/pingcap/failpoint"

	"powermail/impl/fault"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/pp"
)

// verb describes one command: its argument count and whether it may be used
// before AUTH. The checks are made here, in one place, before any handler runs.
type verb struct {
	minArgs, maxArgs int
	beforeAuth       bool // allowed before a successful AUTH
	run              func(s *session, args []string) error
}

// verbs is the command table. COMMIT and ABORT take "+<n>" or up to
// pp.MaxBoxes names; the line length bounds the inline form anyway.
var verbs = map[string]verb{
	pp.VerbAuth:      {3, 3, true, (*session).auth},
	pp.VerbQuit:      {0, 0, true, (*session).quit},
	pp.VerbPrepare:   {1, 1, false, (*session).prepare},
	pp.VerbCommit:    {2, pp.MaxBoxes + 1, false, (*session).commit},
	pp.VerbAbort:     {1, pp.MaxBoxes + 1, false, (*session).abort},
	pp.VerbVoid:      {2, pp.MaxBoxes + 1, false, (*session).void},
	pp.VerbList:      {1, 1, false, (*session).list},
	pp.VerbGet:       {2, 2, false, (*session).get},
	pp.VerbDelete:    {2, 2, false, (*session).delete},
	pp.VerbStatus:    {0, 0, false, (*session).status},
	pp.VerbReadOnly:  {1, 1, false, (*session).readOnly},
	pp.VerbMinFree:   {1, 1, false, (*session).minFree},
	pp.VerbPing:      {0, 0, false, (*session).ping},
	pp.VerbMailboxes: {0, 0, false, (*session).mailboxes},
}

// run parses and executes one command line and counts it.
func (s *session) run(line string) error {
	start := time.Now()
	cmd, err := pp.ParseCommand(line)
	if err == nil {
		err = s.dispatch(cmd)
	}
	countRequest(cmd.Verb, replyCode(err), time.Since(start))
	return err
}

func (s *session) dispatch(cmd pp.Command) error {
	v, ok := verbs[cmd.Verb]
	switch {
	case cmd.Verb == pp.VerbChunk:
		// Raw bytes follow a CHUNK line; outside a stream we cannot tell
		// where they end, so the stream is out of step.
		return protoError{pp.Errorf(pp.CodeBadSequence, "CHUNK outside PREPARE ... END")}
	case !ok:
		return pp.Errorf(pp.CodeSyntax, "unknown command %q", clipArg(cmd.Verb))
	case !s.authed && !v.beforeAuth:
		return pp.Errorf(pp.CodeAuthRequired, "authenticate first")
	case len(cmd.Args) < v.minArgs || len(cmd.Args) > v.maxArgs:
		return pp.Errorf(pp.CodeSyntax, "%s: wrong number of arguments", cmd.Verb)
	}
	return v.run(s, cmd.Args)
}

// replyCode is the ERR code that err will produce (0 for OK), for metrics.
func replyCode(err error) int {
	var werr *pp.Error
	var perr protoError
	switch {
	case err == nil, errors.Is(err, errHangup):
		return 0
	case errors.As(err, &perr):
		return perr.reply.Code
	case errors.As(err, &werr):
		return werr.Code
	case errors.As(err, new(connError)):
		return 0
	}
	return pp.CodeLocal
}

func clipArg(s string) string {
	const maxQuoteBytes = 32
	if len(s) > maxQuoteBytes {
		return s[:maxQuoteBytes] + "..."
	}
	return s
}

// auth checks the client's proof and answers with the server's; on failure
// it replies 535 and hangs up. The secret and proofs are never logged.
func (s *session) auth(args []string) error {
	name, cnonce, proof := args[0], args[1], args[2]
	if s.authed {
		return pp.Errorf(pp.CodeBadSequence, "already authenticated")
	}
	if pp.CheckClientName(name) != nil || pp.CheckNonce(cnonce) != nil || cnonce == s.nonce ||
		!pp.ProofEqual(pp.ClientProof(s.srv.cfg.Secret, s.nonce, cnonce, name), proof) {
		s.log.Warn("authentication failed")
		s.writeLine(pp.FormatErr(pp.Errorf(pp.CodeAuthFailed, "authentication failed")))
		return errHangup
	}
	s.authed = true
	s.sc.Established() // a full server no longer evicts it
	s.log = s.log.With("client", name)
	s.log.Debug("authenticated")
	return s.ok(pp.ServerProof(s.srv.cfg.Secret, s.nonce, cnonce, name))
}

func (s *session) quit([]string) error {
	s.ok("bye")
	return errHangup
}

// commit reads the box list before looking at the id, so that a "+<n>"
// block is consumed even when the id is bad and the stream stays in step.
func (s *session) commit(args []string) error {
	boxes, id, err := s.idAndBoxes(args)
	if err != nil {
		return err
	}
	if err := s.srv.store.Commit(id, boxes); err != nil {
		return err
	}
	failpoint.Inject("beforeCommitReply", func(val failpoint.Value) { fault.Crash(val) }) // P6: durable, not acknowledged
	return s.ok("committed")
}

func (s *session) abort(args []string) error {
	boxes, id, err := s.idAndBoxes(args)
	if err != nil {
		return err
	}
	if err := s.srv.store.Abort(id, boxes); err != nil {
		return err
	}
	return s.ok("aborted")
}

// shiftClock is the failpoint on pplistener's wall clock (chaos fault F9):
// powermail/impl/internal/ppserver/clock=return(-7200000) makes it read
// two hours early. Tombstones are dated by that clock (Latest: never
// earlier than the time that passed since start) and expire by it
// (Earliest: never later), so no jump makes one expire early.
func shiftClock(t time.Time) time.Time {
	failpoint.Inject("clock", func(val failpoint.Value) { t = fault.Shift(t, val) })
	return t
}

// void is the refusal of a delivery after a copy may have been committed:
// tombstones for id in every box, then as abort.
func (s *session) void(args []string) error {
	boxes, id, err := s.idAndBoxes(args)
	if err != nil {
		return err
	}
	if err := s.srv.store.Void(id, boxes, s.srv.wall.Latest()); err != nil {
		return err
	}
	return s.ok("voided")
}

func (s *session) idAndBoxes(args []string) ([]mailbox.Name, msgid.ID, error) {
	var boxes []mailbox.Name
	if len(args) > 1 {
		var err error
		if boxes, err = pp.ReadBoxes(s.r, args[1:]); err != nil {
			if errors.As(err, new(*pp.Error)) {
				return nil, "", err // a bad name: the block was consumed, go on
			}
			return nil, "", lineError(err)
		}
	}
	id, err := parseID(args[0])
	return boxes, id, err
}

func (s *session) list(args []string) error {
	box, err := parseBox(args[0])
	if err != nil {
		return err
	}
	l, err := s.srv.store.List(box)
	if err != nil {
		return err
	}
	if err := pp.WriteListing(s.w, l); err != nil {
		return connError{err}
	}
	return nil
}

func (s *session) delete(args []string) error {
	box, id, err := parseBoxID(args)
	if err != nil {
		return err
	}
	if err := s.srv.store.Delete(box, id, s.srv.wall.Latest()); err != nil {
		return err
	}
	return s.ok("deleted")
}

func (s *session) status([]string) error {
	st, err := s.srv.store.Status()
	if err != nil {
		return err
	}
	return s.ok(pp.FormatStatus(st))
}

func (s *session) readOnly(args []string) error {
	on, err := pp.ParseOnOff(args[0])
	if err != nil {
		return pp.Errorf(pp.CodeBadArg, "%v", err)
	}
	s.srv.store.SetReadOnly(on)
	s.log.Warn("read-only switched", "readonly", on)
	return s.ok("readonly " + pp.OnOff(on))
}

func (s *session) minFree(args []string) error {
	n, err := pp.ParseCount(args[0], 0, 1<<62)
	if err != nil {
		return pp.Errorf(pp.CodeBadArg, "%v", err)
	}
	s.srv.store.SetMinFreeBytes(uint64(n))
	s.log.Warn("free-space floor changed", "bytes", n)
	return s.ok("minfree " + args[0])
}

func (s *session) ping([]string) error { return s.ok("pong") }

func (s *session) mailboxes([]string) error {
	names, err := s.srv.store.Mailboxes()
	if err != nil {
		return err
	}
	if len(names) > pp.MaxListEntries {
		return pp.Errorf(pp.CodeLocal, "more than %d mailboxes", pp.MaxListEntries)
	}
	if err := pp.WriteNames(s.w, pp.FormatOK(itoa(len(names))), names); err != nil {
		return connError{err}
	}
	return nil
}

func parseID(s string) (msgid.ID, error) {
	id, err := msgid.Parse(s)
	if err != nil {
		return "", pp.Errorf(pp.CodeBadArg, "invalid message id")
	}
	return id, nil
}

func parseBox(s string) (mailbox.Name, error) {
	box, err := mailbox.Parse(s)
	if err != nil {
		return "", pp.Errorf(pp.CodeBadArg, "%v", err)
	}
	return box, nil
}

func parseBoxID(args []string) (mailbox.Name, msgid.ID, error) {
	box, err := parseBox(args[0])
	if err != nil {
		return "", "", err
	}
	id, err := parseID(args[1])
	return box, id, err
}
