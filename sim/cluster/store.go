package cluster

import "powermail/sim/policy"

// fileRec is one stored message file: the backends holding a copy, its size
// and the number of mailbox links to it. Records are recycled through a free
// list; gen tells a recycled record from the one a repair job remembers.
type fileRec struct {
	bk    [policy.MaxR]int16 // -1: no copy in this slot
	kib   float32
	refs  uint16
	acked bool
	gen   uint32
}

// link is one entry of a mailbox's list of waiting messages.
type link struct {
	file int32
	next int32 // -1 ends the list
}

// mbox is a mailbox that holds mail.
type mbox struct {
	head  int32
	count uint16
	mem   policy.Memory
}

// slabs owns the compact records and their free lists.
type slabs struct {
	files     []fileRec
	freeFiles []int32
	links     []link
	freeLinks []int32
	mboxes    map[uint32]*mbox
	liveFiles int64
}

func (s *slabs) newFile(f fileRec) int32 {
	s.liveFiles++
	if n := len(s.freeFiles); n > 0 {
		i := s.freeFiles[n-1]
		s.freeFiles = s.freeFiles[:n-1]
		f.gen = s.files[i].gen + 1
		s.files[i] = f
		return i
	}
	s.files = append(s.files, f)
	return int32(len(s.files) - 1)
}

func (s *slabs) freeFile(i int32) {
	s.liveFiles--
	s.files[i].refs = 0
	s.freeFiles = append(s.freeFiles, i)
}

func (s *slabs) newLink(file, next int32) int32 {
	if n := len(s.freeLinks); n > 0 {
		i := s.freeLinks[n-1]
		s.freeLinks = s.freeLinks[:n-1]
		s.links[i] = link{file, next}
		return i
	}
	s.links = append(s.links, link{file, next})
	return int32(len(s.links) - 1)
}

func (s *slabs) freeLink(i int32) { s.freeLinks = append(s.freeLinks, i) }

// copies counts the backends still holding file f.
func (f *fileRec) copies() int {
	n := 0
	for _, b := range f.bk {
		if b >= 0 {
			n++
		}
	}
	return n
}
