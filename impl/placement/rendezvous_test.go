package placement

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// members is n backends named b0.. in groups g0..g(groups-1), round robin.
func members(n, groups int) []Candidate {
	out := make([]Candidate, n)
	for i := range out {
		out[i] = Candidate{ID: fmt.Sprintf("b%d", i), Group: fmt.Sprintf("g%d", i%groups), Up: true}
	}
	return out
}

func rank(r *Ring, box string, k int) []int {
	var sc Scratch
	return r.Rank(MailboxKey(box), k, nil, &sc)
}

func box(i int) string { return fmt.Sprintf("user%d@example.com", i) }

// TestRankBalancedAndGroupAware: the home sets spread evenly over the
// backends, and the two homes of a mailbox are in distinct groups.
func TestRankBalancedAndGroupAware(t *testing.T) {
	ms := members(20, 4)
	r := NewRing(ms)
	count := make([]int, len(ms))
	const boxes = 40000
	for i := range boxes {
		h := rank(r, box(i), 2)
		if len(h) != 2 || ms[h[0]].Group == ms[h[1]].Group {
			t.Fatalf("%s: home %v", box(i), h)
		}
		count[h[0]]++
		count[h[1]]++
	}
	mean := 2.0 * boxes / float64(len(ms))
	for i, c := range count {
		if math.Abs(float64(c)-mean)/mean > 0.08 {
			t.Errorf("backend %d is home of %d mailboxes, mean %.0f", i, c, mean)
		}
	}
}

// TestRankFewerGroupsThanK: with one group the ranking still names k
// distinct backends, best first.
func TestRankFewerGroupsThanK(t *testing.T) {
	r := NewRing(members(5, 1))
	for i := range 200 {
		h := rank(r, box(i), 5)
		s := slices.Clone(h)
		slices.Sort(s)
		if !slices.Equal(s, []int{0, 1, 2, 3, 4}) {
			t.Fatalf("%s: ranking %v is not a permutation", box(i), h)
		}
	}
}

// TestAddingBackendsMovesFew: adding 10% more backends moves the home of
// about 1-(100/110)^2 of the mailboxes (rendezvous hashing's minimal
// disruption), and every old home backend of a moved mailbox is still in
// its new ranking's first ranks or in the history's Ask.
func TestAddingBackendsMovesFew(t *testing.T) {
	before, after := members(100, 100), members(110, 110)
	r0, r1 := NewRing(before), NewRing(after)
	const boxes = 20000
	moved := 0
	for i := range boxes {
		h0, h1 := rank(r0, box(i), 2), rank(r1, box(i), 2)
		slices.Sort(h0)
		slices.Sort(h1)
		if !slices.Equal(h0, h1) {
			moved++
		}
	}
	frac, want := float64(moved)/boxes, 1-math.Pow(100.0/110, 2)
	if math.Abs(frac-want) > 0.015 {
		t.Errorf("%.3f of the mailboxes moved, want about %.3f", frac, want)
	}
}

// TestRemovingABackendMovesOnlyItsMailboxes: a mailbox whose home did not
// include the removed backend keeps its home.
func TestRemovingABackendMovesOnlyItsMailboxes(t *testing.T) {
	all := members(12, 4)
	without := slices.Delete(slices.Clone(all), 5, 6)
	r0, r1 := NewRing(all), NewRing(without)
	for i := range 5000 {
		h0 := idsOf(all, rank(r0, box(i), 2))
		h1 := idsOf(without, rank(r1, box(i), 2))
		if !slices.Contains(h0, "b5") && !slices.Equal(h0, h1) {
			t.Fatalf("%s: home %v became %v though b5 was not in it", box(i), h0, h1)
		}
	}
}

func TestCandidatesAndTheHomeRule(t *testing.T) {
	ms := members(8, 8)
	r := NewRing(ms)
	var sc Scratch
	m := MailboxKey("ann@example.com")
	ranking := r.Rank(m, Depth(2), nil, &sc)
	down := map[int]bool{}
	eligible := func(i int) bool { return !down[i] }

	c, home := r.Candidates(m, 2, eligible, nil, &sc)
	if !slices.Equal(c, ranking) || home != 2 {
		t.Fatalf("all up: candidates %v home %d, want %v and 2", c, home, ranking)
	}
	down[ranking[0]] = true
	c, home = r.Candidates(m, 2, eligible, nil, &sc)
	if !slices.Equal(c, ranking[1:]) || home != 1 || CheckCandidates(len(c), home, 2) != nil {
		t.Fatalf("first home down: candidates %v home %d", c, home)
	}
	set, depth, err := r.Place(m, 2, 2, eligible, nil, &sc)
	if err != nil || !slices.Equal(set, ranking[1:3]) || depth != 3 {
		t.Fatalf("first home down: place %v depth %d err %v", set, depth, err)
	}
	down[ranking[1]] = true
	c, home = r.Candidates(m, 2, eligible, nil, &sc)
	if err := CheckCandidates(len(c), home, 1); !errors.Is(err, ErrNoHome) {
		t.Fatalf("both homes down: %v (candidates %v)", err, c)
	}
	if _, _, err := r.Place(m, 2, 1, eligible, nil, &sc); !errors.Is(err, ErrNoHome) {
		t.Fatalf("both homes down, Place: %v", err)
	}
	down = map[int]bool{ranking[1]: true, ranking[2]: true, ranking[3]: true}
	if _, _, err := r.Place(m, 2, 2, eligible, nil, &sc); !errors.Is(err, ErrTooFew) {
		t.Fatalf("3 of the first 4 down: %v, want ErrTooFew (a copy never goes below Depth)", err)
	}
}

func TestHoldersIsTheUnionOverRings(t *testing.T) {
	all := NewRing(members(30, 30))
	old := all.Prefix(20)
	var sc Scratch
	for i := range 500 {
		m := MailboxKey(box(i))
		h := Holders([]*Ring{old, all}, m, 2, nil, &sc)
		for _, want := range [][]int{old.Rank(m, 2, nil, &sc), all.Rank(m, 2, nil, &sc)} {
			for _, b := range want {
				if !slices.Contains(h, b) {
					t.Fatalf("%s: holders %v miss %d", box(i), h, b)
				}
			}
		}
		if len(h) > 4 {
			t.Fatalf("%s: holders %v", box(i), h)
		}
	}
}

func history(anchored bool, epochs ...[]Candidate) History {
	h := History{Anchored: anchored}
	for i, ms := range epochs {
		h.Epochs = append(h.Epochs, Epoch{Number: i + 1, Started: time.Unix(int64(i), 0), Members: ms})
	}
	return h
}

// TestLocateAsksTheHomesOfEveryEpoch: Ask is the union of the homes, Extra
// the deeper ranks not in Ask, Home and Order the current ranking's.
func TestLocateAsksTheHomesOfEveryEpoch(t *testing.T) {
	six, nine := members(6, 6), members(9, 9)
	hs := NewHomes(history(true, six, nine), 2)
	moved := 0
	for i := range 300 {
		b := box(i)
		loc := hs.Locate(b)
		old := idsOf(six, rank(NewRing(six), b, 4))
		cur := idsOf(nine, rank(NewRing(nine), b, 4))
		if loc.All || !slices.Equal(loc.Home, cur[:2]) || !slices.Equal(loc.Order, cur) {
			t.Fatalf("%s: %+v, current ranking %v", b, loc, cur)
		}
		if !slices.Equal(loc.Ask[:2], cur[:2]) || !coversAll(loc.Ask, old[:2]) || len(loc.Ask) > 4 {
			t.Fatalf("%s: ask %v, homes %v and %v", b, loc.Ask, old[:2], cur[:2])
		}
		if len(loc.Ask) > 2 {
			moved++
		}
		for _, id := range append(old[2:], cur[2:]...) {
			if !slices.Contains(loc.Ask, id) && !slices.Contains(loc.Extra, id) {
				t.Fatalf("%s: %s neither asked nor extra: %+v", b, id, loc)
			}
		}
		for _, id := range loc.Extra {
			if slices.Contains(loc.Ask, id) {
				t.Fatalf("%s: %s both asked and extra", b, id)
			}
		}
	}
	if moved == 0 || moved > 200 {
		t.Errorf("%d of 300 mailboxes ask more than 2 backends", moved)
	}
	if !NewHomes(history(false, six), 2).Locate("x@example.com").All {
		t.Error("an unanchored history must make a login list every backend")
	}
}

func coversAll(s, want []string) bool {
	for _, w := range want {
		if !slices.Contains(s, w) {
			return false
		}
	}
	return true
}

func TestHomesCandidates(t *testing.T) {
	six := members(6, 6)
	hs := NewHomes(history(true, six), 2)
	cur := idsOf(six, rank(NewRing(six), "ann@example.com", 4))
	ids, home := hs.Candidates("ann@example.com", func(id string) bool { return id != cur[0] })
	if !slices.Equal(ids, cur[1:]) || home != 1 {
		t.Errorf("candidates %v home %d, ranking %v", ids, home, cur)
	}
}

func BenchmarkRank1000(b *testing.B) {
	r := NewRing(members(1000, 100))
	var sc Scratch
	dst := make([]int, 0, 4)
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		i++
		dst = r.Rank(Mix(i), 4, dst[:0], &sc)
	}
}
