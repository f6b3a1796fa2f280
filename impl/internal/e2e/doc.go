// Package e2e holds the whole-system tests: real pplistener, powersmtp and
// powerpop processes started by devcluster on loopback, driven by
// independent clients (Go's net/smtp, curl, Python's poplib) as a user's
// software would drive them. The binaries are built once per run into a
// temporary directory.
package e2e
