// Package chaos runs a real PowerMail cluster (failpoint builds of the
// daemons, started by impl/devcluster), drives SMTP and POP3 traffic with
// its own small clients, injects faults from a seeded schedule and checks,
// in the style of Jepsen's set checker, that the durability promise held:
//
//   - every message answered 250 is retrievable exactly once, byte for byte
//     (no loss, no duplicate);
//   - nothing appears that was never sent (no phantom);
//   - nothing deleted by a POP session whose QUIT was answered +OK comes
//     back (no resurrection);
//   - a message refused with 4xx/5xx never becomes visible
//     (visible_after_4xx: the sender retries a 4xx, so each is a duplicate);
//   - a send whose reply never came ("info") may be present at most once;
//   - tmp/ of every backend is empty after a clean restart;
//   - a mailbox lists the messages that one powersmtp process acknowledged
//     in delivery order: A before B when A's 250 came before B's DATA was
//     sent (order.go says what is and is not promised), and no two
//     messages share an id;
//   - every acknowledged delete still has R tombstones on disk at the end,
//     less one per disk lost since (none expired early).
//
// The clients are independent of impl/: a shared client could hide a bug
// that it shares with the server.
//
// The fault classes, numbered as in the literature this suite follows
// (Jepsen, FoundationDB's simulation, etcd's robustness tests):
//
//	F1  a process dies at once (kill -9)       F6  a network partition
//	F2  power loss: what was not durable goes  F7  connections reset mid-stream
//	F3  fsync fails (EIO)                      F8  a process stops (SIGSTOP)
//	F4  the disk is full (ENOSPC)              F9  the wall clock jumps
//	F5  a slow disk                            F10 the userbase database is down
//
// and how this suite injects each:
//
//	kill        F1 kill -9 of a backend from outside, then restart
//	crash-P*    F1 kill -9 from inside a backend/powersmtp/powerpop at a
//	            delivery phase (failpoints, see impl/fault)
//	fsync-eio   F3 fsync returns EIO for a while
//	enospc      F4 fsync (and so every write) returns ENOSPC for a while
//	slow-disk   F5 every fsync sleeps
//	partition   F6 a TCP proxy between the front ends and one backend
//	            swallows everything (blackhole)
//	reset       F7 the proxy resets connections mid-stream
//	pause       F8 SIGSTOP, then SIGCONT
//	userbase    F10 the userbase answers "temporarily unavailable"
//	clock-back  F9 the wall clock of powersmtp, powerpop or one backend
//	            jumps 3 h back, and later forward to the right time
//	clock-forward  F9 the same, forward first: each daemon's clock
//	            failpoint (impl/internal/wallclock); backends then keep
//	            tombstones 1 h and expire them every second, so a clock
//	            they believed would expire every tombstone at once
//	disk-loss   a backend's disk is lost: kill, wipe its root, restart
//	power-cut   F2 power loss of every backend at once: kill -9 of all,
//	            then each store's disk loses what was not durable. With
//	            Config.PowerFS the stores run on powercut disks (a FUSE
//	            file system, package powercut) and the loss is real;
//	            otherwise it is modelled from a broken build's start
//
// Phases (failpoints, impl/fault): P2 powersmtp with frames in
// flight; P3 backend wrote the upload, not fsynced; P4 fsynced, not
// linked, and between two links; P5 linked, directories not fsynced; P6
// committed, OK not sent; P7 powersmtp holding fewer than W commits; P8
// W commits held, 250 not yet written; P9 powerpop with a delete applied
// on some backends. A kill -9 keeps the page cache, so these runs cannot
// test fsync ordering; the store's crash-consistency test does that, and
// so do the power-cut runs on powercut disks, with the real daemons.
// Redundancy is measured (acknowledged messages with fewer than R copies
// on disk, "under_replicated"), then powermail/impl/repair runs over the
// recovered cluster with powersmtp's orphan log, redundancy is measured
// again ("under_replicated_after_repair") and everything is read and
// checked once more: a message still below R, or a finding that only the
// read after repair shows, is a violation (below R is allowed only where
// the cell may lose mail).
//
// Commands (see the Makefile):
//
//	make chaos-smoke   CI tier: Go tests (the real power cut among them), then every fault class at R=2, W=2 (< 7 min)
//	make chaos         full matrix: fault x phase x (R,W), report in results/chaos/matrix
//	bin/chaos -tier cell -r 2 -w 1 -fault disk-loss -seed 7    one cell
//	bin/chaos -tier acceptance -broken powermail/impl/internal/delivery/quorumShortBy='return(1)'
//	bin/chaos -tier power-cut -broken 'powermail/impl/store/fsync=return("skip-dir")'
//
// The runs on powercut disks (-tier power-cut, the matrix's power-cut
// cells) need /dev/fuse and fusermount3 (Debian's fuse3), and root to
// abort a busy mount cleanly; their Go tests fail under CI=true without.
//
// Each run writes NAME.json (seed, schedule, configuration, counts,
// latencies), NAME.history.json when it failed, summary.txt and table.md;
// the exit status is 1 on any violation. A failing seed replays the same
// schedule with -seed (timing within it is not reproducible: processes
// and the kernel schedule as they like).
//
// A run is a list of epochs; each epoch starts the cluster on the same data
// directory, runs traffic while its faults fire, and stops it. A final
// clean start recovers every backend, then everything is read and checked.
// The same seed gives the same schedule (which fault, when, where).
package chaos
