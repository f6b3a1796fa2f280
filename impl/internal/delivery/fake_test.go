package delivery

import (
	"bytes"
	"context"
	"errors"
	"sync"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// fakeBackend records what a pplistener would have stored, with a knob per
// phase to fail.
type fakeBackend struct {
	name string
	mu   sync.Mutex
	// failure knobs
	failBegin, failWrite, failFinish, failCommit, failAbort bool
	// commitSilently: the commit takes effect but its answer is lost (the
	// backend died after committing, or its reply never arrived).
	commitSilently bool
	// observed
	begins   int
	prepared map[msgid.ID][]byte
	links    map[mailbox.Name]map[msgid.ID]bool
	tombs    map[mailbox.Name]map[msgid.ID]bool
	aborts   int
	voids    int
}

func newFake(name string) *fakeBackend {
	return &fakeBackend{name: name, prepared: map[msgid.ID][]byte{},
		links: map[mailbox.Name]map[msgid.ID]bool{}, tombs: map[mailbox.Name]map[msgid.ID]bool{}}
}

var errInjected = errors.New("injected failure")

func (f *fakeBackend) Name() string { return f.name }

func (f *fakeBackend) Begin(_ context.Context, id msgid.ID) (Upload, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.begins++
	if f.failBegin {
		return nil, errInjected
	}
	return &fakeUpload{f: f, id: id}, nil
}

func (f *fakeBackend) commit(id msgid.ID, boxes []mailbox.Name) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failCommit {
		return errInjected
	}
	if _, ok := f.prepared[id]; !ok {
		return errors.New("not prepared")
	}
	for _, b := range boxes {
		if f.links[b] == nil {
			f.links[b] = map[msgid.ID]bool{}
		}
		f.links[b][id] = true
	}
	if f.commitSilently {
		return errInjected
	}
	return nil
}

// Void tombstones id in boxes, then aborts.
func (f *fakeBackend) Void(_ context.Context, id msgid.ID, boxes []mailbox.Name) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.voids++
	if f.failAbort {
		return errInjected
	}
	for _, b := range boxes {
		if f.tombs[b] == nil {
			f.tombs[b] = map[msgid.ID]bool{}
		}
		f.tombs[b][id] = true
	}
	f.remove(id, boxes)
	return nil
}

// visible reports whether a copy of id shows in box on f, counting
// tombstones on any of all (the maildrop's rule).
func (f *fakeBackend) visible(box mailbox.Name, id msgid.ID, all []*fakeBackend) bool {
	for _, o := range all {
		if o.tombs[box][id] {
			return false
		}
	}
	return f.links[box][id]
}

func (f *fakeBackend) Abort(_ context.Context, id msgid.ID, boxes []mailbox.Name) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aborts++
	if f.failAbort {
		return errInjected
	}
	f.remove(id, boxes)
	return nil
}

func (f *fakeBackend) remove(id msgid.ID, boxes []mailbox.Name) {
	delete(f.prepared, id)
	for _, b := range boxes {
		delete(f.links[b], id)
	}
}

// copies counts mailbox links of any message.
func (f *fakeBackend) copies() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.prepared)
	for _, ids := range f.links {
		n += len(ids)
	}
	return n
}

type fakeUpload struct {
	f   *fakeBackend
	id  msgid.ID
	buf bytes.Buffer
}

func (u *fakeUpload) Write(p []byte) (int, error) {
	if u.f.failWrite {
		return 0, errInjected
	}
	return u.buf.Write(p)
}

func (u *fakeUpload) Flush() error { return nil }

// fakeStep is an answered step.
type fakeStep struct{ err error }

func (s fakeStep) Wait() error { return s.err }

func (u *fakeUpload) End() Step {
	u.f.mu.Lock()
	defer u.f.mu.Unlock()
	if u.f.failFinish {
		return fakeStep{errInjected}
	}
	u.f.prepared[u.id] = bytes.Clone(u.buf.Bytes())
	return fakeStep{}
}

func (u *fakeUpload) Commit(boxes []mailbox.Name) Step { return fakeStep{u.f.commit(u.id, boxes)} }

// EndCommit is what a backend does with END and COMMIT sent together: a
// COMMIT after a failed END finds nothing prepared and is refused.
func (u *fakeUpload) EndCommit(boxes []mailbox.Name) Step {
	if err := u.End().Wait(); err != nil {
		u.f.commit(u.id, boxes)
		return fakeStep{err}
	}
	return u.Commit(boxes)
}

func (u *fakeUpload) Cancel() {}

// fixedPicker gives every mailbox its backends in order, all of them
// home: PowerMail's placement.
type fixedPicker []Backend

func (p fixedPicker) Pick(boxes []mailbox.Name, _ int) ([]Target, error) {
	if len(p) == 0 {
		return nil, errors.New("no backends")
	}
	out := make([]Target, len(boxes))
	for i := range out {
		out[i] = Target{Candidates: p, Home: len(p)}
	}
	return out, nil
}

// homePicker gives each mailbox a Target of its own: rendezvous placement.
type homePicker map[mailbox.Name]Target

func (p homePicker) Pick(boxes []mailbox.Name, _ int) ([]Target, error) {
	out := make([]Target, len(boxes))
	for i, b := range boxes {
		out[i] = p[b]
	}
	return out, nil
}

type fakeRelay struct {
	refuse error
	got    bytes.Buffer
	rcpts  []string
	done   bool
}

func (r *fakeRelay) Start(_ context.Context, _ string, rcpts []string) (RelaySink, error) {
	r.rcpts = rcpts
	return r, nil
}
func (r *fakeRelay) Write(p []byte) (int, error) { return r.got.Write(p) }
func (r *fakeRelay) Commit() error {
	if r.refuse != nil {
		return r.refuse
	}
	r.done = true
	return nil
}
func (r *fakeRelay) Cancel() {}

type fakeUsage map[mailbox.Name]int64

func (u fakeUsage) Usage(_ context.Context, b mailbox.Name, _ bool) (int64, error) { return u[b], nil }
func (u fakeUsage) Added(mailbox.Name, int64)                                      {}
