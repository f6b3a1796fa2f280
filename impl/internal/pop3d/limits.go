package pop3d

import (
	"net"
	"net/netip"
	"sync"

	"powermail/impl/mailbox"
)

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

// ipv6ClientBits is the prefix that counts as one IPv6 client: a single host
// usually holds a whole /64, so per-address limits would not limit it.
const ipv6ClientBits = 64

// remoteIP returns the client key of the login penalty (admission groups
// addresses the same way, see serve.Group):
// the IPv4 address, or the IPv6 /64 prefix. Connections that are not IP
// (net.Pipe in tests) use their address string.
func remoteIP(addr net.Addr) string {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return addr.String()
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		prefix, _ := ip.Prefix(ipv6ClientBits)
		return prefix.String()
	}
	return ip.String()
}

// isLoopback reports whether the client is on this host, where plaintext
// passwords cannot be sniffed on a network.
func isLoopback(addr net.Addr) bool {
	ap, err := netip.ParseAddrPort(addr.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
