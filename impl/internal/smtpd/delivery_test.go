package smtpd

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"powermail/impl/mail"
	"powermail/impl/msgid"
)

// TestDeliverOutcomes maps the Deliverer's result to the final reply.
func TestDeliverOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		fail     error
		stopRead bool
		want     string
	}{
		{"accepted", nil, false, "250 2.0.0 OK id="},
		{"reply passes through", &mail.Reply{Code: 552, Enhanced: "5.2.2", Text: "mailbox full"}, false, "552 5.2.2 mailbox full"},
		{"internal error is generic", errors.New("backend SECRET-DETAIL: connection reset"), false, "451 4.3.0 internal error"},
		{"success without reading the body is refused", nil, true, "451 4.3.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, del := newTestServer(t, testConfig())
			del.fail, del.stopRead = tc.fail, tc.stopRead
			r, write := startTx(t, srv)
			write(strings.Repeat("a long enough body line\r\n", 60) + ".\r\n")
			got := expectReply(t, r, tc.want, 0)
			if strings.Contains(got, "SECRET-DETAIL") {
				t.Errorf("internal detail leaked: %q", got)
			}
		})
	}
}

// gateDeliverer signals when the first body bytes arrive, proving that the
// body streams to the Deliverer before the client has finished sending.
type gateDeliverer struct {
	fakeDeliverer
	firstBytes chan struct{}
}

func (g *gateDeliverer) Deliver(ctx context.Context, tx *Transaction, body io.Reader) error {
	br := bufio.NewReader(body)
	if _, err := br.ReadString('\n'); err != nil {
		return err
	}
	close(g.firstBytes)
	return g.fakeDeliverer.Deliver(ctx, tx, br)
}

func TestBodyStreamsWhileArriving(t *testing.T) {
	g := &gateDeliverer{firstBytes: make(chan struct{})}
	srv, err := New(testConfig(), &fakeResolver{}, g, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	r, write := startTx(t, srv)
	write("first line\r\n") // no terminator yet
	select {
	case <-g.firstBytes:
	case <-time.After(5 * time.Second):
		t.Fatal("Deliverer saw nothing before the end of DATA")
	}
	write("last line\r\n.\r\n")
	expectReply(t, r, "250 2.0.0", 0)
}

func TestReceivedHeader(t *testing.T) {
	tx := &Transaction{
		ID: msgid.ID(strings.Repeat("a", msgid.Len)), Helo: "client.example",
		ClientIP: netip.MustParseAddr("2001:db8::1"), ESMTP: true,
		Recipients: []mail.Recipient{{Address: "u@local.test"}},
		Received:   time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC),
	}
	want := "Received: from client.example ([IPv6:2001:db8::1])\r\n" +
		"\tby mx.local.test with ESMTP id " + string(tx.ID) + "\r\n" +
		"\tfor <u@local.test>;\r\n\tMon, 23 Nov 2026 15:04:05 +0000\r\n"
	if got := string(receivedHeader("mx.local.test", tx)); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	tx.Recipients = append(tx.Recipients, mail.Recipient{Address: "v@local.test"})
	tx.ClientIP, tx.TLS = netip.MustParseAddr("192.0.2.1"), true
	got := string(receivedHeader("mx.local.test", tx))
	if strings.Contains(got, "for <") || !strings.Contains(got, "([192.0.2.1])") || !strings.Contains(got, "with ESMTPS") {
		t.Errorf("two recipients: %q", got)
	}
}

func TestChunkStuffer(t *testing.T) {
	tests := []struct {
		chunks []string
		out    string
		err    error
	}{
		{[]string{".a\r\n", ".\r\n", "b."}, "..a\r\n..\r\nb.\r\n", nil},
		{[]string{"a\r", "\nb\r\n"}, "a\r\nb\r\n", nil},    // CRLF split across chunks
		{[]string{"a\r\n.", "b\r\n"}, "a\r\n..b\r\n", nil}, // line-start dot at a chunk edge
		{[]string{"a\r", "b"}, "", errBareNewline},
		{[]string{"a\n"}, "", errBareNewline},
		{[]string{"a\r"}, "", errBareNewline}, // CR at the very end
		{[]string{strings.Repeat("x", 999) + "\r\n"}, "", errDataLineTooLong},
		{[]string{strings.Repeat("x\r\n", 700)}, "", errMessageTooLarge},
	}
	for i, tc := range tests {
		var out strings.Builder
		c := newChunkStuffer(&out, 1000, 2000)
		var err error
		for _, ch := range tc.chunks {
			if _, err = c.Write([]byte(ch)); err != nil {
				break
			}
		}
		if err == nil {
			err = c.finish()
		}
		if err != tc.err || tc.err == nil && out.String() != tc.out {
			t.Errorf("case %d: got %q %v, want %q %v", i, out.String(), err, tc.out, tc.err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := []func(*Config){
		func(c *Config) { c.Hostname = "" },
		func(c *Config) { c.MaxCommandBytes = 100 },
		func(c *Config) { c.MaxLineBytes = 999 },
		func(c *Config) { c.MaxRecipients = 0 },
		func(c *Config) { c.SessionTimeout = time.Second },
		func(c *Config) { c.DataTimeout = 0 },
		func(c *Config) { c.Conn.MaxConnectionsPerIP = c.Conn.MaxConnections + 1 },
		func(c *Config) { c.Conn.NewTimeout = 0 },
		func(c *Config) { c.PostmasterDomain = "bad domain" },
	}
	for i, mutate := range bad {
		c := Defaults()
		mutate(&c)
		if c.Validate() == nil {
			t.Errorf("case %d: bad config accepted", i)
		}
	}
}
