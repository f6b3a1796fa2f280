package event

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQueueSortsLikeSort pushes random times (with many ties) and checks that
// Pop returns them in (time, push order), the same order a stable sort gives.
func TestQueueSortsLikeSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		var q Queue
		type item struct {
			at  float64
			arg int64
		}
		var want []item
		n := 1 + rng.IntN(500)
		for i := range n {
			at := float64(rng.IntN(20)) // few distinct times: ties are common
			q.Push(at, uint8(i%3), int64(i))
			want = append(want, item{at, int64(i)})
		}
		slices.SortStableFunc(want, func(a, b item) int {
			switch {
			case a.at < b.at:
				return -1
			case a.at > b.at:
				return 1
			}
			return 0
		})
		for i, w := range want {
			e, ok := q.Pop()
			if !ok || e.At != w.at || e.Arg != w.arg {
				t.Fatalf("round %d pop %d: got %+v (ok %v), want %+v", round, i, e, ok, w)
			}
		}
		if _, ok := q.Pop(); ok || q.Len() != 0 {
			t.Fatalf("round %d: queue not empty after all pops", round)
		}
	}
}

// TestQueueInterleaved mixes pushes and pops, as the engine does, and checks
// that time never goes backwards when events are only scheduled in the future.
func TestQueueInterleaved(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var q Queue
	q.Push(0, 0, 0)
	now, popped := 0.0, 0
	for q.Len() > 0 && popped < 100000 {
		e, _ := q.Pop()
		if e.At < now {
			t.Fatalf("time went back: %v after %v", e.At, now)
		}
		now = e.At
		popped++
		pushes := 1 + rng.IntN(2) // grow to about 1000 pending, then hold
		if q.Len() > 1000 {
			pushes = rng.IntN(2)
		}
		for range pushes {
			q.Push(now+rng.ExpFloat64(), 1, int64(popped))
		}
		if p, ok := q.Peek(); ok && p.At < now {
			t.Fatalf("peek %v before now %v", p.At, now)
		}
	}
	if popped < 1000 {
		t.Fatalf("only %d events processed", popped)
	}
}
