// Package mail holds the value types that several parts of PowerMail pass
// to each other: a backend as the operator lists it (Member), what a
// backend stores (Entry, Tombstone, Listing), what it reports of itself
// (BackendStatus), what powersmtp resolved for a recipient (Recipient) and
// how it refuses mail (Reply).
//
// Each type is defined once, here, and used as it is by the store, both
// sides of the backend protocol, the SMTP server, the delivery engine and
// the tools, so no package copies one into a twin of its own field by
// field: a field added here reaches every user, where a hand conversion
// would drop it silently. The interfaces that pass these values stay with
// the packages that consume them.
//
// The package is a leaf: it imports nothing of the project but the
// message id and mailbox name types, so the simulator and the tools can
// use it as freely as the daemons.
package mail
