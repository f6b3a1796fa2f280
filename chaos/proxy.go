package chaos

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// ProxyMode is what the fault proxy does with traffic.
type ProxyMode int32

const (
	Pass      ProxyMode = iota // forward both ways
	Blackhole                  // accept and read, forward nothing, answer nothing (F6)
	Reset                      // forward, but reset every connection after resetAfterBytes (F7)
)

// resetAfterBytes is how far into a stream a Reset proxy cuts: past the
// greeting and AUTH, inside the first message chunk.
const resetAfterBytes = 700

// Proxy is a fault-injecting TCP proxy in front of one backend. Switching
// its mode also closes the connections it holds, so that pooled
// connections see the fault at once rather than at their next dial.
type Proxy struct {
	ln     net.Listener
	target string
	mode   atomic.Int32
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

// NewProxy listens on a free loopback port and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	return p, nil
}

// Addr is where clients connect.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetMode switches the fault and drops every held connection.
func (p *Proxy) SetMode(m ProxyMode) {
	p.mode.Store(int32(m))
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Close stops the proxy and its connections.
func (p *Proxy) Close() {
	p.ln.Close()
	p.SetMode(Pass)
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *Proxy) track(cs ...net.Conn) func() {
	p.mu.Lock()
	for _, c := range cs {
		p.conns[c] = true
	}
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		for _, c := range cs {
			delete(p.conns, c)
			c.Close()
		}
		p.mu.Unlock()
	}
}

func (p *Proxy) handle(c net.Conn) {
	mode := ProxyMode(p.mode.Load())
	if mode == Blackhole {
		defer p.track(c)()
		io.Copy(io.Discard, c) // until the client gives up or the mode changes
		return
	}
	up, err := net.DialTimeout("tcp", p.target, dialTimeout)
	if err != nil {
		c.Close()
		return
	}
	defer p.track(c, up)()
	var limit int64 = 1 << 62
	if mode == Reset {
		limit = resetAfterBytes
	}
	done := make(chan struct{}, 2)
	go func() { io.CopyN(up, c, limit); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	if tc, ok := c.(*net.TCPConn); ok && mode == Reset {
		tc.SetLinger(0) // close with RST, as a broken middlebox would
	}
}
