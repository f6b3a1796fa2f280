package durability

import (
	"fmt"

	"math/rand/v2"
	"strconv"

	"powermail/impl/placement"
	"powermail/sim/event"
)

// maxSimBackends bounds the simulated layouts: copy sets are bit masks.
const maxSimBackends = 24

// SnapshotSim places messages with the real placement.Choose (target r,
// spread by free space, all backends equal) on a cluster whose backend i is
// in group groups[i], then fails a uniformly random set of `failed` backends
// `trials` times and returns the mean fraction of messages lost.
func SnapshotSim(groups []int, r, failed, messages, trials int, seed uint64) (float64, error) {
	bs := make([]placement.Candidate, len(groups))
	for i, g := range groups {
		bs[i] = placement.Candidate{ID: strconv.Itoa(i), Group: strconv.Itoa(g), Up: true, FreeBytes: 1 << 40}
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	masks := make([]uint64, messages)
	for m := range masks {
		c, err := placement.Choose(bs, placement.Request{Target: r, Min: r, Spread: placement.SpreadFree}, rng)
		if err != nil {
			return 0, err
		}
		for _, b := range c.Primary {
			i, _ := strconv.Atoi(b.ID)
			masks[m] |= 1 << i
		}
	}
	perm := make([]int, len(groups))
	lost := 0
	for range trials {
		for i := range perm {
			perm[i] = i
		}
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var down uint64
		for _, b := range perm[:failed] {
			down |= 1 << b
		}
		for _, m := range masks {
			if m&down == m {
				lost++
			}
		}
	}
	return float64(lost) / float64(messages*trials), nil
}

// Event kinds of the yearly simulation.
const (
	evDisk   uint8 = iota // some backend's disk fails
	evGroup               // some group fails as a whole
	evRepair              // backend Arg is repaired
)

// YearsSim simulates `years` years of disk and group failures with repair
// and returns the expected fraction of messages lost per year, for messages
// spread uniformly over the copy sets placement uses. At each failure the
// copy sets containing the failed backend whose other members are all still
// in repair are lost: their share of all copy sets is added.
func YearsSim(groups []int, p Params, years float64, seed uint64) (float64, error) {
	n := len(groups)
	if n > maxSimBackends {
		return 0, fmt.Errorf("durability: at most %d backends, got %d", maxSimBackends, n)
	}
	sets := copySets(groups, p.R)
	members := groupMembers(groups)
	rng := rand.New(rand.NewPCG(seed, 4))
	repairYears := p.RepairHours / hoursPerYear
	var q event.Queue
	pushNext(&q, rng, 0, evDisk, p.AFR*float64(n))
	pushNext(&q, rng, 0, evGroup, p.GroupAFR*float64(len(members)))
	var down uint64
	lostShare := 0.0
	for {
		e, ok := q.Pop()
		if !ok || e.At > years {
			break
		}
		var hit []int
		switch e.Kind {
		case evRepair:
			down &^= 1 << e.Arg
			continue
		case evDisk:
			pushNext(&q, rng, e.At, evDisk, p.AFR*float64(n))
			hit = []int{rng.IntN(n)}
		case evGroup:
			pushNext(&q, rng, e.At, evGroup, p.GroupAFR*float64(len(members)))
			hit = members[rng.IntN(len(members))]
		}
		down, lostShare = fail(&q, sets, down, hit, e.At+repairYears, lostShare)
	}
	return lostShare / years, nil
}

// fail marks hit as failed (until repairAt) and adds the share of copy sets
// that become entirely failed.
func fail(q *event.Queue, sets []uint64, down uint64, hit []int, repairAt, lost float64) (uint64, float64) {
	var newly uint64
	for _, b := range hit {
		if down&(1<<b) == 0 {
			newly |= 1 << b
			q.Push(repairAt, evRepair, int64(b))
		}
	}
	after := down | newly
	n := 0
	for _, s := range sets {
		if s&newly != 0 && s&after == s {
			n++
		}
	}
	return after, lost + float64(n)/float64(len(sets))
}

func pushNext(q *event.Queue, rng *rand.Rand, now float64, kind uint8, perYear float64) {
	if perYear > 0 {
		q.Push(now+rng.ExpFloat64()/perYear, kind, 0)
	}
}

func groupMembers(groups []int) [][]int {
	idx := map[int]int{}
	var out [][]int
	for b, g := range groups {
		i, ok := idx[g]
		if !ok {
			i = len(out)
			idx[g] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], b)
	}
	return out
}

// Layout returns n backends spread round-robin over g groups.
func Layout(n, g int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i % g
	}
	return out
}
