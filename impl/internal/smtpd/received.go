package smtpd

import (
	"fmt"
	"net/netip"
	"strings"
)

// receivedHeader builds the trace header of RFC 5321 section 4.4 that is
// prepended to every stored message:
//
//	Received: from <helo> ([<ip>])
//		by <hostname> with <protocol> id <id>
//		[for <rcpt>];
//		<RFC 5322 date>
//
// The "for" clause names the recipient only when there is exactly one, so a
// message to many recipients does not reveal the others (section 7.2). Lines
// are folded so none exceeds the 1000-byte text line limit.
func receivedHeader(hostname string, tx *Transaction) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Received: from %s (%s)\r\n", tx.Helo, addressLiteral(tx.ClientIP))
	fmt.Fprintf(&b, "\tby %s with %s id %s", hostname, tx.protocol(), tx.ID)
	if len(tx.Recipients) == 1 {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", tx.Recipients[0].Address)
	}
	fmt.Fprintf(&b, ";\r\n\t%s\r\n", tx.Received.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	return []byte(b.String())
}

// addressLiteral is the RFC 5321 section 4.1.3 form of ip: "[1.2.3.4]" or
// "[IPv6:...]"; "[unknown]" when the transport has no IP (net.Pipe in tests).
func addressLiteral(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "[unknown]"
	case ip.Unmap().Is4():
		return "[" + ip.Unmap().String() + "]"
	}
	return "[IPv6:" + ip.String() + "]"
}

// protocol is the "with" keyword: SMTP for HELO, ESMTP for EHLO, an "S"
// suffix under TLS (RFC 3848), UTF8SMTP when SMTPUTF8 was used (RFC 6531
// section 3.7.3).
func (tx *Transaction) protocol() string {
	p := "SMTP"
	switch {
	case tx.SMTPUTF8:
		p = "UTF8SMTP"
	case tx.ESMTP:
		p = "ESMTP"
	}
	if tx.TLS && p != "SMTP" {
		p += "S"
	}
	return p
}
