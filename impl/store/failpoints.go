package store

import (
	"github.com/pingcap/failpoint"

	"powermail/impl/fault"
)

// The failpoints of Commit's phases (chaos tests kill the process at each;
// see package fault). They live here, not in commit.go, because
// failpoint-toolexec (v0.0.0-20240528011301) mis-handles a declaration-less
// file such as doc.go that sorts after a rewritten one. In release builds
// each is an empty call.

// failBeforeLink: P4, the message is durable in tmp/ and in no mailbox.
func failBeforeLink() {
	failpoint.Inject("beforeLink", func(val failpoint.Value) { fault.Crash(val) })
}

// failBetweenLinks: P4, after a link of a message to several mailboxes
// when more links are to come.
func failBetweenLinks(more bool) {
	failpoint.Inject("betweenLinks", func(val failpoint.Value) {
		if more {
			fault.Crash(val)
		}
	})
}

// failBeforeDirSync: P5, linked, but the directories are not yet fsynced.
func failBeforeDirSync() {
	failpoint.Inject("beforeDirSync", func(val failpoint.Value) { fault.Crash(val) })
}
