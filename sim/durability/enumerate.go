package durability

import "math/bits"

// EnumerateSnapshotLoss computes SnapshotLoss by brute force: every failed
// set of the given size, every one-copy-per-group copy set, equally likely.
// groups[i] is backend i's group. It is the test oracle for the closed form
// (and for small layouts where R exceeds the number of groups, where
// placement puts two copies in one group).
func EnumerateSnapshotLoss(groups []int, r, failed int) float64 {
	n := len(groups)
	sets := copySets(groups, r)
	lost, total := 0.0, 0.0
	for mask := uint64(0); mask < 1<<n; mask++ {
		if bits.OnesCount64(mask) != failed {
			continue
		}
		for _, s := range sets {
			total++
			if s&mask == s {
				lost++
			}
		}
	}
	return lost / total
}

// copySets lists the backend sets placement may choose: R distinct
// backends, in as many distinct groups as possible.
func copySets(groups []int, r int) []uint64 {
	distinct := map[int]bool{}
	for _, g := range groups {
		distinct[g] = true
	}
	want := min(r, len(distinct))
	var out []uint64
	for mask := uint64(0); mask < 1<<len(groups); mask++ {
		if bits.OnesCount64(mask) != r {
			continue
		}
		seen := map[int]bool{}
		for i, g := range groups {
			if mask&(1<<i) != 0 {
				seen[g] = true
			}
		}
		if len(seen) == want {
			out = append(out, mask)
		}
	}
	return out
}
