package pop3d

import (
	"net"
	"net/netip"
	"sync"

	"powermail/impl/mailbox"
)

// connLimiter admits a connection when both the total and its IP's count are
// under their limits.
type connLimiter struct {
	maxTotal, maxPerIP int

	mu    sync.Mutex
	total int
	perIP map[string]int
}

func newConnLimiter(maxTotal, maxPerIP int) *connLimiter {
	return &connLimiter{maxTotal: maxTotal, maxPerIP: maxPerIP, perIP: make(map[string]int)}
}

func (l *connLimiter) acquire(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.maxTotal || l.perIP[ip] >= l.maxPerIP {
		return false
	}
	l.total++
	l.perIP[ip]++
	return true
}

func (l *connLimiter) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

// lockSet is the per-server maildrop lock of RFC 1939 section 8.
type lockSet struct {
	mu     sync.Mutex
	locked map[mailbox.Name]bool
}

func (l *lockSet) tryLock(box mailbox.Name) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locked[box] {
		return false
	}
	if l.locked == nil {
		l.locked = make(map[mailbox.Name]bool)
	}
	l.locked[box] = true
	return true
}

func (l *lockSet) unlock(box mailbox.Name) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.locked, box)
}

// remoteIP returns the client address without port, used as the key of the
// per-IP limits; connections that are not IP (net.Pipe in tests) share the
// key of their address string.
func remoteIP(addr net.Addr) string {
	if ap, err := netip.ParseAddrPort(addr.String()); err == nil {
		return ap.Addr().Unmap().String()
	}
	return addr.String()
}

// isLoopback reports whether the client is on this host, where plaintext
// passwords cannot be sniffed on a network.
func isLoopback(addr net.Addr) bool {
	ap, err := netip.ParseAddrPort(addr.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
