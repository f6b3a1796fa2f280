// Package event is the simulator's clock: a priority queue of timed events.
//
// It is a plain binary min-heap on (time, sequence number). The sequence
// number makes the order of events at the same instant the order in which
// they were scheduled, so a run depends only on its seed and never on heap
// internals: that is what makes the simulator deterministic.
package event

// Event is one scheduled happening. Kind and Arg are opaque to the queue; the
// engine uses Kind to dispatch and Arg to find the object concerned.
type Event struct {
	At   float64 // simulated seconds since the start of the run
	Kind uint8
	Arg  int64
	seq  uint64
}

// Queue is a min-heap of events. The zero value is an empty queue.
type Queue struct {
	heap []Event
	next uint64 // sequence number of the next Push
}

// Len is the number of pending events.
func (q *Queue) Len() int { return len(q.heap) }

// Push schedules e. Events at equal times come out in Push order.
func (q *Queue) Push(at float64, kind uint8, arg int64) {
	q.heap = append(q.heap, Event{At: at, Kind: kind, Arg: arg, seq: q.next})
	q.next++
	q.up(len(q.heap) - 1)
}

// Pop removes and returns the earliest event; ok is false when empty.
func (q *Queue) Pop() (e Event, ok bool) {
	n := len(q.heap)
	if n == 0 {
		return Event{}, false
	}
	e = q.heap[0]
	q.heap[0] = q.heap[n-1]
	q.heap = q.heap[:n-1]
	q.down(0)
	return e, true
}

// Peek returns the earliest event without removing it.
func (q *Queue) Peek() (Event, bool) {
	if len(q.heap) == 0 {
		return Event{}, false
	}
	return q.heap[0], true
}

func (q *Queue) less(i, j int) bool {
	a, b := &q.heap[i], &q.heap[j]
	if a.At != b.At {
		return a.At < b.At
	}
	return a.seq < b.seq
}

func (q *Queue) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			return
		}
		q.heap[i], q.heap[parent] = q.heap[parent], q.heap[i]
		i = parent
	}
}

func (q *Queue) down(i int) {
	n := len(q.heap)
	for {
		least := i
		if l := 2*i + 1; l < n && q.less(l, least) {
			least = l
		}
		if r := 2*i + 2; r < n && q.less(r, least) {
			least = r
		}
		if least == i {
			return
		}
		q.heap[i], q.heap[least] = q.heap[least], q.heap[i]
		i = least
	}
}
