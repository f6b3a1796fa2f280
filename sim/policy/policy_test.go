package policy

import (
	"math"
	"math/rand/v2"
	"testing"

	"powermail/impl/placement"
)

func cluster(n, groups int) *View {
	v := &View{}
	gs := make([]int, n)
	for i := range gs {
		gs[i] = i % groups
	}
	v.AddBatch(gs, 1<<40)
	return v
}

func TestPowerMailUsesDistinctGroups(t *testing.T) {
	v := cluster(6, 3)
	p := &PowerMail{Req: placement.Request{Target: 3, Min: 2}, Rng: rand.New(rand.NewPCG(1, 1))}
	for range 1000 {
		files, err := p.Place(v, []uint32{1, 2})
		if err != nil || len(files) != 1 || len(files[0].Backends) != 3 {
			t.Fatalf("files %+v err %v", files, err)
		}
		seen := map[int]bool{}
		for _, b := range files[0].Backends {
			seen[v.Group(b)] = true
		}
		if len(seen) != 3 {
			t.Fatalf("replicas %v not in 3 groups", files[0].Backends)
		}
	}
	if _, all := p.Holders(v, 1, nil, nil); !all {
		t.Error("a PowerMail login must ask every backend")
	}
}

func TestRendezvousBalancedAndGroupAware(t *testing.T) {
	v := cluster(20, 4)
	p := &Rendezvous{R: 2, W: 2}
	count := make([]int, v.N())
	const mailboxes = 40000
	for m := range uint32(mailboxes) {
		files, err := p.Place(v, []uint32{m})
		if err != nil {
			t.Fatal(err)
		}
		b := files[0].Backends
		if len(b) != 2 || v.Group(b[0]) == v.Group(b[1]) {
			t.Fatalf("mailbox %d: %v", m, b)
		}
		for _, x := range b {
			count[x]++
		}
	}
	mean := 2.0 * mailboxes / float64(v.N())
	for i, c := range count {
		if math.Abs(float64(c)-mean)/mean > 0.08 {
			t.Errorf("backend %d holds %d mailboxes, mean %.0f", i, c, mean)
		}
	}
}

// TestRendezvousAddMovesFewAndRemembers: adding 10% more backends changes the
// placement of about R*10/110 of the mailboxes (rendezvous hashing's minimal
// disruption), and a login still asks the backends holding older mail.
func TestRendezvousAddMovesFewAndRemembers(t *testing.T) {
	v := cluster(100, 100)
	p := &Rendezvous{R: 2, W: 2}
	const mailboxes = 20000
	before := make([][]int, mailboxes)
	for m := range uint32(mailboxes) {
		files, _ := p.Place(v, []uint32{m})
		before[m] = files[0].Backends
	}
	v.AddBatch(seq(100, 110), 1<<40)
	changed := 0
	for m := range uint32(mailboxes) {
		files, _ := p.Place(v, []uint32{m})
		if !sameSet(files[0].Backends, before[m]) {
			changed++
		}
		h, all := p.Holders(v, m, &Memory{OldestEpoch: 0, Depth: 2}, nil)
		if all || !covers(h, before[m]) || !covers(h, files[0].Backends) {
			t.Fatalf("mailbox %d: holders %v miss old %v or new %v", m, h, before[m], files[0].Backends)
		}
	}
	frac, want := float64(changed)/mailboxes, 1-math.Pow(100.0/110, 2)
	if math.Abs(frac-want) > 0.015 {
		t.Errorf("%.3f of mailboxes moved, want about %.3f", frac, want)
	}
}

// TestRendezvousSkipsDownBackends: a down first choice pushes the copy to the
// next backend of the ranking, and the recorded depth makes Holders find it.
func TestRendezvousSkipsDownBackends(t *testing.T) {
	v := cluster(10, 10)
	p := &Rendezvous{R: 2, W: 1}
	files, _ := p.Place(v, []uint32{7})
	first := files[0].Backends[0]
	v.SetUp(first, false)
	files, err := p.Place(v, []uint32{7})
	if err != nil || contains(files[0].Backends, first) || files[0].Depth != 3 {
		t.Fatalf("placement with %d down: %+v, %v", first, files, err)
	}
	h, _ := p.Holders(v, 7, &Memory{Depth: files[0].Depth}, nil)
	if !covers(h, files[0].Backends) || !contains(h, first) {
		t.Errorf("holders %v", h)
	}
}

func TestRendezvousSharesFilesBetweenRecipients(t *testing.T) {
	v := cluster(3, 3)
	p := &Rendezvous{R: 3, W: 2}
	files, _ := p.Place(v, []uint32{1, 2, 3, 4})
	if len(files) != 1 || len(files[0].Rcpts) != 4 {
		t.Errorf("R = N: one file expected, got %+v", files)
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func covers(h, set []int) bool {
	for _, b := range set {
		if !contains(h, b) {
			return false
		}
	}
	return true
}
