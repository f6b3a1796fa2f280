package chaos

import (
	"io/fs"
	"path/filepath"
)

// msgIDLen is the length of a PowerMail message id (impl/msgid), the name
// of a message file in a backend's mailbox directory.
const msgIDLen = 44

// replicaCounts walks the backends' data roots and counts, per message id,
// how many backends hold a file of that id in some mailbox. The layout
// (root/mbox/xx/yy/<hash>/<id>) is read like an operator would, with no
// store code: a copy that the store cannot see would still count.
func replicaCounts(roots []string) map[string]int {
	out := map[string]int{}
	for _, root := range roots {
		seen := map[string]bool{}
		filepath.WalkDir(filepath.Join(root, "mbox"), func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && len(d.Name()) == msgIDLen && !seen[d.Name()] {
				seen[d.Name()] = true
				out[d.Name()]++
			}
			return nil
		})
	}
	return out
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
