// Package policy adapts the placement policies of powermail/impl/placement
// to the simulator's numbered backends; it holds no policy of its own.
//
// PowerMail calls placement.Chooser for every message, so the simulated
// cluster places mail exactly as powersmtp does. Rendezvous calls the same
// package's rendezvous ranking (Ring.Place, placement.Holders): each
// mailbox has its own small set of backends, and the rankings in force
// when older mail arrived are remembered, so adding backends moves no
// files and a POP3 login still finds everything.
package policy

import (
	"fmt"
	"strconv"

	"powermail/impl/placement"
)

// View is the cluster as the SMTP front ends see it. Backends are numbered
// from 0 in the order they joined; they are never removed (a retired backend
// stays, read-only), so a number names the same backend for the whole run.
type View struct {
	Backends []placement.Candidate // Backends[i].ID is strconv.Itoa(i)
	groups   []int
	epochN   []int // epochN[e]: number of backends during epoch e
}

// Add appends a backend in failure domain group and starts a new epoch.
// Backends added at the same instant should be added with AddBatch.
func (v *View) Add(group int, freeBytes int64) { v.AddBatch([]int{group}, freeBytes) }

// AddBatch appends one backend per entry of groups, as one epoch.
func (v *View) AddBatch(groups []int, freeBytes int64) {
	for _, g := range groups {
		i := len(v.Backends)
		v.Backends = append(v.Backends, placement.Candidate{
			ID: strconv.Itoa(i), Group: "g" + strconv.Itoa(g), Up: true, FreeBytes: freeBytes,
		})
		v.groups = append(v.groups, g)
	}
	v.epochN = append(v.epochN, len(v.Backends))
}

// N is the number of backends.
func (v *View) N() int { return len(v.Backends) }

// Epoch is the current epoch; it grows by one with every AddBatch.
func (v *View) Epoch() int { return len(v.epochN) - 1 }

// Group is backend i's failure domain.
func (v *View) Group(i int) int { return v.groups[i] }

// SetUp records a backend going down or coming back.
func (v *View) SetUp(i int, up bool) { v.Backends[i].Up = up }

// SetFree records the free space a status poll reported.
func (v *View) SetFree(i int, freeBytes int64, belowFloor bool) {
	v.Backends[i].FreeBytes = freeBytes
	v.Backends[i].BelowFreeFloor = belowFloor
}

// Eligible reports whether backend i may receive new mail.
func (v *View) Eligible(i int) bool { return v.Backends[i].Eligible() }

// index maps a placement.Candidate back to its number.
func index(b placement.Candidate) int {
	i, err := strconv.Atoi(b.ID)
	if err != nil {
		panic(fmt.Sprintf("policy: backend id %q is not a number", b.ID))
	}
	return i
}
