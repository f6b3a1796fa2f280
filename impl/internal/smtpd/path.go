package smtpd

import (
	"strconv"
	"strings"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
)

// maxPathBytes is the RFC 5321 section 4.5.3.1.3 limit on a path, brackets
// included.
const maxPathBytes = 256

var (
	replyBadPath    = &mail.Reply{Code: 501, Enhanced: "5.1.3", Text: "bad address syntax; expected <local@domain>"}
	replyBadMailbox = &mail.Reply{Code: 553, Enhanced: "5.1.3", Text: "mailbox name not allowed"}
	replyBadSender  = &mail.Reply{Code: 553, Enhanced: "5.1.7", Text: "sender mailbox name not allowed"} // RFC 3463 section 3.2
	replyNeedUTF8   = &mail.Reply{Code: 553, Enhanced: "5.6.7", Text: "non-ASCII address requires the SMTPUTF8 parameter"}
	replyBadParam   = &mail.Reply{Code: 555, Enhanced: "5.5.4", Text: "MAIL or RCPT parameter not recognised"}
)

// splitPathArg splits "FROM:<path> params" (keyword "FROM") into the text
// between the angle brackets and the parameters. RFC 5321 section 4.1.1.2
// allows no space after the colon; one is tolerated because common clients
// send it and it creates no ambiguity.
func splitPathArg(arg, keyword string) (path, params string, r *mail.Reply) {
	if len(arg) < len(keyword)+1 || !strings.EqualFold(arg[:len(keyword)+1], keyword+":") {
		return "", "", replySyntax
	}
	rest := strings.TrimLeft(arg[len(keyword)+1:], " ")
	end := strings.IndexByte(rest, '>')
	if !strings.HasPrefix(rest, "<") || end < 0 || end+1 > maxPathBytes {
		return "", "", replyBadPath
	}
	path, params = rest[1:end], rest[end+1:]
	if params != "" && params[0] != ' ' {
		return "", "", replyBadPath
	}
	return path, strings.TrimLeft(params, " "), nil
}

// stripRoute removes an RFC 5321 source route ("@a,@b:"). Appendix C says
// servers MUST accept the syntax and MAY ignore the route; we ignore it and
// deliver only to the final mailbox, which the Resolver then has to know:
// "<@local:u@remote>" becomes "u@remote" and is refused as not local, so
// nothing is ever relayed.
func stripRoute(path string) (string, *mail.Reply) {
	if !strings.HasPrefix(path, "@") {
		return path, nil
	}
	colon := strings.IndexByte(path, ':')
	if colon < 0 {
		return "", replyBadPath
	}
	for _, hop := range strings.Split(path[:colon], ",") {
		if _, err := mailbox.Parse("route" + hop); err != nil {
			return "", replyBadPath
		}
	}
	return path[colon+1:], nil
}

// parseMailbox validates the mailbox of a path and returns its canonical
// name. Quoted local parts and address literals are refused by mailbox.Parse:
// `"u@remote"@local` and `u@[1.2.3.4]` are relay tricks, not local mailboxes.
// So are invisible characters (controls, U+2028, bidi overrides; see
// mailbox.Parse): the address of a single recipient goes into our Received:
// header, where an address cannot be encoded (RFC 2047 section 5 forbids
// encoded-words in an addr-spec), so such a name is refused, never stored.
func parseMailbox(path string, utf8 bool) (mailbox.Name, *mail.Reply) {
	path, r := stripRoute(path)
	if r != nil {
		return "", r
	}
	if !utf8 && !isASCII(path) {
		return "", replyNeedUTF8 // RFC 6531 section 3.4
	}
	name, err := mailbox.Parse(path)
	if err != nil {
		return "", replyBadMailbox
	}
	return name, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// mailParams holds the MAIL FROM parameters we announce.
type mailParams struct {
	size     int64 // RFC 1870 SIZE=, 0 when absent
	smtputf8 bool  // RFC 6531 SMTPUTF8
}

// parseMailParams parses "SIZE=n BODY=8BITMIME SMTPUTF8" (RFC 5321 section
// 4.1.2 esmtp-param, keywords case-insensitive).
func parseMailParams(params string, maxBytes int64) (mailParams, *mail.Reply) {
	var p mailParams
	for _, kv := range strings.Fields(params) {
		key, value, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(key) {
		case "SIZE":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 {
				return p, replySyntax
			}
			if n > maxBytes { // RFC 1870 section 6.2
				return p, errMessageTooLarge
			}
			p.size = n
		case "BODY": // RFC 6152; BINARYMIME is not announced
			if v := strings.ToUpper(value); v != "7BIT" && v != "8BITMIME" {
				return p, replyBadParam
			}
		case "SMTPUTF8":
			if value != "" {
				return p, replySyntax
			}
			p.smtputf8 = true
		default:
			return p, replyBadParam
		}
	}
	return p, nil
}

// validHelo accepts the EHLO/HELO argument when it is a domain (RFC 5321
// section 4.1.1.1) or an address literal ("[1.2.3.4]", "[IPv6:...]"). It
// later appears in our Received: header, so it may contain only characters
// that cannot break that header.
func validHelo(arg string) bool {
	if arg == "" || len(arg) > mailbox.MaxDomainBytes {
		return false
	}
	if len(arg) > 2 && arg[0] == '[' && arg[len(arg)-1] == ']' {
		return strings.Trim(arg[1:len(arg)-1], "0123456789abcdefABCDEFIPv:.") == ""
	}
	_, err := mailbox.Parse("helo@" + strings.TrimSuffix(arg, "."))
	return err == nil
}
