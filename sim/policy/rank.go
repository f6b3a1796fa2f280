package policy

// score is the rendezvous weight of backend b for mailbox m: a fixed,
// well-mixed hash (SplitMix64 finaliser), the same on every front end. It is
// a bijection of (m, b), so two backends never tie.
func score(m uint32, b int) uint64 {
	x := uint64(m)<<32 | uint64(uint32(b))
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// ranker computes prefixes of a mailbox's ranking with reusable buffers.
type ranker struct {
	head    []int // per failure domain: best backend so far, -1 if none
	touched []int // domains set in head, to reset them
	heads   []int
}

// rank appends to dst the first k backends (of backends 0..n-1) of mailbox
// m's ranking: first the best-scoring backend of each failure domain, best
// domains first (so the first R copies sit in distinct domains, as with
// placement.Choose), then the remaining backends by score. Cost O(n + k*G).
func (r *ranker) rank(v *View, n int, m uint32, k int, dst []int) []int {
	k = min(k, n)
	r.collectHeads(v, n, m)
	start := len(dst)
	dst = appendTop(dst, r.heads, m, k)
	for len(dst)-start < k { // fewer domains than k: best of the rest
		best := -1
		for b := range n {
			if !contains(dst[start:], b) && (best < 0 || score(m, b) > score(m, best)) {
				best = b
			}
		}
		dst = append(dst, best)
	}
	return dst
}

// collectHeads fills r.heads with the best backend of each failure domain.
func (r *ranker) collectHeads(v *View, n int, m uint32) {
	for _, g := range r.touched {
		r.head[g] = -1
	}
	r.touched, r.heads = r.touched[:0], r.heads[:0]
	for b := range n {
		g := v.groups[b]
		for g >= len(r.head) {
			r.head = append(r.head, -1)
		}
		switch {
		case r.head[g] < 0:
			r.head[g] = b
			r.touched = append(r.touched, g)
		case score(m, b) > score(m, r.head[g]):
			r.head[g] = b
		}
	}
	for _, g := range r.touched {
		r.heads = append(r.heads, r.head[g])
	}
}

// appendTop appends the k best-scoring of cands (k small: repeated scans).
func appendTop(dst, cands []int, m uint32, k int) []int {
	start := len(dst)
	for len(dst)-start < k {
		best := -1
		for _, b := range cands {
			if !contains(dst[start:], b) && (best < 0 || score(m, b) > score(m, best)) {
				best = b
			}
		}
		if best < 0 {
			return dst
		}
		dst = append(dst, best)
	}
	return dst
}
