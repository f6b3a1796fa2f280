// Package e2e holds the whole-system tests: real pplistener, powersmtp and
// powerpop processes started by devcluster on loopback, driven by
// independent clients (Go's net/smtp, curl, Python's poplib) as a user's
// software would drive them, and ppadmin run as an operator would. The
// binaries are built once per run into a temporary directory.
//
// The test harnesses live together: this package's tests run processes
// (through powermail/impl/devcluster, which loadgen and chaos use too, and
// so is public); its subpackage inproc runs real backends inside the test
// process, for the tests of repair and ppadmin that stop, restart and wipe
// them one by one.
package e2e
