// Package repair restores the redundancy of a PowerMail cluster: it is the
// logic behind `ppadmin repair`, and chaos calls it to check that
// redundancy comes back after a fault.
//
// Run walks every mailbox that any reachable backend has (the union of
// MAILBOXES), lists it on every backend (LIST), and for each message id
// decides, in this order:
//
//  1. Deleted: some backend holds a tombstone for the id in this mailbox.
//     Every copy is removed (DELETE on the holder, which also leaves a
//     tombstone there) and the message is never re-replicated: the user
//     deleted it, and a copy made now would bring it back.
//  2. Orphan: every copy sits on a backend that powersmtp's orphan log names
//     for this id: a delivery that was refused (4xx) and whose ABORT could
//     not be delivered. The copies are removed (ABORT on each). If some copy
//     is on a backend the log does not name, the delivery succeeded (the
//     log entry is a replica that failed after the quorum) and the orphan
//     copy is a valid replica: it is kept and counts.
//  3. Below the redundancy target R: the message is copied to backends that
//     lack it, chosen by powermail/impl/placement among the writable ones
//     (groups that hold no copy yet first), until it has R copies. A copy is
//     GET from a holder and streamed into PREPARE ... END and COMMIT on the
//     target, under the same id, so front ends see one message (the
//     maildrop merges replicas by id). Copies on a backend being drained do
//     not count. Under rendezvous placement (Options.Homes) the targets are
//     the mailbox's home backends, then the next ranks of its ranking, the
//     backends a login lists (rehome.go).
//  4. Away from home (rendezvous placement, Options.Rebalance): every home
//     backend that lacks the message gets a copy, and once all of them
//     hold it, the copies elsewhere are removed (ABORT of that mailbox's
//     link). A rebalance after a membership change leaves every mailbox's
//     mail exactly at its home, which lets ppadmin drop the placement
//     epochs no login needs any more.
//
// Safety rules: repair deletes only copies that carry a tombstone somewhere,
// that the orphan log names with no other copy left, or that sit away from
// home while every home backend holds the message; it never deletes a copy
// merely because another exists, so it never removes the last copy of a
// delivered message. After each copy it asks the source again for a
// tombstone, and removes the new copy if a delete raced with it. A backend
// that cannot be listed is reported; its copies are unknown, so messages
// may be over-replicated while it is away, never under-counted into a
// deletion.
//
// Everything Run does is idempotent: a second run over a repaired cluster
// does nothing. DryRun plans without changing anything, so it is also the
// check that redundancy is whole (chaos uses it after a fault): a dry run
// whose report is Idle and Clean means every message has R copies, no
// deleted or orphan copy is left, and every backend was listed.
package repair
