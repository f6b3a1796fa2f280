package policy

import (
	"math/rand/v2"

	"powermail/impl/placement"
)

// MaxR is the largest replica count the simulator's compact message records
// hold.
const MaxR = 4

// File is one stored copy set of a message: the backends that hold it and the
// recipients linked to it (a file with several links is one inode per backend,
// as in PowerMail).
type File struct {
	Backends []int
	Rcpts    []uint32
	Depth    uint8 // how deep into its ranking the policy had to go (Rendezvous)
}

// Memory is what a policy may remember about a mailbox that holds mail: the
// epoch of its oldest message and the deepest rank used since.
type Memory struct {
	OldestEpoch uint16
	Depth       uint8
}

// Policy places messages and answers where a mailbox's mail may be.
type Policy interface {
	Name() string
	// Place chooses the files for a message to rcpts.
	Place(v *View, rcpts []uint32) ([]File, error)
	// Holders appends to dst the backends a POP3 login for mailbox m must
	// list (mem is nil when the mailbox holds no mail). all reports that the
	// answer is "every backend"; dst is then left unchanged.
	Holders(v *View, m uint32, mem *Memory, dst []int) (holders []int, all bool)
}

// PowerMail is the policy of powersmtp: placement.Choose once per message,
// one file for all recipients; a login must ask every backend because any of
// them may hold any mailbox's mail.
type PowerMail struct {
	Req placement.Request
	Rng *rand.Rand

	ch placement.Chooser // keeps its buffers: no allocation per message
}

// Name implements Policy.
func (p *PowerMail) Name() string { return "powermail" }

// Place implements Policy by calling the real placement code.
func (p *PowerMail) Place(v *View, rcpts []uint32) ([]File, error) {
	c, err := p.ch.Choose(v.Backends, p.Req, p.Rng)
	if err != nil {
		return nil, err
	}
	f := File{Backends: make([]int, len(c.Primary)), Rcpts: rcpts}
	for i, b := range c.Primary {
		f.Backends[i] = index(b)
	}
	return []File{f}, nil
}

// Holders implements Policy: every backend.
func (p *PowerMail) Holders(v *View, m uint32, mem *Memory, dst []int) ([]int, bool) {
	return dst, true
}
