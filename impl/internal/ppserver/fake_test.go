package ppserver_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"powermail/impl/internal/ppserver"
	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/pp"
	"powermail/impl/store"
)

// fakeStore keeps messages in memory (and in files, for OpenMessage) and has
// knobs to fail each phase. It checks the same contract as the real store:
// nothing is visible before Commit, and a cancelled upload leaves nothing.
type fakeStore struct {
	dir string

	mu         sync.Mutex
	readOnly   bool
	minFree    uint64
	uploading  int // uploads begun and neither finished nor cancelled
	cancelled  int
	prepared   map[msgid.ID][]byte
	boxes      map[mailbox.Name]map[msgid.ID][]byte
	tombstones map[mailbox.Name][]mail.Tombstone

	expiries       chan time.Time // if set, gets the time of each ExpireTombstones
	uploadCutoffs  chan time.Time // if set, gets the cut-off of each ExpireUploads
	failWriteAfter int64          // >0: Write fails once this many bytes arrived
	commitGate     chan struct{}  // if set, Commit waits for it (shutdown tests)
	commitStarted  chan struct{}
}

func newFakeStore(dir string) *fakeStore {
	return &fakeStore{
		dir:        dir,
		prepared:   map[msgid.ID][]byte{},
		boxes:      map[mailbox.Name]map[msgid.ID][]byte{},
		tombstones: map[mailbox.Name][]mail.Tombstone{},
	}
}

type fakeUpload struct {
	s    *fakeStore
	id   msgid.ID
	data bytes.Buffer
	done bool
}

func (s *fakeStore) Begin(id msgid.ID) (ppserver.Upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readOnly {
		return nil, pp.Errorf(pp.CodeReadOnly, "backend is read-only")
	}
	if _, dup := s.prepared[id]; dup {
		return nil, pp.Errorf(pp.CodeFailed, "id exists")
	}
	s.uploading++
	return &fakeUpload{s: s, id: id}, nil
}

func (u *fakeUpload) Write(p []byte) (int, error) {
	if lim := u.s.failWriteAfter; lim > 0 && int64(u.data.Len()+len(p)) > lim {
		return 0, pp.Errorf(pp.CodeNoSpace, "disk full")
	}
	return u.data.Write(p)
}

func (u *fakeUpload) Finish(size int64, crc uint32) error {
	if int64(u.data.Len()) != size || store.Checksum(u.data.Bytes()) != crc {
		return pp.Errorf(pp.CodeFailed, "length or checksum mismatch")
	}
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	u.s.prepared[u.id] = u.data.Bytes()
	u.s.uploading--
	u.done = true
	return nil
}

func (u *fakeUpload) Cancel() {
	if u.done {
		return
	}
	u.done = true
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	u.s.uploading--
	u.s.cancelled++
}

func (s *fakeStore) Commit(id msgid.ID, boxes []mailbox.Name) error {
	if s.commitGate != nil {
		s.commitStarted <- struct{}{}
		<-s.commitGate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.prepared[id]
	if !ok {
		return pp.Errorf(pp.CodeBadSequence, "not prepared")
	}
	for _, b := range boxes {
		if s.boxes[b] == nil {
			s.boxes[b] = map[msgid.ID][]byte{}
		}
		s.boxes[b][id] = data
	}
	return nil
}

func (s *fakeStore) Abort(id msgid.ID, boxes []mailbox.Name) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.prepared, id)
	for _, b := range boxes {
		delete(s.boxes[b], id)
	}
	return nil
}

func (s *fakeStore) Void(id msgid.ID, boxes []mailbox.Name, now time.Time) error {
	if err := s.Abort(id, boxes); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range boxes {
		s.tombstones[b] = append(s.tombstones[b], mail.Tombstone{ID: id, Deleted: now})
	}
	return nil
}

func (s *fakeStore) List(box mailbox.Name) (mail.Listing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var l mail.Listing
	for id, data := range s.boxes[box] {
		l.Messages = append(l.Messages, mail.Entry{ID: id, Size: int64(len(data))})
	}
	slices.SortFunc(l.Messages, func(a, b mail.Entry) int { return bytes.Compare([]byte(a.ID), []byte(b.ID)) })
	l.Tombstones = slices.Clone(s.tombstones[box])
	return l, nil
}

func (s *fakeStore) OpenMessage(box mailbox.Name, id msgid.ID) (*os.File, int64, error) {
	s.mu.Lock()
	data, ok := s.boxes[box][id]
	s.mu.Unlock()
	if !ok {
		return nil, 0, pp.Errorf(pp.CodeNotFound, "no such message")
	}
	path := filepath.Join(s.dir, string(id))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(path)
	return f, int64(len(data)), err
}

func (s *fakeStore) Delete(box mailbox.Name, id msgid.ID, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.boxes[box], id)
	s.tombstones[box] = append(s.tombstones[box], mail.Tombstone{ID: id, Deleted: now.Truncate(time.Millisecond)})
	return nil
}

// ExpireTombstones tells expiries (when set) the time it was given.
func (s *fakeStore) ExpireTombstones(now time.Time) (int, error) {
	tell(s.expiries, now)
	return 0, nil
}

// ExpireUploads tells uploadCutoffs (when set) the cut-off it was given.
func (s *fakeStore) ExpireUploads(cutoff time.Time) (int, error) {
	tell(s.uploadCutoffs, cutoff)
	return 0, nil
}

// tell sends t on ch unless ch is nil or full: the expiry ticker must not block.
func tell(ch chan time.Time, t time.Time) {
	select {
	case ch <- t:
	default:
	}
}

func (s *fakeStore) Mailboxes() ([]mailbox.Name, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []mailbox.Name
	for b := range s.boxes {
		names = append(names, b)
	}
	slices.Sort(names)
	return names, nil
}

func (s *fakeStore) Status() (mail.BackendStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return mail.BackendStatus{FreeBytes: 1 << 30, TotalBytes: 1 << 31, FreeInodes: 1000,
		Mailboxes: len(s.boxes), ReadOnly: s.readOnly, MinFreeBytes: s.minFree}, nil
}

func (s *fakeStore) SetReadOnly(on bool) { s.mu.Lock(); s.readOnly = on; s.mu.Unlock() }

func (s *fakeStore) SetMinFreeBytes(n uint64) { s.mu.Lock(); s.minFree = n; s.mu.Unlock() }

// visible reports how many messages are in any mailbox or prepared.
func (s *fakeStore) visible() (boxed, prepared int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.boxes {
		boxed += len(m)
	}
	return boxed, len(s.prepared)
}
