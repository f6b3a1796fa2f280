package chaos

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path/filepath"
	"strings"
)

// msgIDLen is the length of a PowerMail message id (impl/msgid), the name
// of a message file in a backend's mailbox directory.
const msgIDLen = 44

// replicaCounts walks the backends' data roots and counts, per message id,
// how many backends hold a file of that id in some mailbox.
func replicaCounts(roots []string) map[string]int {
	return countFiles(roots, func(_, name string) string {
		if len(name) == msgIDLen {
			return name
		}
		return ""
	})
}

// tombstoneCounts counts, per "<mailbox hash>/<id>", how many backends
// hold a tombstone of that id in that mailbox.
func tombstoneCounts(roots []string) map[string]int {
	return countFiles(roots, func(dir, name string) string {
		if id, ok := strings.CutSuffix(name, ".tomb"); ok && len(id) == msgIDLen {
			return filepath.Base(dir) + "/" + id
		}
		return ""
	})
}

// countFiles counts, per key, how many backends hold a file that key
// names (key gives "" for files that do not count). The layout
// (root/mbox/xx/yy/<hash>/<id>, <id>.tomb) is read like an operator
// would, with no store code: a file that the store cannot see still counts.
func countFiles(roots []string, key func(dir, name string) string) map[string]int {
	out := map[string]int{}
	for _, root := range roots {
		seen := map[string]bool{}
		filepath.WalkDir(filepath.Join(root, "mbox"), func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if k := key(filepath.Dir(path), d.Name()); k != "" && !seen[k] {
				seen[k] = true
				out[k]++
			}
			return nil
		})
	}
	return out
}

// tombstonesBelow counts acknowledged deletes whose mailbox holds fewer
// tombstones of the id, over all backends, than need(d): the R that the
// delete's +OK promised, less the disks lost since.
func tombstonesBelow(deletes []DeleteRecord, tombs map[string]int, need func(DeleteRecord) int) int {
	n := 0
	counted := map[string]bool{}
	for _, d := range deletes {
		sum := sha256.Sum256([]byte(d.Box))
		k := hex.EncodeToString(sum[:]) + "/" + d.UID
		if d.Acked && d.UID != "" && !counted[k] && tombs[k] < need(d) {
			counted[k] = true
			n++
		}
	}
	return n
}

// underReplicated counts acknowledged messages found by the final read
// that have fewer than r copies on disk: what repair would have to restore.
func underReplicated(sends []SendRecord, copies []Copy, replicas map[string]int, r int) int {
	acked := map[string]bool{}
	for _, s := range sends {
		if s.Outcome == OK {
			acked[s.ID] = true
		}
	}
	n := 0
	counted := map[string]bool{}
	for _, c := range copies {
		if acked[c.ChaosID] && !counted[c.UID] && replicas[c.UID] < r {
			counted[c.UID] = true
			n++
		}
	}
	return n
}
