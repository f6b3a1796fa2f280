package pp

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadLine(t *testing.T) {
	long := strings.Repeat("a", MaxLineBytes-2)
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"plain", "PING\r\n", "PING", nil},
		{"empty line", "\r\n", "", nil},
		{"longest", long + "\r\n", long, nil},
		{"one too long", long + "a\r\n", "", ErrLineTooLong},
		{"bare LF", "PING\n", "", ErrBadLineEnding},
		{"bare CR inside", "PI\rNG\r\n", "", ErrBadLineEnding},
		{"NUL", "PI\x00NG\r\n", "", ErrNUL},
		{"clean EOF", "", "", io.EOF},
		{"EOF mid-line", "PIN", "", io.ErrUnexpectedEOF},
		{"far too long", strings.Repeat("x", 10*MaxLineBytes), "", ErrLineTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadLine(NewReader(strings.NewReader(tc.in), 0))
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("ReadLine(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestWriteLineRefusesWhatReadLineRefuses(t *testing.T) {
	for _, s := range []string{"a\r\nb", "a\nb", "a\rb", "a\x00b", strings.Repeat("a", MaxLineBytes-1)} {
		var sb strings.Builder
		w := bufio.NewWriter(&sb)
		if err := WriteLine(w, s); err == nil {
			t.Errorf("WriteLine(%q) succeeded", s)
		}
		w.Flush()
		if sb.Len() != 0 {
			t.Errorf("WriteLine(%q) wrote %q", s, sb.String())
		}
	}
}

func TestParseCount(t *testing.T) {
	good := map[string]int64{"0": 0, "7": 7, "1048576": 1 << 20}
	for s, want := range good {
		if n, err := ParseCount(s, 0, 1<<20); err != nil || n != want {
			t.Errorf("ParseCount(%q) = %d, %v", s, n, err)
		}
	}
	for _, s := range []string{"", "-1", "+1", "01", "1e3", " 1", "1048577", "99999999999999999999"} {
		if _, err := ParseCount(s, 0, 1<<20); err == nil {
			t.Errorf("ParseCount(%q) accepted", s)
		}
	}
}

func TestReplyRoundTrip(t *testing.T) {
	text, err := ParseReply(FormatOK("stored"))
	if err != nil || text != "stored" {
		t.Fatalf("OK: %q %v", text, err)
	}
	_, err = ParseReply(FormatErr(Errorf(CodeReadOnly, "backend is read-only")))
	var werr *Error
	if !errors.As(err, &werr) || werr.Code != CodeReadOnly || werr.Text != "backend is read-only" || !werr.Temporary() {
		t.Fatalf("ERR: %#v", err)
	}
	for _, bad := range []string{"", "ok", "ERR", "ERR 42 x", "ERR 600 x", "ERR 5000 x", "+OK"} {
		if _, err := ParseReply(bad); !errors.Is(err, ErrMalformedReply) {
			t.Errorf("ParseReply(%q) = %v", bad, err)
		}
	}
}

func TestFormatErrCleansText(t *testing.T) {
	line := FormatErr(Errorf(CodeBadArg, "bad name %q\r\nINJECTED", "x"))
	if CheckLine(line) != nil {
		t.Fatalf("FormatErr produced an unsendable line %q", line)
	}
	if FormatErr(&Error{Code: 200, Text: "x"}) != "ERR 451 x" {
		t.Fatalf("an out-of-range code must become 451")
	}
}

func TestParseCommand(t *testing.T) {
	c, err := ParseCommand("get ann@example.com 0123")
	if err != nil || c.Verb != VerbGet || len(c.Args) != 2 {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []string{"", " PING", "PING ", "GET  a b"} {
		if _, err := ParseCommand(bad); err == nil {
			t.Errorf("ParseCommand(%q) accepted", bad)
		}
	}
}
